package io.starprompt.data;

import java.util.List;
import java.util.random.RandomGenerator;

/**
 * A torchvision {@code Compose}: 8-bit transforms in order, then {@code ToTensor} and
 * {@code Normalize}. The result is one float CHW image.
 */
public final class ImagePipeline {
    private final List<ImageTransform> steps;
    private final Normalize normalize;

    /**
     * The steps run in list order; {@code normalize} is applied to the [0, 1] tensor.
     *
     * @param steps the transforms
     * @param normalize the normalisation
     */
    public ImagePipeline(List<ImageTransform> steps, Normalize normalize) {
        this.steps = List.copyOf(steps);
        this.normalize = normalize;
    }

    /**
     * Convenience: {@code new ImagePipeline(List.of(steps), normalize)}.
     *
     * @param normalize the normalisation
     * @param steps the transforms
     * @return the pipeline
     */
    public static ImagePipeline of(Normalize normalize, ImageTransform... steps) {
        return new ImagePipeline(List.of(steps), normalize);
    }

    /**
     * The steps, in order.
     *
     * @return the steps
     */
    public List<ImageTransform> steps() {
        return steps;
    }

    /**
     * The final normalisation.
     *
     * @return the normalisation
     */
    public Normalize normalize() {
        return normalize;
    }

    /**
     * The 8-bit image after all steps (before {@code ToTensor}).
     *
     * @param image the input
     * @param rng the randomness of the random steps
     * @return the transformed image
     */
    public RgbImage transform(RgbImage image, RandomGenerator rng) {
        RgbImage img = image;
        for (ImageTransform step : steps) img = step.apply(img, rng);
        return img;
    }

    /**
     * All steps, then the normalised float CHW tensor.
     *
     * @param image the input
     * @param rng the randomness of the random steps
     * @return the tensor
     */
    public float[] apply(RgbImage image, RandomGenerator rng) {
        RgbImage img = transform(image, rng);
        float[] chw = img.toChw();
        normalize.normalizeInPlace(chw, img.width() * img.height());
        return chw;
    }

    @Override
    public String toString() {
        return "ImagePipeline" + steps + " + " + normalize;
    }
}
