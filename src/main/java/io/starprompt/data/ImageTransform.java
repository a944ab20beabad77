package io.starprompt.data;

import java.util.random.RandomGenerator;

/**
 * One step of an image pipeline on 8-bit images (a torchvision transform on PIL images).
 * Random transforms draw only from the generator they are given, so a pipeline run with a
 * generator seeded per sample is reproducible whatever thread runs it.
 */
@FunctionalInterface
public interface ImageTransform {
    /**
     * Transforms {@code image}; deterministic transforms ignore {@code rng}.
     *
     * @param image the input
     * @param rng the randomness of a random transform
     * @return the transformed image
     */
    RgbImage apply(RgbImage image, RandomGenerator rng);
}
