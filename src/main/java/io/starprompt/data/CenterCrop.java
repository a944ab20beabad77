package io.starprompt.data;

import java.util.random.RandomGenerator;

/**
 * torchvision {@code CenterCrop((height, width))}: the centred region, offset
 * {@code round((size − crop) / 2)} with Python's round-half-to-even; where the image is smaller
 * than the crop it is first padded with black, {@code (crop − size) // 2} on the left/top.
 */
public final class CenterCrop implements ImageTransform {
    private final int height;
    private final int width;

    /**
     * A centre crop of {@code height × width}.
     *
     * @param height the crop's height
     * @param width the crop's width
     */
    public CenterCrop(int height, int width) {
        if (height <= 0 || width <= 0) throw new IllegalArgumentException("crop size must be positive, got " + height + "x" + width);
        this.height = height;
        this.width = width;
    }

    /**
     * A square centre crop.
     *
     * @param size the side
     * @return the crop
     */
    public static CenterCrop of(int size) {
        return new CenterCrop(size, size);
    }

    @Override
    public RgbImage apply(RgbImage image, RandomGenerator rng) {
        return image.crop(offset(image.height(), height), offset(image.width(), width), height, width);
    }

    /** Offset of the crop along one side (negative when the side is padded). */
    static int offset(int size, int crop) {
        if (crop > size) return -((crop - size) / 2);
        return (int) Math.rint((size - crop) / 2.0);
    }

    @Override
    public String toString() {
        return "CenterCrop(" + height + "x" + width + ")";
    }
}
