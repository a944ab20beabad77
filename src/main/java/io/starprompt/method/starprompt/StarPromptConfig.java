package io.starprompt.method.starprompt;

import io.starprompt.method.common.mixture.GaussianMixture;
import io.starprompt.model.Precision;
import io.starprompt.util.RecordBuilder;

/**
 * Every switch of the end-to-end STAR-Prompt run (ALGORITHM.md §3–§5, §8, §11), grouped by stage:
 * stage 1 ({@link FirstStageConfig}), stage 2 ({@link Stage2}), the stage-2 head alignment
 * ({@link Alignment}) and generative replay ({@link Replay}: the class models, with the one
 * mixture density both stages use). {@link #defaults()} are the end-to-end defaults of §8.4,
 * {@link #cropDiseaseBest()} is {@code models/config/starprompt.yaml}.
 *
 * <pre>{@code
 * StarPromptConfig cfg = StarPromptConfig.builder()        // starts from defaults()
 *         .epochs(4)                                      // both stages
 *         .set(StarPromptConfig::batchSize, 16)
 *         .change(StarPromptConfig::stage1, s -> s.set(FirstStageConfig::mogIterations, 50))
 *         .change(StarPromptConfig::alignment, a -> a.set(Alignment::epochs, 3).set(Alignment::epochsPerTask, 1))
 *         .build();
 * StarPromptConfig noAlignment = cfg.toBuilder()
 *         .change(StarPromptConfig::alignment, a -> a.set(Alignment::enabled, false)).build();
 * }</pre>
 *
 * @param stage1        stage-1 hyper-parameters (epochs, MC1, lr 0.002, λ1, lr_gr1, E1, mixtures …)
 * @param stage2        stage-2 training
 * @param alignment     stage-2 head alignment by generative replay
 * @param replay        the stage-2 class models and the mixture density of both stages
 * @param batchSize     training batch size of both stages (end-to-end uses one loader)
 * @param evalBatchSize batch size of inference and of the feature passes
 * @param precision     how the frozen towers are loaded (fp32 by default; the code that loads them
 *                      reads it, as the CLI does): see {@link Precision}
 */
public record StarPromptConfig(FirstStageConfig stage1, Stage2 stage2, Alignment alignment, Replay replay,
        int batchSize, int evalBatchSize, Precision precision) {

    /** How the second-stage prompts enter the ViT. */
    public enum PromptMode {
        /** STAR-Prompt: the prompt is added to every token's value (§4.4). */
        RESIDUAL,
        /** Ablation: prefix tuning with L_p key and L_p value tokens per class and layer (§4.5). */
        CONCAT
    }

    /** What models each class's stage-2 features for replay. */
    public enum ReplayModel {
        /** K-component diagonal mixture (§3.6). */
        MIXTURE,
        /** The {@code gr_model=gaussian} ablation: one Gaussian, unbiased std. */
        GAUSSIAN
    }

    /**
     * Stage-2 training (§4.3–§4.7).
     *
     * @param epochs               training epochs per task (K of the cosine schedule)
     * @param lr                   Adam learning rate
     * @param lambdaOrtho          λ2, weight of the prompt orthogonality loss (t &gt; 0)
     * @param cosineSchedule       per-epoch lr_e = lr·cos(99π·e / (200·(K−1))) (paper-era code,
     *                             §11.3); false = constant lr (mammoth HEAD)
     * @param confidenceModulation scale the selected prompt by its similarity (§4.3); false = weight 1
     * @param promptMode           residual (default) or concat (prefix-tuning ablation, §4.5)
     * @param prefixLength         L_p of the concat ablation (5)
     */
    public record Stage2(int epochs, float lr, float lambdaOrtho, boolean cosineSchedule, boolean confidenceModulation,
            PromptMode promptMode, int prefixLength) {
        /**
         * Validates.
         *
         * @param epochs training epochs per task
         * @param lr the Adam learning rate
         * @param lambdaOrtho λ2, weight of the prompt orthogonality loss
         * @param cosineSchedule whether the learning rate follows the cosine schedule
         * @param confidenceModulation whether a retrieved prompt is scaled by its similarity
         * @param promptMode residual or prefix prompts
         * @param prefixLength L_p of prefix prompts
         */
        public Stage2 {
            if (epochs < 0) throw bad("stage 2 epochs must be ≥ 0");
            requireFinite("stage 2 lr", lr);
            requireFinite("lambdaOrtho", lambdaOrtho);
            if (promptMode == null) throw bad("promptMode is null");
            if (prefixLength < 1) throw bad("prefixLength must be ≥ 1");
        }

        /**
         * The learning rate of epoch e: the cosine schedule over {@link #epochs} or the constant lr.
         *
         * @param epoch the epoch index
         * @return its learning rate
         */
        public float learningRate(int epoch) {
            return cosineSchedule ? SecondStageTrainer.cosineLr(lr, epoch, epochs) : lr;
        }

    }

    /**
     * The stage-2 head alignment on replayed features (§4.8 step 3), for t &gt; 0.
     *
     * @param enabled          false leaves the head as trained (statistics and backup still happen)
     * @param lr               lr_gr2, its SGD learning rate
     * @param epochs           E2; task t aligns for E2 + epochsPerTask·t epochs
     * @param epochsPerTask    the 5 of "E2 + 5·t"
     * @param samplesPerClass  synthetic features per seen class per epoch (256)
     * @param batchSize        its batch size (128)
     * @param logitTemperature τ of the logit normalisation z / (τ(‖z‖ + 1e-7)) (0.1)
     */
    public record Alignment(boolean enabled, float lr, int epochs, int epochsPerTask, int samplesPerClass, int batchSize,
            float logitTemperature) {
        /**
         * Validates.
         *
         * @param enabled whether the head is re-aligned after every task but the first
         * @param lr lr_gr2, the alignment learning rate
         * @param epochs E2, alignment epochs of task 0's successor
         * @param epochsPerTask extra alignment epochs per task index
         * @param samplesPerClass replay samples per class and epoch
         * @param batchSize the alignment batch size
         * @param logitTemperature τ, the logits' temperature in the alignment loss
         */
        public Alignment {
            requireFinite("alignment lr", lr);
            if (epochs < 0 || epochsPerTask < 0) throw bad("alignment epochs must be ≥ 0");
            if (samplesPerClass < 1) throw bad("samplesPerClass must be ≥ 1");
            if (batchSize < 1) throw bad("batch sizes must be ≥ 1");
            if (!(logitTemperature > 0) || Float.isInfinite(logitTemperature)) throw bad("logitTemperature must be > 0");
        }

        /**
         * Alignment epochs of task t: E2 + epochsPerTask·t.
         *
         * @param t the task index
         * @return its alignment epochs
         */
        public int epochsOfTask(int t) {
            return epochs + epochsPerTask * t;
        }

    }

    /**
     * Generative replay's class models (§3.6, §4.8 step 1).
     *
     * @param model      stage 2: per-class mixture (default) or the single-Gaussian ablation
     * @param density    E-step density of the mixtures of <em>both</em> stages (the reference quirk
     *                   by default, or the textbook density)
     * @param components K of the stage-2 mixtures (5)
     * @param iterations max EM iterations of the stage-2 mixtures (500)
     * @param monteCarlo MC2, augmented passes over the task's training set for the statistics
     */
    public record Replay(ReplayModel model, GaussianMixture.Density density, int components, int iterations,
            int monteCarlo) {
        /**
         * Validates.
         *
         * @param model mixture or single Gaussian per class (stage 2)
         * @param density the mixture density of both stages
         * @param components K of the stage-2 mixtures
         * @param iterations EM iterations of the stage-2 mixtures
         * @param monteCarlo MC2, augmented passes for the statistics
         */
        public Replay {
            if (model == null || density == null) throw bad("null replay model or density");
            if (components < 1 || iterations < 0) throw bad("mogComponents ≥ 1 and mogIterations ≥ 0 required");
            if (monteCarlo < 1) throw bad("monteCarlo (MC2) must be ≥ 1");
        }

        /**
         * The stage-2 mixture fit settings.
         *
         * @return the fit settings
         */
        public GaussianMixture.Options mixtureOptions() {
            return GaussianMixture.Options.reference(iterations).withComponents(components).withDensity(density);
        }

    }

    /**
     * Validates that no group is missing and the batch sizes are positive.
     *
     * @param stage1 the first stage's settings
     * @param stage2 the second stage's training settings
     * @param alignment the head re-alignment settings
     * @param replay the class statistics and replay settings
     * @param batchSize the training batch size of both stages
     * @param evalBatchSize the inference and feature-pass batch size
     * @param precision how the frozen towers are loaded
     */
    public StarPromptConfig {
        if (stage1 == null || stage2 == null || alignment == null || replay == null) throw bad("a group is null");
        if (precision == null) throw bad("precision is null");
        if (batchSize < 1 || evalBatchSize < 1) throw bad("batch sizes must be ≥ 1");
    }

    /**
     * End-to-end defaults (§8.4): stage 1 SGD 0.002, λ1 30, lr_gr1 0.05, E1 10, MC1 1, 200 EM
     * iterations; stage 2 Adam 0.001, λ2 10, lr_gr2 0.001, E2 10 (+5 per task), MC2 1, 500 EM
     * iterations, K = 5, reference density; 5 epochs per stage (the dataset default of
     * CropDisease/EuroSAT; set per dataset), batch 128, cosine schedule on (paper behaviour),
     * confidence modulation on, residual prompts, alignment on.
     *
     * @return the defaults
     */
    public static StarPromptConfig defaults() {
        return new StarPromptConfig(FirstStageConfig.defaults(),
                new Stage2(5, 1e-3f, 10f, true, true, PromptMode.RESIDUAL, 5),
                new Alignment(true, 1e-3f, 10, 5, 256, 128, 0.1f),
                new Replay(ReplayModel.MIXTURE, GaussianMixture.Density.REFERENCE, 5, 500, 1),
                128, 128, Precision.FP32);
    }

    /**
     * {@code models/config/starprompt.yaml} (CropDisease, seed 1993): λ1 30, λ2 5, lr_gr1 0.01,
     * lr_gr2 0.001, E1 10, E2 10, MC1 2, MC2 5, 500 EM iterations in both stages, 5 epochs, batch 128.
     *
     * @return that configuration
     */
    public static StarPromptConfig cropDiseaseBest() {
        return builder()
                .change(StarPromptConfig::stage1, s -> s.set(FirstStageConfig::alignLr, 0.01f)
                        .set(FirstStageConfig::mogIterations, 500).set(FirstStageConfig::monteCarlo, 2))
                .change(StarPromptConfig::stage2, s -> s.set(Stage2::lambdaOrtho, 5f))
                .change(StarPromptConfig::replay, r -> r.set(Replay::monteCarlo, 5)).build();
    }

    /**
     * A builder starting from {@link #defaults()}.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return defaults().toBuilder();
    }

    /**
     * A builder starting from this config.
     *
     * @return a new builder
     */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /**
     * Alignment epochs of task t: E2 + alignEpochsPerTask·t.
     *
     * @param t the task index
     * @return its alignment epochs
     */
    public int alignEpochsOfTask(int t) {
        return alignment.epochsOfTask(t);
    }

    /**
     * Changes some settings of a {@link StarPromptConfig}: any component with
     * {@link #set(RecordBuilder.Component, Object) set}, a group's settings with
     * {@link #change(RecordBuilder.Component, java.util.function.UnaryOperator) change}, and the epochs of
     * both stages at once.
     */
    public static final class Builder extends RecordBuilder<StarPromptConfig, Builder> {
        private Builder(StarPromptConfig c) {
            super(c);
        }

        /**
         * The training epochs of both stages (the end-to-end script's single epoch setting).
         *
         * @param v the epochs
         * @return this builder
         */
        public Builder epochs(int v) {
            return change(StarPromptConfig::stage1, s -> s.set(FirstStageConfig::epochs, v))
                    .change(StarPromptConfig::stage2, s -> s.set(Stage2::epochs, v));
        }
    }

    private static void requireFinite(String name, float v) {
        if (!(v >= 0) || Float.isInfinite(v)) throw bad(name + " must be finite and ≥ 0, got " + v);
    }

    private static IllegalArgumentException bad(String msg) {
        return new IllegalArgumentException("star-prompt config: " + msg);
    }
}
