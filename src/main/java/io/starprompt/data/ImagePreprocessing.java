package io.starprompt.data;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * The preprocessing entry points of ALGORITHM.md §2.1, §2.2: CLIP's deterministic
 * {@code clip_preprocess} and the stage-2 renormalisation of the augmented ViT input to CLIP
 * statistics.
 */
public final class ImagePreprocessing {
    /** CLIP ViT-L/14 input side. */
    public static final int CLIP_SIZE = 224;

    /**
     * {@code clip.load(...)[1]}: Resize(224, bicubic) on the shorter side → CenterCrop(224) →
     * ToTensor → Normalize(CLIP). Deterministic (no random draws).
     */
    public static final ImagePipeline CLIP_PIPELINE =
            ImagePipeline.of(Normalize.CLIP, Resize.shorterSide(CLIP_SIZE), CenterCrop.of(CLIP_SIZE));

    private ImagePreprocessing() {}

    /**
     * {@code clip_preprocess} of an AWT image: float[3·224·224], CHW, CLIP-normalised.
     *
     * @param image the image
     * @return the CLIP input
     */
    public static float[] clipPreprocess(BufferedImage image) {
        return clipPreprocess(Images.fromBufferedImage(image));
    }

    /**
     * {@code clip_preprocess} of a decoded image.
     *
     * @param image the image
     * @return the CLIP input
     */
    public static float[] clipPreprocess(RgbImage image) {
        // The pipeline is deterministic and never draws from the generator.
        return CLIP_PIPELINE.apply(image, new SplittableRandom(0));
    }

    /**
     * {@code clip_preprocess} of an image file.
     *
     * @param file the image file
     * @return the CLIP input
     * @throws IllegalArgumentException naming the file if it cannot be decoded
     */
    public static float[] clipPreprocess(Path file) {
        return clipPreprocess(Images.decode(file));
    }

    /**
     * Stage-2 query input: {@code x_clip = ((x · std_ds + mean_ds) − mean_clip) / std_clip} per
     * channel, in float32 in that order (mammoth's DeNormalize, then CLIP's Normalize). Returns a new
     * array; {@code chw} is one image (3 equal planes).
     *
     * @param chw one image normalised with the dataset's constants
     * @param meanDs the dataset's means
     * @param stdDs the dataset's standard deviations
     * @return the image normalised for CLIP
     */
    public static float[] renormalizeForClip(float[] chw, float[] meanDs, float[] stdDs) {
        return renormalizeForClip(chw, Normalize.planeOf(chw), new Normalize(meanDs, stdDs));
    }

    /**
     * {@link #renormalizeForClip(float[], float[], float[])} for one image or a batch
     * {@code [B][3][H][W]} with {@code planeSize = H·W}, from the dataset's normalisation.
     *
     * @param data the images, planar
     * @param planeSize H·W
     * @param dataset the dataset's normalisation
     * @return the images normalised for CLIP
     */
    public static float[] renormalizeForClip(float[] data, int planeSize, Normalize dataset) {
        float[] out = data.clone();
        dataset.denormalizeInPlace(out, planeSize);
        Normalize.CLIP.normalizeInPlace(out, planeSize);
        return out;
    }
}
