package io.starprompt.data;

import java.awt.image.BufferedImage;
import java.awt.image.WritableRaster;
import java.util.Arrays;

/**
 * An 8-bit RGB image, interleaved row-major ({@code rgb[(y·width + x)·3 + c]}), the equivalent of a
 * PIL image in mode "RGB". Geometric transforms work on this type, as torchvision's work on PIL
 * images, so that rounding happens where it happens in the reference; {@link #toChw()} is
 * torchvision's {@code ToTensor}.
 *
 * <p>Instances are treated as immutable: transforms always return new images.
 */
public final class RgbImage {
    private final int width;
    private final int height;
    private final byte[] rgb;

    /**
     * Wraps interleaved RGB bytes (taken over, not copied).
     *
     * @param width the width
     * @param height the height
     * @param rgb width·height·3 bytes, row-major
     * @throws IllegalArgumentException if a side is not positive or the array has the wrong length
     */
    public RgbImage(int width, int height, byte[] rgb) {
        if (width <= 0 || height <= 0) throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        if (rgb.length != (long) width * height * 3) {
            throw new IllegalArgumentException("expected " + (long) width * height * 3 + " bytes for " + width + "x" + height
                    + " RGB, got " + rgb.length);
        }
        this.width = width;
        this.height = height;
        this.rgb = rgb;
    }

    /**
     * An image of one colour.
     *
     * @param width the width
     * @param height the height
     * @param r red, 0..255
     * @param g green, 0..255
     * @param b blue, 0..255
     * @return the image
     */
    public static RgbImage filled(int width, int height, int r, int g, int b) {
        byte[] data = new byte[width * height * 3];
        for (int i = 0; i < data.length; i += 3) {
            data[i] = (byte) r;
            data[i + 1] = (byte) g;
            data[i + 2] = (byte) b;
        }
        return new RgbImage(width, height, data);
    }

    /**
     * A grey image replicated to three equal channels (what PIL's {@code convert("RGB")} does with
     * mode "L"), from {@code width·height} bytes of {@code grey} starting at {@code offset}, row-major.
     *
     * @param width the width
     * @param height the height
     * @param grey the bytes
     * @param offset where the image starts in them
     * @return the image
     * @throws IllegalArgumentException if a side is not positive or the bytes do not reach
     */
    public static RgbImage fromGrey(int width, int height, byte[] grey, int offset) {
        int pixels = pixelsIn(width, height, grey, offset, 1);
        byte[] out = new byte[pixels * 3];
        for (int p = 0; p < pixels; p++) {
            byte v = grey[offset + p];
            out[p * 3] = v;
            out[p * 3 + 1] = v;
            out[p * 3 + 2] = v;
        }
        return new RgbImage(width, height, out);
    }

    /**
     * An image from planar bytes (the R plane, then G, then B, each {@code width·height} bytes,
     * row-major) starting at {@code offset}: the layout of CIFAR records.
     *
     * @param width the width
     * @param height the height
     * @param planes the bytes
     * @param offset where the image starts in them
     * @return the image
     * @throws IllegalArgumentException if a side is not positive or the bytes do not reach
     */
    public static RgbImage fromPlanes(int width, int height, byte[] planes, int offset) {
        int pixels = pixelsIn(width, height, planes, offset, 3);
        byte[] out = new byte[pixels * 3];
        for (int c = 0; c < 3; c++) {
            int plane = offset + c * pixels;
            for (int p = 0; p < pixels; p++) out[p * 3 + c] = planes[plane + p];
        }
        return new RgbImage(width, height, out);
    }

    /** width·height, after checking that {@code channels} planes of it fit in the array from offset. */
    private static int pixelsIn(int width, int height, byte[] data, int offset, int channels) {
        if (width <= 0 || height <= 0) throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        long need = (long) width * height * channels;
        if ((long) width * height * 3 > Integer.MAX_VALUE - 8) { // the RGB copy must fit in one array too
            throw new IllegalArgumentException("image of " + width + "x" + height + " pixels is too large for one array");
        }
        if (offset < 0 || need > Integer.MAX_VALUE || offset + need > data.length) {
            throw new IllegalArgumentException(width + "x" + height + "x" + channels + " bytes from offset " + offset
                    + " do not fit in an array of " + data.length);
        }
        return width * height;
    }

    /**
     * Width in pixels.
     *
     * @return the width
     */
    public int width() {
        return width;
    }

    /**
     * Height in pixels.
     *
     * @return the height
     */
    public int height() {
        return height;
    }

    /**
     * Channel {@code c} (0 = R, 1 = G, 2 = B) of pixel (x, y), 0..255.
     *
     * @param x the column
     * @param y the row
     * @param c the channel
     * @return the value
     */
    public int get(int x, int y, int c) {
        return rgb[(y * width + x) * 3 + c] & 0xFF;
    }

    /**
     * A copy of the interleaved bytes.
     *
     * @return the bytes
     */
    public byte[] toBytes() {
        return rgb.clone();
    }

    /** The interleaved bytes themselves, for transforms in this package (must not be modified). */
    byte[] data() {
        return rgb;
    }

    /**
     * torchvision's {@code ToTensor}: planar float CHW (R plane, G plane, B plane), each value
     * {@code v / 255f} in [0, 1].
     *
     * @return the tensor values
     */
    public float[] toChw() {
        int plane = width * height;
        float[] out = new float[3 * plane];
        for (int p = 0; p < plane; p++) {
            out[p] = (rgb[p * 3] & 0xFF) / 255f;
            out[plane + p] = (rgb[p * 3 + 1] & 0xFF) / 255f;
            out[2 * plane + p] = (rgb[p * 3 + 2] & 0xFF) / 255f;
        }
        return out;
    }

    /**
     * The region {@code [top, top+height) × [left, left+width)}; parts outside the image are black,
     * as in PIL's {@code crop} (torchvision's {@code F.crop} on PIL images).
     *
     * @param top the first row
     * @param left the first column
     * @param cropHeight the height of the region
     * @param cropWidth the width of the region
     * @return the region
     * @throws IllegalArgumentException if the requested size is not positive
     */
    public RgbImage crop(int top, int left, int cropHeight, int cropWidth) {
        byte[] out = new byte[cropWidth * cropHeight * 3];
        int x0 = Math.max(0, -left);
        int x1 = Math.min(cropWidth, width - left);
        for (int y = 0; y < cropHeight; y++) {
            int sy = y + top;
            if (sy < 0 || sy >= height || x1 <= x0) continue;
            System.arraycopy(rgb, (sy * width + left + x0) * 3, out, (y * cropWidth + x0) * 3, (x1 - x0) * 3);
        }
        return new RgbImage(cropWidth, cropHeight, out);
    }

    /**
     * The image as a {@link BufferedImage#TYPE_3BYTE_BGR} image (for writing with ImageIO).
     *
     * @return the image
     */
    public BufferedImage toBufferedImage() {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_3BYTE_BGR);
        WritableRaster raster = img.getRaster();
        int[] row = new int[width * 3];
        for (int y = 0; y < height; y++) {
            for (int i = 0; i < row.length; i++) row[i] = rgb[y * width * 3 + i] & 0xFF;
            raster.setPixels(0, y, width, 1, row); // bands are in R, G, B order for this type
        }
        return img;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RgbImage other && other.width == width && other.height == height && Arrays.equals(other.rgb, rgb);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * width + height) + Arrays.hashCode(rgb);
    }

    @Override
    public String toString() {
        return "RgbImage[" + width + "x" + height + "]";
    }
}
