package io.starprompt.data;

import java.util.random.RandomGenerator;

/** torchvision {@code RandomHorizontalFlip(p)}: mirrors left–right when a uniform draw is below p. */
public final class HorizontalFlip implements ImageTransform {
    private final double probability;

    /**
     * A flip applied with probability {@code probability} (0..1).
     *
     * @param probability the chance of a flip
     */
    public HorizontalFlip(double probability) {
        if (!(probability >= 0 && probability <= 1)) throw new IllegalArgumentException("flip probability must be in [0, 1], got " + probability);
        this.probability = probability;
    }

    /**
     * The usual p = 0.5.
     *
     * @return the transform
     */
    public static HorizontalFlip random() {
        return new HorizontalFlip(0.5);
    }

    @Override
    public RgbImage apply(RgbImage image, RandomGenerator rng) {
        // One draw per image, always, so later transforms see the same random stream either way.
        return rng.nextDouble() < probability ? flip(image) : image;
    }

    /**
     * The mirror image (column x becomes column width − 1 − x).
     *
     * @param image the image
     * @return its mirror image
     */
    public static RgbImage flip(RgbImage image) {
        int w = image.width();
        byte[] src = image.data();
        byte[] out = new byte[src.length];
        for (int y = 0; y < image.height(); y++) {
            int row = y * w * 3;
            for (int x = 0; x < w; x++) System.arraycopy(src, row + x * 3, out, row + (w - 1 - x) * 3, 3);
        }
        return new RgbImage(w, image.height(), out);
    }

    @Override
    public String toString() {
        return "HorizontalFlip(p=" + probability + ")";
    }
}
