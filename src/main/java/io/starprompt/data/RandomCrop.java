package io.starprompt.data;

import java.util.random.RandomGenerator;

/**
 * torchvision {@code RandomCrop(size)} without padding: a uniformly placed {@code size × size}
 * window (top and left each uniform over the valid range; no draw when the image is exactly the
 * crop size, as in torchvision).
 */
public final class RandomCrop implements ImageTransform {
    private final int size;

    private RandomCrop(int size) {
        this.size = size;
    }

    /**
     * A random square crop of side {@code size}.
     *
     * @param size the side
     * @return the transform
     */
    public static RandomCrop of(int size) {
        if (size <= 0) throw new IllegalArgumentException("crop size must be positive, got " + size);
        return new RandomCrop(size);
    }

    /**
     * @throws IllegalArgumentException if the image is smaller than the crop (torchvision's error)
     */
    @Override
    public RgbImage apply(RgbImage image, RandomGenerator rng) {
        int h = image.height();
        int w = image.width();
        if (h < size || w < size) {
            throw new IllegalArgumentException("image " + w + "x" + h + " is smaller than the random crop " + size);
        }
        if (h == size && w == size) return image;
        int top = rng.nextInt(h - size + 1);
        int left = rng.nextInt(w - size + 1);
        return image.crop(top, left, size, size);
    }

    @Override
    public String toString() {
        return "RandomCrop(" + size + ")";
    }
}
