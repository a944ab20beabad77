package io.starprompt.data;

import java.util.random.RandomGenerator;

/**
 * torchvision {@code RandomResizedCrop(size, scale, ratio, BICUBIC)}: up to 10 tries of a box with
 * area fraction uniform in {@code scale} and aspect ratio log-uniform in {@code ratio}; the first
 * that fits is placed uniformly; if none fits, a centre crop of the whole image with its aspect
 * ratio clamped into {@code ratio}. The box is then resized to {@code size × size} with
 * {@link Resize} (Pillow bicubic).
 *
 * <p>Same distribution as torchvision, not the same random numbers: torch's generator is not
 * reproduced (and torchvision draws in float32, here in double).
 */
public final class RandomResizedCrop implements ImageTransform {
    private static final int ATTEMPTS = 10;

    private final int size;
    private final double minScale;
    private final double maxScale;
    private final double minRatio;
    private final double maxRatio;

    /** The crop box in input pixels (torchvision's {@code get_params} result). */
    public record Box(int top, int left, int height, int width) {}

    /**
     * A random resized crop with explicit ranges.
     *
     * @param size the output side
     * @param minScale the smallest area share
     * @param maxScale the largest area share
     * @param minRatio the smallest aspect ratio
     * @param maxRatio the largest aspect ratio
     * @throws IllegalArgumentException for an empty or non-positive range
     */
    public RandomResizedCrop(int size, double minScale, double maxScale, double minRatio, double maxRatio) {
        if (size <= 0) throw new IllegalArgumentException("output size must be positive, got " + size);
        if (!(minScale > 0 && minScale <= maxScale)) throw new IllegalArgumentException("bad scale range " + minScale + ".." + maxScale);
        if (!(minRatio > 0 && minRatio <= maxRatio)) throw new IllegalArgumentException("bad ratio range " + minRatio + ".." + maxRatio);
        this.size = size;
        this.minScale = minScale;
        this.maxScale = maxScale;
        this.minRatio = minRatio;
        this.maxRatio = maxRatio;
    }

    /**
     * torchvision's defaults: scale (0.08, 1), ratio (3/4, 4/3).
     *
     * @param size the output side
     * @return the transform
     */
    public static RandomResizedCrop of(int size) {
        return new RandomResizedCrop(size, 0.08, 1.0, 3.0 / 4.0, 4.0 / 3.0);
    }

    @Override
    public RgbImage apply(RgbImage image, RandomGenerator rng) {
        Box b = sampleBox(image.height(), image.width(), rng);
        return Resize.resize(image.crop(b.top(), b.left(), b.height(), b.width()), size, size);
    }

    /**
     * torchvision's {@code RandomResizedCrop.get_params}; the box always lies inside the image.
     *
     * @param height the image's height
     * @param width the image's width
     * @param rng the randomness
     * @return the box
     */
    public Box sampleBox(int height, int width, RandomGenerator rng) {
        double area = (double) height * width;
        double logMin = Math.log(minRatio);
        double logMax = Math.log(maxRatio);
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            double targetArea = area * uniform(rng, minScale, maxScale);
            double aspect = Math.exp(uniform(rng, logMin, logMax));
            int w = (int) Math.rint(Math.sqrt(targetArea * aspect));
            int h = (int) Math.rint(Math.sqrt(targetArea / aspect));
            if (w > 0 && w <= width && h > 0 && h <= height) {
                int top = rng.nextInt(height - h + 1);
                int left = rng.nextInt(width - w + 1);
                return new Box(top, left, h, w);
            }
        }
        return fallbackBox(height, width);
    }

    /** No try fitted: the largest centred box whose aspect ratio is within range. */
    private Box fallbackBox(int height, int width) {
        double inRatio = (double) width / height;
        int w = width;
        int h = height;
        if (inRatio < minRatio) {
            h = (int) Math.rint(w / minRatio);
        } else if (inRatio > maxRatio) {
            w = (int) Math.rint(h * maxRatio);
        }
        return new Box((height - h) / 2, (width - w) / 2, h, w);
    }

    /** Uniform in [lo, hi), tolerating lo == hi (RandomGenerator rejects an empty range). */
    private static double uniform(RandomGenerator rng, double lo, double hi) {
        return lo + (hi - lo) * rng.nextDouble();
    }

    @Override
    public String toString() {
        return "RandomResizedCrop(" + size + ", scale=" + minScale + ".." + maxScale + ", ratio=" + minRatio + ".." + maxRatio + ")";
    }
}
