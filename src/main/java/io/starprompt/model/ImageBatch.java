package io.starprompt.model;

import io.starprompt.backend.Backend;
import io.starprompt.tensor.Tensor;

/**
 * The point where host images enter a tower: planar float images {@code [B][C][S][S]} become a
 * backend tensor of the tower's input shape, after checking that the values really are
 * {@code batch} images of the tower's size. Data prepared for another image size (a 224 px
 * checkpoint fed 32 px benchmark images, say) is refused with both sizes named, instead of a bare
 * element-count mismatch.
 */
public final class ImageBatch {
    private ImageBatch() {}

    /**
     * Uploads {@code batch} images to a new tensor [batch, channels, side, side] in the current
     * {@link io.starprompt.tensor.TensorScope}.
     *
     * @param be       the tower's backend
     * @param tower    how messages name the tower ("ViT", "CLIP image tower")
     * @param channels the tower's input channels
     * @param side     the tower's input side in pixels
     * @param values   the images, planar, image after image
     * @param batch    the number of images
     * @return the tensor
     * @throws IllegalArgumentException naming the tower and both image sizes if the values are not
     *     {@code batch} images of {@code channels × side × side}
     */
    public static Tensor upload(Backend be, String tower, int channels, int side, float[] values, int batch) {
        if (values == null) throw new IllegalArgumentException(tower + " input: images are null");
        if (batch < 1) throw new IllegalArgumentException(tower + " input: batch of " + batch + " images");
        long per = (long) channels * side * side;
        if (values.length != per * batch) throw new IllegalArgumentException(mismatch(tower, channels, side, values.length, batch));
        return be.fromArray(values, batch, channels, side, side);
    }

    /** "ViT input: 24 images of 3×32×32 px, but this ViT takes 3×56×56 px images (…)". */
    static String mismatch(String tower, int channels, int side, int length, int batch) {
        String theirs;
        if (length % batch != 0) {
            theirs = length + " values, which are not " + batch + " equal images";
        } else {
            int per = length / batch;
            long s = per % channels == 0 ? Math.round(Math.sqrt(per / (double) channels)) : -1;
            theirs = batch + " images of " + (s > 0 && s * s * channels == per
                    ? channels + "×" + s + "×" + s + " (" + s + " px)"
                    : per + " values each, not " + channels + " square channels");
        }
        return tower + " input: " + theirs + ", but the " + tower + " takes " + channels + "×" + side + "×" + side
                + " images (" + side + " px); prepare the data at the tower's image size";
    }
}
