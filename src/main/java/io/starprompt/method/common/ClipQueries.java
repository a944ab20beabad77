package io.starprompt.method.common;

import io.starprompt.model.clip.Clip;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;

/**
 * The CLIP query of an image (ALGORITHM.md §4.2): the raw, un-normalised CLIP image feature. The
 * second stage, inference and the CLIP-only classifiers all index their keys with it.
 */
public final class ClipQueries {
    private ClipQueries() {}

    /**
     * Raw CLIP image features [n, d] of CLIP-normalised images [n, 3, S, S], a new tensor in the
     * caller's current scope.
     *
     * @param clip the frozen CLIP
     * @param clipImages the images, planar
     * @param n how many
     * @return the queries
     */
    public static Tensor compute(Clip clip, float[] clipImages, int n) {
        var v = clip.config().vision();
        try (TensorScope scope = TensorScope.open()) {
            Tensor px = clip.pixels(clipImages, n);
            return scope.retain(clip.imageFeatures(px));
        }
    }
}
