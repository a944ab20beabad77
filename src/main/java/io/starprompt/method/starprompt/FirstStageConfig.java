package io.starprompt.method.starprompt;

import io.starprompt.method.common.mixture.GaussianMixture;
/**
 * Hyper-parameters of the first stage (spec §3.3–§3.6, §8).
 *
 * @param lr              stage-1 training learning rate, plain SGD (spec: 0.002)
 * @param lambdaOrtho     λ1, weight of the ctx orthogonality term (end-to-end default 30)
 * @param alignLr         lr_gr1, SGD learning rate of the generative-replay alignment (default 0.05)
 * @param alignEpochs     E1, alignment epochs (default 10); 0 skips the alignment
 * @param samplesPerClass synthetic samples drawn per seen class and alignment epoch (256)
 * @param replayBatch     alignment mini-batch size (128; the last partial batch is kept)
 * @param mogIterations   maximum EM iterations of each class's mixture (end-to-end default 200,
 *                        stand-alone 500)
 * @param mogComponents   mixture components per class (5)
 * @param density         E-step density of the mixtures (the reference quirk by default)
 */
public record FirstStageConfig(float lr, float lambdaOrtho, float alignLr, int alignEpochs, int samplesPerClass,
        int replayBatch, int mogIterations, int mogComponents, GaussianMixture.Density density) {

    /** Validates: rates finite and ≥ 0, λ1 finite and ≥ 0, counts in range. */
    public FirstStageConfig {
        requireFinite("lr", lr);
        requireFinite("lambdaOrtho", lambdaOrtho);
        requireFinite("alignLr", alignLr);
        if (alignEpochs < 0) throw bad("alignEpochs must be ≥ 0, got " + alignEpochs);
        if (samplesPerClass < 1) throw bad("samplesPerClass must be ≥ 1, got " + samplesPerClass);
        if (replayBatch < 1) throw bad("replayBatch must be ≥ 1, got " + replayBatch);
        if (mogIterations < 0) throw bad("mogIterations must be ≥ 0, got " + mogIterations);
        if (mogComponents < 1) throw bad("mogComponents must be ≥ 1, got " + mogComponents);
        if (density == null) throw bad("density is null");
    }

    /**
     * The end-to-end defaults (spec §8.4): lr 0.002, λ1 30, lr_gr1 0.05, E1 10, 256 samples per
     * class, replay batch 128, 200 EM iterations, 5 components.
     */
    public static FirstStageConfig defaults() {
        return new FirstStageConfig(0.002f, 30f, 0.05f, 10, 256, 128, 200, 5, GaussianMixture.Density.REFERENCE);
    }

    /** The stand-alone stage-1 defaults (spec §8.2): as {@link #defaults()} but 500 EM iterations. */
    public static FirstStageConfig standAloneDefaults() {
        return defaults().withMogIterations(500);
    }

    /** A copy with another training learning rate. */
    public FirstStageConfig withLr(float v) {
        return new FirstStageConfig(v, lambdaOrtho, alignLr, alignEpochs, samplesPerClass, replayBatch, mogIterations,
                mogComponents, density);
    }

    /** A copy with another λ1. */
    public FirstStageConfig withLambdaOrtho(float v) {
        return new FirstStageConfig(lr, v, alignLr, alignEpochs, samplesPerClass, replayBatch, mogIterations,
                mogComponents, density);
    }

    /** A copy with another alignment learning rate lr_gr1. */
    public FirstStageConfig withAlignLr(float v) {
        return new FirstStageConfig(lr, lambdaOrtho, v, alignEpochs, samplesPerClass, replayBatch, mogIterations,
                mogComponents, density);
    }

    /** A copy with another number of alignment epochs E1. */
    public FirstStageConfig withAlignEpochs(int v) {
        return new FirstStageConfig(lr, lambdaOrtho, alignLr, v, samplesPerClass, replayBatch, mogIterations,
                mogComponents, density);
    }

    /** A copy with another number of replay samples per class and epoch. */
    public FirstStageConfig withSamplesPerClass(int v) {
        return new FirstStageConfig(lr, lambdaOrtho, alignLr, alignEpochs, v, replayBatch, mogIterations,
                mogComponents, density);
    }

    /** A copy with another replay batch size. */
    public FirstStageConfig withReplayBatch(int v) {
        return new FirstStageConfig(lr, lambdaOrtho, alignLr, alignEpochs, samplesPerClass, v, mogIterations,
                mogComponents, density);
    }

    /** A copy with another EM iteration limit. */
    public FirstStageConfig withMogIterations(int v) {
        return new FirstStageConfig(lr, lambdaOrtho, alignLr, alignEpochs, samplesPerClass, replayBatch, v,
                mogComponents, density);
    }

    /** A copy with another number of mixture components. */
    public FirstStageConfig withMogComponents(int v) {
        return new FirstStageConfig(lr, lambdaOrtho, alignLr, alignEpochs, samplesPerClass, replayBatch, mogIterations,
                v, density);
    }

    /** A copy with another mixture density. */
    public FirstStageConfig withDensity(GaussianMixture.Density v) {
        return new FirstStageConfig(lr, lambdaOrtho, alignLr, alignEpochs, samplesPerClass, replayBatch, mogIterations,
                mogComponents, v);
    }

    /** The mixture settings of §3.6 with this config's components, EM iterations and density. */
    public GaussianMixture.Options mixtureOptions() {
        return GaussianMixture.Options.reference(mogIterations).withComponents(mogComponents).withDensity(density);
    }

    private static void requireFinite(String name, float v) {
        if (!(v >= 0) || Float.isInfinite(v)) throw bad(name + " must be finite and ≥ 0, got " + v);
    }

    private static IllegalArgumentException bad(String msg) {
        return new IllegalArgumentException("first stage config: " + msg);
    }
}
