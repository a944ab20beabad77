package io.starprompt.method.starprompt;

import io.starprompt.method.common.mixture.GaussianMixture;
import io.starprompt.util.RecordBuilder;

/**
 * Hyper-parameters of the first stage (ALGORITHM.md §3.3–§3.6, §8). Build with {@link #builder()}
 * (starts from {@link #defaults()}) or change a copy with {@link #toBuilder()}, setting components by
 * their accessors: {@code FirstStageConfig.builder().set(FirstStageConfig::lr, 0.01f).build()}.
 *
 * @param epochs          E_S1, training epochs per task (end-to-end default 5)
 * @param monteCarlo      MC1: passes over the task's (deterministic) clip_preprocess features
 *                        pooled for the mixtures (extra passes duplicate points, as in the
 *                        reference)
 * @param lr              training learning rate, plain SGD (ALGORITHM.md §3.4: 0.002)
 * @param lambdaOrtho     λ1, weight of the ctx orthogonality term (end-to-end default 30)
 * @param alignLr         lr_gr1, SGD learning rate of the generative-replay alignment (default 0.05)
 * @param alignEpochs     E1, alignment epochs (default 10); 0 skips the alignment
 * @param samplesPerClass synthetic samples drawn per seen class and alignment epoch (256)
 * @param replayBatch     alignment mini-batch size (128; the last partial batch is kept)
 * @param mogIterations   maximum EM iterations of each class's mixture (end-to-end default 200,
 *                        stand-alone 500)
 * @param mogComponents   mixture components per class (5)
 */
public record FirstStageConfig(int epochs, int monteCarlo, float lr, float lambdaOrtho, float alignLr, int alignEpochs,
        int samplesPerClass, int replayBatch, int mogIterations, int mogComponents) {

    /**
     * Validates: rates and λ1 finite and ≥ 0, counts in range.
     *
     * @param epochs E_S1, training epochs per task
     * @param monteCarlo MC1, augmented passes for the class statistics
     * @param lr the training learning rate
     * @param lambdaOrtho λ1, weight of the context orthogonality loss
     * @param alignLr lr_gr1, the alignment learning rate
     * @param alignEpochs E1, alignment epochs
     * @param samplesPerClass replay samples per class and alignment epoch
     * @param replayBatch the alignment batch size
     * @param mogIterations the EM iteration limit
     * @param mogComponents mixture components per class
     */
    public FirstStageConfig {
        requireFinite("lr", lr);
        requireFinite("lambdaOrtho", lambdaOrtho);
        requireFinite("alignLr", alignLr);
        if (epochs < 0) throw bad("epochs must be ≥ 0, got " + epochs);
        if (monteCarlo < 1) throw bad("monteCarlo (MC1) must be ≥ 1, got " + monteCarlo);
        if (alignEpochs < 0) throw bad("alignEpochs must be ≥ 0, got " + alignEpochs);
        if (samplesPerClass < 1) throw bad("samplesPerClass must be ≥ 1, got " + samplesPerClass);
        if (replayBatch < 1) throw bad("replayBatch must be ≥ 1, got " + replayBatch);
        if (mogIterations < 0) throw bad("mogIterations must be ≥ 0, got " + mogIterations);
        if (mogComponents < 1) throw bad("mogComponents must be ≥ 1, got " + mogComponents);
    }

    /**
     * The end-to-end defaults (ALGORITHM.md §8.4): 5 epochs, MC1 1, lr 0.002, λ1 30, lr_gr1 0.05, E1 10,
     * 256 samples per class, replay batch 128, 200 EM iterations, 5 components.
     *
     * @return the defaults
     */
    public static FirstStageConfig defaults() {
        return new FirstStageConfig(5, 1, 0.002f, 30f, 0.05f, 10, 256, 128, 200, 5);
    }

    /**
     * The stand-alone stage-1 defaults (ALGORITHM.md §8.2): as {@link #defaults()} but 500 EM iterations.
     *
     * @return the stand-alone defaults
     */
    public static FirstStageConfig standAloneDefaults() {
        return builder().set(FirstStageConfig::mogIterations, 500).build();
    }

    /**
     * A builder starting from {@link #defaults()}.
     *
     * @return a new builder
     */
    public static RecordBuilder.Of<FirstStageConfig> builder() {
        return defaults().toBuilder();
    }

    /**
     * A builder starting from this config.
     *
     * @return a new builder
     */
    public RecordBuilder.Of<FirstStageConfig> toBuilder() {
        return RecordBuilder.of(this);
    }

    /**
     * The mixture settings of §3.6 with this config's components and EM iterations and the given density.
     *
     * @param density the mixture density
     * @return the fit settings
     */
    public GaussianMixture.Options mixtureOptions(GaussianMixture.Density density) {
        return GaussianMixture.Options.reference(mogIterations).withComponents(mogComponents).withDensity(density);
    }

    private static void requireFinite(String name, float v) {
        if (!(v >= 0) || Float.isInfinite(v)) throw bad(name + " must be finite and ≥ 0, got " + v);
    }

    private static IllegalArgumentException bad(String msg) {
        return new IllegalArgumentException("first stage config: " + msg);
    }
}
