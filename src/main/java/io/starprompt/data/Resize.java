package io.starprompt.data;

/**
 * Bicubic resizing exactly as Pillow does it for 8-bit images ({@code Image.resize(size,
 * BICUBIC)}, {@code libImaging/Resample.c}), which is what torchvision's {@code Resize} and
 * {@code RandomResizedCrop} call on PIL images:
 * <ul>
 *   <li>Keys cubic convolution with a = −0.5, support 2 input pixels when enlarging and
 *       2·scale when shrinking (the kernel is stretched by the scale: this is the antialiasing);</li>
 *   <li>separable: a horizontal pass, then a vertical pass, each only when that side changes;</li>
 *   <li>per output pixel the weights are normalised to sum 1 and turned into 22-bit fixed point;
 *       each pass rounds (half up) and clamps its result to 0..255, so the horizontal pass's
 *       intermediate image is 8-bit too.</li>
 * </ul>
 * The output is therefore bit-identical to Pillow's, not merely close.
 */
public final class Resize implements ImageTransform {
    /** Pillow's {@code PRECISION_BITS}: 32 − 8 − 2. */
    private static final int PRECISION_BITS = 22;
    /** The bicubic kernel's radius in (unscaled) input pixels. */
    private static final double SUPPORT = 2.0;

    private final int shorterSide;
    private final int height;
    private final int width;

    private Resize(int shorterSide, int height, int width) {
        this.shorterSide = shorterSide;
        this.height = height;
        this.width = width;
    }

    /**
     * torchvision {@code Resize(size)} with one int: the shorter side becomes {@code size}, the
     * longer {@code int(size · long / short)} (truncated), keeping the aspect ratio.
     *
     * @param size the shorter side's new length
     * @return the transform
     */
    public static Resize shorterSide(int size) {
        requirePositive(size, size);
        return new Resize(size, 0, 0);
    }

    /**
     * torchvision {@code Resize((height, width))}: both sides fixed (aspect ratio not kept).
     *
     * @param height the new height
     * @param width the new width
     * @return the transform
     */
    public static Resize exact(int height, int width) {
        requirePositive(height, width);
        return new Resize(0, height, width);
    }

    private static void requirePositive(int h, int w) {
        if (h <= 0 || w <= 0) throw new IllegalArgumentException("resize target must be positive, got " + h + "x" + w);
    }

    @Override
    public RgbImage apply(RgbImage image, java.util.random.RandomGenerator rng) {
        if (shorterSide == 0) return resize(image, height, width);
        int[] hw = shorterSideSize(image.height(), image.width(), shorterSide);
        return resize(image, hw[0], hw[1]);
    }

    /**
     * {@code {height, width}} after torchvision's shorter-side rule.
     *
     * @param height the image's height
     * @param width the image's width
     * @param size the shorter side's new length
     * @return the new height and width
     */
    public static int[] shorterSideSize(int height, int width, int size) {
        if (width <= height) return new int[] {(int) ((double) size * height / width), size};
        return new int[] {size, (int) ((double) size * width / height)};
    }

    /**
     * Resizes to {@code outHeight × outWidth} with Pillow's bicubic filter (see the class comment).
     *
     * @param in the image
     * @param outHeight the new height
     * @param outWidth the new width
     * @return the resized image
     */
    public static RgbImage resize(RgbImage in, int outHeight, int outWidth) {
        requirePositive(outHeight, outWidth);
        boolean horizontal = outWidth != in.width();
        boolean vertical = outHeight != in.height();
        Coefficients vert = Coefficients.compute(in.height(), outHeight);
        RgbImage img = in;
        if (horizontal) {
            // Only the rows the vertical pass will read need the horizontal pass.
            int firstRow = vert.start[0];
            int lastRow = vert.start[outHeight - 1] + vert.count[outHeight - 1];
            img = resampleRows(in, Coefficients.compute(in.width(), outWidth), firstRow, lastRow);
            vert = vert.shiftedBy(-firstRow);
        }
        if (vertical) img = resampleColumns(img, vert);
        return img;
    }

    /** Pillow's {@code bicubic_filter}: Keys' cubic convolution kernel with a = −0.5. */
    static double bicubic(double x) {
        final double a = -0.5;
        if (x < 0.0) x = -x;
        if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
        return 0.0;
    }

    /** The filter taps of one resampling direction (Pillow's {@code precompute_coeffs}). */
    static final class Coefficients {
        /** First input index read by each output index. */
        final int[] start;
        /** Number of input indices read by each output index. */
        final int[] count;
        /** Normalised weights, {@code taps} per output index (zeros past {@code count}). */
        final double[] weights;
        /** The same weights in 22-bit fixed point. */
        final int[] fixed;
        final int taps;

        private Coefficients(int[] start, int[] count, double[] weights, int taps) {
            this.start = start;
            this.count = count;
            this.weights = weights;
            this.taps = taps;
            this.fixed = toFixedPoint(weights);
        }

        static Coefficients compute(int inSize, int outSize) {
            double scale = (double) inSize / outSize;
            // Shrinking stretches the kernel over `scale` input pixels; enlarging keeps it at 1.
            double filterScale = Math.max(scale, 1.0);
            double support = SUPPORT * filterScale;
            int taps = (int) Math.ceil(support) * 2 + 1;
            int[] start = new int[outSize];
            int[] count = new int[outSize];
            double[] weights = new double[outSize * taps];
            for (int o = 0; o < outSize; o++) {
                double center = (o + 0.5) * scale;
                double invFilterScale = 1.0 / filterScale;
                int lo = Math.max(0, (int) (center - support + 0.5));
                int hi = Math.min(inSize, (int) (center + support + 0.5));
                double sum = 0.0;
                for (int x = 0; x < hi - lo; x++) {
                    // Same operation order as Pillow, so that the doubles match bit for bit.
                    double w = bicubic((x + lo - center + 0.5) * invFilterScale);
                    weights[o * taps + x] = w;
                    sum += w;
                }
                if (sum != 0.0) {
                    for (int x = 0; x < hi - lo; x++) weights[o * taps + x] /= sum;
                }
                start[o] = lo;
                count[o] = hi - lo;
            }
            return new Coefficients(start, count, weights, taps);
        }

        /** Pillow's {@code normalize_coeffs_8bpc}: round half away from zero to 22 bits. */
        private static int[] toFixedPoint(double[] weights) {
            int[] out = new int[weights.length];
            for (int i = 0; i < weights.length; i++) {
                double w = weights[i] * (1 << PRECISION_BITS);
                out[i] = (int) (weights[i] < 0 ? -0.5 + w : 0.5 + w);
            }
            return out;
        }

        Coefficients shiftedBy(int delta) {
            int[] shifted = start.clone();
            for (int i = 0; i < shifted.length; i++) shifted[i] += delta;
            return new Coefficients(shifted, count, weights, taps);
        }
    }

    /** Horizontal pass over rows {@code [firstRow, lastRow)} of {@code in}. */
    private static RgbImage resampleRows(RgbImage in, Coefficients k, int firstRow, int lastRow) {
        int outW = k.start.length;
        int rows = lastRow - firstRow;
        byte[] src = in.data();
        byte[] out = new byte[outW * rows * 3];
        for (int y = 0; y < rows; y++) {
            int rowBase = (y + firstRow) * in.width() * 3;
            for (int o = 0; o < outW; o++) {
                for (int c = 0; c < 3; c++) {
                    int acc = 1 << (PRECISION_BITS - 1);
                    for (int t = 0; t < k.count[o]; t++) {
                        acc += (src[rowBase + (k.start[o] + t) * 3 + c] & 0xFF) * k.fixed[o * k.taps + t];
                    }
                    out[(y * outW + o) * 3 + c] = clip8(acc);
                }
            }
        }
        return new RgbImage(outW, rows, out);
    }

    /** Vertical pass: every output row is a weighted sum of input rows. */
    private static RgbImage resampleColumns(RgbImage in, Coefficients k) {
        int outH = k.start.length;
        int rowLen = in.width() * 3;
        byte[] src = in.data();
        byte[] out = new byte[rowLen * outH];
        int[] acc = new int[rowLen];
        for (int o = 0; o < outH; o++) {
            java.util.Arrays.fill(acc, 1 << (PRECISION_BITS - 1));
            for (int t = 0; t < k.count[o]; t++) {
                int weight = k.fixed[o * k.taps + t];
                int rowBase = (k.start[o] + t) * rowLen;
                for (int i = 0; i < rowLen; i++) acc[i] += (src[rowBase + i] & 0xFF) * weight;
            }
            for (int i = 0; i < rowLen; i++) out[o * rowLen + i] = clip8(acc[i]);
        }
        return new RgbImage(in.width(), outH, out);
    }

    /** Pillow's {@code clip8}: the fixed-point sum (already offset by ½) to 0..255. */
    private static byte clip8(int acc) {
        if (acc >= (1 << PRECISION_BITS << 8)) return (byte) 255;
        if (acc <= 0) return 0;
        return (byte) (acc >> PRECISION_BITS);
    }

    @Override
    public String toString() {
        return shorterSide > 0 ? "Resize(shorterSide=" + shorterSide + ")" : "Resize(" + height + "x" + width + ")";
    }
}
