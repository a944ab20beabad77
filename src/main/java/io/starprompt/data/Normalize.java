package io.starprompt.data;

import java.util.Arrays;

/**
 * torchvision {@code Normalize(mean, std)}: per channel {@code (x − mean) / std}, in float32 with
 * the constants rounded to float first, as torch does. Works on one CHW image or on a batch
 * laid out {@code [B][3][H][W]}: the channel of element k is {@code (k / planeSize) % 3}.
 */
public final class Normalize {
    /** OpenAI CLIP's constants (also EuroSAT's dataset normalisation, §2.2). */
    public static final Normalize CLIP = new Normalize(
            new float[] {0.48145466f, 0.4578275f, 0.40821073f}, new float[] {0.26862954f, 0.26130258f, 0.27577711f});
    /** ImageNet's constants, the default dataset normalisation. */
    public static final Normalize IMAGENET = new Normalize(new float[] {0.485f, 0.456f, 0.406f}, new float[] {0.229f, 0.224f, 0.225f});
    /** Mean 0, std 1: raw [0, 1] pixels (ImageNet-R, Cars-196). */
    public static final Normalize IDENTITY = new Normalize(new float[] {0f, 0f, 0f}, new float[] {1f, 1f, 1f});

    private final float[] mean;
    private final float[] std;

    /**
     * Per-channel constants for R, G, B.
     *
     * @param mean the channel means
     * @param std the channel standard deviations
     * @throws IllegalArgumentException unless both have 3 finite entries and every std is positive
     */
    public Normalize(float[] mean, float[] std) {
        if (mean.length != 3 || std.length != 3) throw new IllegalArgumentException("mean and std need 3 channels each");
        for (int c = 0; c < 3; c++) {
            if (!Float.isFinite(mean[c]) || !(std[c] > 0) || !Float.isFinite(std[c])) {
                throw new IllegalArgumentException("bad normalisation constants mean=" + Arrays.toString(mean) + " std=" + Arrays.toString(std));
            }
        }
        this.mean = mean.clone();
        this.std = std.clone();
    }

    /**
     * A copy of the means.
     *
     * @return the means
     */
    public float[] mean() {
        return mean.clone();
    }

    /**
     * A copy of the standard deviations.
     *
     * @return the standard deviations
     */
    public float[] std() {
        return std.clone();
    }

    /**
     * {@code (x − mean) / std} on a copy of one CHW image.
     *
     * @param chw the image
     * @return the normalised copy
     */
    public float[] normalize(float[] chw) {
        float[] out = chw.clone();
        normalizeInPlace(out, planeOf(chw));
        return out;
    }

    /**
     * {@code x · std + mean} (mammoth's {@code DeNormalize}) on a copy of one CHW image.
     *
     * @param chw the image
     * @return the denormalised copy
     */
    public float[] denormalize(float[] chw) {
        float[] out = chw.clone();
        denormalizeInPlace(out, planeOf(chw));
        return out;
    }

    /**
     * In place, for one image or a batch with {@code planeSize = H·W}.
     *
     * @param data the image or images, planar
     * @param planeSize H·W
     */
    public void normalizeInPlace(float[] data, int planeSize) {
        checkLayout(data, planeSize);
        for (int start = 0, c = 0; start < data.length; start += planeSize, c = (c + 1) % 3) {
            float m = mean[c];
            float s = std[c];
            for (int i = start; i < start + planeSize; i++) data[i] = (data[i] - m) / s;
        }
    }

    /**
     * In place inverse of {@link #normalizeInPlace}.
     *
     * @param data the image or images, planar
     * @param planeSize H·W
     */
    public void denormalizeInPlace(float[] data, int planeSize) {
        checkLayout(data, planeSize);
        for (int start = 0, c = 0; start < data.length; start += planeSize, c = (c + 1) % 3) {
            float m = mean[c];
            float s = std[c];
            for (int i = start; i < start + planeSize; i++) data[i] = data[i] * s + m;
        }
    }

    static int planeOf(float[] chw) {
        if (chw.length == 0 || chw.length % 3 != 0) throw new IllegalArgumentException("a CHW image needs 3 equal planes, got " + chw.length + " values");
        return chw.length / 3;
    }

    private static void checkLayout(float[] data, int planeSize) {
        if (planeSize <= 0 || data.length % (3L * planeSize) != 0) {
            throw new IllegalArgumentException(data.length + " values are not a whole number of 3×" + planeSize + " images");
        }
    }

    @Override
    public String toString() {
        return "Normalize(mean=" + Arrays.toString(mean) + ", std=" + Arrays.toString(std) + ")";
    }
}
