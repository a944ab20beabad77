package io.starprompt.method.starprompt;

import io.starprompt.method.common.Adam;
import io.starprompt.method.common.mixture.GaussianMixture;
/**
 * Every switch of the end-to-end STAR-Prompt run (spec §3–§5, §8, §11). {@link #defaults()} are
 * the end-to-end defaults of §8.4; {@link #cropDiseaseBest()} is {@code models/config/starprompt.yaml}.
 * Each component has a {@code withX} copy method.
 *
 * @param firstStage           stage-1 hyper-parameters (lr 0.002, λ1, lr_gr1, E1, EM iterations …)
 * @param firstStageEpochs     stage-1 training epochs per task
 * @param firstStageMonteCarlo MC1: passes over the task's (deterministic) clip_preprocess images
 *                             pooled for the stage-1 mixtures (extra passes duplicate points, as in
 *                             the reference)
 * @param secondStageEpochs    stage-2 training epochs per task (K of the cosine schedule)
 * @param batchSize            training batch size of both stages (end-to-end uses one loader)
 * @param lr                   stage-2 Adam learning rate
 * @param lambdaOrtho          λ2, weight of the prompt orthogonality loss (t &gt; 0)
 * @param cosineSchedule       per-epoch lr_e = lr·cos(99π·e / (200·(K−1))) (paper-era code, §11.3);
 *                             false = constant lr (mammoth HEAD)
 * @param confidenceModulation scale the selected prompt by its similarity (§4.3); false = weight 1
 * @param promptMode           residual (default) or concat (prefix-tuning ablation, §4.5)
 * @param prefixLength         L_p of the concat ablation (5)
 * @param headAlignment        stage-2 generative-replay alignment of the head (t &gt; 0); false
 *                             leaves the head as trained (statistics and backup still happen)
 * @param replayModel          per-class mixture (default) or the single-Gaussian ablation
 * @param density              E-step density of the mixtures of both stages (reference quirk or textbook)
 * @param mogComponents        K of the stage-2 mixtures (5)
 * @param mogIterations        max EM iterations of the stage-2 mixtures (500)
 * @param alignLr              lr_gr2, SGD learning rate of the head alignment
 * @param alignEpochs          E2; task t aligns for E2 + alignEpochsPerTask·t epochs
 * @param alignEpochsPerTask   the 5 of "E2 + 5·t"
 * @param monteCarlo           MC2, augmented passes over the task's training set for the statistics
 * @param samplesPerClass      synthetic features per seen class per alignment epoch (256)
 * @param replayBatch          alignment batch size (128)
 * @param logitTemperature     τ of the alignment's logit normalisation z / (τ(‖z‖ + 1e-7)) (0.1)
 * @param evalBatchSize        batch size of inference
 */
public record StarPromptConfig(
        FirstStageConfig firstStage, int firstStageEpochs, int firstStageMonteCarlo,
        int secondStageEpochs, int batchSize, float lr, float lambdaOrtho, boolean cosineSchedule,
        boolean confidenceModulation, PromptMode promptMode, int prefixLength,
        boolean headAlignment, ReplayModel replayModel, GaussianMixture.Density density, int mogComponents,
        int mogIterations, float alignLr, int alignEpochs, int alignEpochsPerTask, int monteCarlo,
        int samplesPerClass, int replayBatch, float logitTemperature, int evalBatchSize) {

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

    public StarPromptConfig {
        if (firstStage == null) throw bad("firstStage is null");
        if (promptMode == null || replayModel == null || density == null) throw bad("null enum switch");
        if (firstStageEpochs < 0) throw bad("firstStageEpochs must be ≥ 0");
        if (firstStageMonteCarlo < 1) throw bad("firstStageMonteCarlo (MC1) must be ≥ 1");
        if (secondStageEpochs < 0) throw bad("secondStageEpochs must be ≥ 0");
        if (batchSize < 1 || evalBatchSize < 1 || replayBatch < 1) throw bad("batch sizes must be ≥ 1");
        if (!(lr >= 0) || !(lambdaOrtho >= 0) || !(alignLr >= 0) || Float.isInfinite(lr) || Float.isInfinite(lambdaOrtho)
                || Float.isInfinite(alignLr)) {
            throw bad("lr, lambdaOrtho and alignLr must be finite and ≥ 0");
        }
        if (!(logitTemperature > 0) || Float.isInfinite(logitTemperature)) throw bad("logitTemperature must be > 0");
        if (prefixLength < 1) throw bad("prefixLength must be ≥ 1");
        if (mogComponents < 1 || mogIterations < 0) throw bad("mogComponents ≥ 1 and mogIterations ≥ 0 required");
        if (alignEpochs < 0 || alignEpochsPerTask < 0) throw bad("alignment epochs must be ≥ 0");
        if (monteCarlo < 1) throw bad("monteCarlo (MC2) must be ≥ 1");
        if (samplesPerClass < 1) throw bad("samplesPerClass must be ≥ 1");
    }

    /**
     * End-to-end defaults (§8.4): stage 1 SGD 0.002, λ1 30, lr_gr1 0.05, E1 10, MC1 1, 200 EM
     * iterations; stage 2 Adam 0.001, λ2 10, lr_gr2 0.001, E2 10 (+5 per task), MC2 1, 500 EM
     * iterations, K = 5, reference density; 5 epochs per stage (the dataset default of
     * CropDisease/EuroSAT; set per dataset), batch 128, cosine schedule on (paper behaviour),
     * confidence modulation on, residual prompts, alignment on.
     */
    public static StarPromptConfig defaults() {
        return new StarPromptConfig(FirstStageConfig.defaults(), 5, 1,
                5, 128, 1e-3f, 10f, true,
                true, PromptMode.RESIDUAL, 5,
                true, ReplayModel.MIXTURE, GaussianMixture.Density.REFERENCE, 5,
                500, 1e-3f, 10, 5, 1,
                256, 128, 0.1f, 128);
    }

    /**
     * {@code models/config/starprompt.yaml} (CropDisease, seed 1993): λ1 30, λ2 5, lr_gr1 0.01,
     * lr_gr2 0.001, E1 10, E2 10, MC1 2, MC2 5, 500 EM iterations in both stages, 5 epochs, batch 128.
     */
    public static StarPromptConfig cropDiseaseBest() {
        return defaults().withFirstStage(FirstStageConfig.defaults().withAlignLr(0.01f).withMogIterations(500))
                .withFirstStageMonteCarlo(2).withLambdaOrtho(5f).withMonteCarlo(5);
    }

    /** Alignment epochs of task t: E2 + alignEpochsPerTask·t. */
    public int alignEpochsOfTask(int t) {
        return alignEpochs + alignEpochsPerTask * t;
    }

    /** The stage-2 mixture fit settings. */
    public GaussianMixture.Options mixtureOptions() {
        return GaussianMixture.Options.reference(mogIterations).withComponents(mogComponents).withDensity(density);
    }

    private static IllegalArgumentException bad(String msg) {
        return new IllegalArgumentException("star-prompt config: " + msg);
    }

    // ------------------------------------------------------------------ copies

    public StarPromptConfig withFirstStage(FirstStageConfig v) {
        return new StarPromptConfig(v, firstStageEpochs, firstStageMonteCarlo, secondStageEpochs, batchSize, lr,
                lambdaOrtho, cosineSchedule, confidenceModulation, promptMode, prefixLength, headAlignment, replayModel,
                density, mogComponents, mogIterations, alignLr, alignEpochs, alignEpochsPerTask, monteCarlo,
                samplesPerClass, replayBatch, logitTemperature, evalBatchSize);
    }

    public StarPromptConfig withFirstStageEpochs(int v) {
        return new StarPromptConfig(firstStage, v, firstStageMonteCarlo, secondStageEpochs, batchSize, lr,
                lambdaOrtho, cosineSchedule, confidenceModulation, promptMode, prefixLength, headAlignment, replayModel,
                density, mogComponents, mogIterations, alignLr, alignEpochs, alignEpochsPerTask, monteCarlo,
                samplesPerClass, replayBatch, logitTemperature, evalBatchSize);
    }

    public StarPromptConfig withFirstStageMonteCarlo(int v) {
        return new StarPromptConfig(firstStage, firstStageEpochs, v, secondStageEpochs, batchSize, lr,
                lambdaOrtho, cosineSchedule, confidenceModulation, promptMode, prefixLength, headAlignment, replayModel,
                density, mogComponents, mogIterations, alignLr, alignEpochs, alignEpochsPerTask, monteCarlo,
                samplesPerClass, replayBatch, logitTemperature, evalBatchSize);
    }

    public StarPromptConfig withSecondStageEpochs(int v) {
        return new StarPromptConfig(firstStage, firstStageEpochs, firstStageMonteCarlo, v, batchSize, lr,
                lambdaOrtho, cosineSchedule, confidenceModulation, promptMode, prefixLength, headAlignment, replayModel,
                density, mogComponents, mogIterations, alignLr, alignEpochs, alignEpochsPerTask, monteCarlo,
                samplesPerClass, replayBatch, logitTemperature, evalBatchSize);
    }

    /** Both stages' epochs (the end-to-end script's single epoch setting). */
    public StarPromptConfig withEpochs(int v) {
        return withFirstStageEpochs(v).withSecondStageEpochs(v);
    }

    public StarPromptConfig withBatchSize(int v) {
        return new StarPromptConfig(firstStage, firstStageEpochs, firstStageMonteCarlo, secondStageEpochs, v, lr,
                lambdaOrtho, cosineSchedule, confidenceModulation, promptMode, prefixLength, headAlignment, replayModel,
                density, mogComponents, mogIterations, alignLr, alignEpochs, alignEpochsPerTask, monteCarlo,
                samplesPerClass, replayBatch, logitTemperature, evalBatchSize);
    }

    public StarPromptConfig withLr(float v) {
        return new StarPromptConfig(firstStage, firstStageEpochs, firstStageMonteCarlo, secondStageEpochs, batchSize, v,
                lambdaOrtho, cosineSchedule, confidenceModulation, promptMode, prefixLength, headAlignment, replayModel,
                density, mogComponents, mogIterations, alignLr, alignEpochs, alignEpochsPerTask, monteCarlo,
                samplesPerClass, replayBatch, logitTemperature, evalBatchSize);
    }

    public StarPromptConfig withLambdaOrtho(float v) {
        return new StarPromptConfig(firstStage, firstStageEpochs, firstStageMonteCarlo, secondStageEpochs, batchSize, lr,
                v, cosineSchedule, confidenceModulation, promptMode, prefixLength, headAlignment, replayModel,
                density, mogComponents, mogIterations, alignLr, alignEpochs, alignEpochsPerTask, monteCarlo,
                samplesPerClass, replayBatch, logitTemperature, evalBatchSize);
    }

    public StarPromptConfig withCosineSchedule(boolean v) {
        return new StarPromptConfig(firstStage, firstStageEpochs, firstStageMonteCarlo, secondStageEpochs, batchSize, lr,
                lambdaOrtho, v, confidenceModulation, promptMode, prefixLength, headAlignment, replayModel,
                density, mogComponents, mogIterations, alignLr, alignEpochs, alignEpochsPerTask, monteCarlo,
                samplesPerClass, replayBatch, logitTemperature, evalBatchSize);
    }

    public StarPromptConfig withConfidenceModulation(boolean v) {
        return new StarPromptConfig(firstStage, firstStageEpochs, firstStageMonteCarlo, secondStageEpochs, batchSize, lr,
                lambdaOrtho, cosineSchedule, v, promptMode, prefixLength, headAlignment, replayModel,
                density, mogComponents, mogIterations, alignLr, alignEpochs, alignEpochsPerTask, monteCarlo,
                samplesPerClass, replayBatch, logitTemperature, evalBatchSize);
    }

    public StarPromptConfig withPromptMode(PromptMode v) {
        return new StarPromptConfig(firstStage, firstStageEpochs, firstStageMonteCarlo, secondStageEpochs, batchSize, lr,
                lambdaOrtho, cosineSchedule, confidenceModulation, v, prefixLength, headAlignment, replayModel,
                density, mogComponents, mogIterations, alignLr, alignEpochs, alignEpochsPerTask, monteCarlo,
                samplesPerClass, replayBatch, logitTemperature, evalBatchSize);
    }

    public StarPromptConfig withPrefixLength(int v) {
        return new StarPromptConfig(firstStage, firstStageEpochs, firstStageMonteCarlo, secondStageEpochs, batchSize, lr,
                lambdaOrtho, cosineSchedule, confidenceModulation, promptMode, v, headAlignment, replayModel,
                density, mogComponents, mogIterations, alignLr, alignEpochs, alignEpochsPerTask, monteCarlo,
                samplesPerClass, replayBatch, logitTemperature, evalBatchSize);
    }

    public StarPromptConfig withHeadAlignment(boolean v) {
        return new StarPromptConfig(firstStage, firstStageEpochs, firstStageMonteCarlo, secondStageEpochs, batchSize, lr,
                lambdaOrtho, cosineSchedule, confidenceModulation, promptMode, prefixLength, v, replayModel,
                density, mogComponents, mogIterations, alignLr, alignEpochs, alignEpochsPerTask, monteCarlo,
                samplesPerClass, replayBatch, logitTemperature, evalBatchSize);
    }

    public StarPromptConfig withReplayModel(ReplayModel v) {
        return new StarPromptConfig(firstStage, firstStageEpochs, firstStageMonteCarlo, secondStageEpochs, batchSize, lr,
                lambdaOrtho, cosineSchedule, confidenceModulation, promptMode, prefixLength, headAlignment, v,
                density, mogComponents, mogIterations, alignLr, alignEpochs, alignEpochsPerTask, monteCarlo,
                samplesPerClass, replayBatch, logitTemperature, evalBatchSize);
    }

    public StarPromptConfig withDensity(GaussianMixture.Density v) {
        return new StarPromptConfig(firstStage, firstStageEpochs, firstStageMonteCarlo, secondStageEpochs, batchSize, lr,
                lambdaOrtho, cosineSchedule, confidenceModulation, promptMode, prefixLength, headAlignment, replayModel,
                v, mogComponents, mogIterations, alignLr, alignEpochs, alignEpochsPerTask, monteCarlo,
                samplesPerClass, replayBatch, logitTemperature, evalBatchSize);
    }

    public StarPromptConfig withMogComponents(int v) {
        return new StarPromptConfig(firstStage, firstStageEpochs, firstStageMonteCarlo, secondStageEpochs, batchSize, lr,
                lambdaOrtho, cosineSchedule, confidenceModulation, promptMode, prefixLength, headAlignment, replayModel,
                density, v, mogIterations, alignLr, alignEpochs, alignEpochsPerTask, monteCarlo,
                samplesPerClass, replayBatch, logitTemperature, evalBatchSize);
    }

    public StarPromptConfig withMogIterations(int v) {
        return new StarPromptConfig(firstStage, firstStageEpochs, firstStageMonteCarlo, secondStageEpochs, batchSize, lr,
                lambdaOrtho, cosineSchedule, confidenceModulation, promptMode, prefixLength, headAlignment, replayModel,
                density, mogComponents, v, alignLr, alignEpochs, alignEpochsPerTask, monteCarlo,
                samplesPerClass, replayBatch, logitTemperature, evalBatchSize);
    }

    public StarPromptConfig withAlignLr(float v) {
        return new StarPromptConfig(firstStage, firstStageEpochs, firstStageMonteCarlo, secondStageEpochs, batchSize, lr,
                lambdaOrtho, cosineSchedule, confidenceModulation, promptMode, prefixLength, headAlignment, replayModel,
                density, mogComponents, mogIterations, v, alignEpochs, alignEpochsPerTask, monteCarlo,
                samplesPerClass, replayBatch, logitTemperature, evalBatchSize);
    }

    public StarPromptConfig withAlignEpochs(int v) {
        return new StarPromptConfig(firstStage, firstStageEpochs, firstStageMonteCarlo, secondStageEpochs, batchSize, lr,
                lambdaOrtho, cosineSchedule, confidenceModulation, promptMode, prefixLength, headAlignment, replayModel,
                density, mogComponents, mogIterations, alignLr, v, alignEpochsPerTask, monteCarlo,
                samplesPerClass, replayBatch, logitTemperature, evalBatchSize);
    }

    public StarPromptConfig withAlignEpochsPerTask(int v) {
        return new StarPromptConfig(firstStage, firstStageEpochs, firstStageMonteCarlo, secondStageEpochs, batchSize, lr,
                lambdaOrtho, cosineSchedule, confidenceModulation, promptMode, prefixLength, headAlignment, replayModel,
                density, mogComponents, mogIterations, alignLr, alignEpochs, v, monteCarlo,
                samplesPerClass, replayBatch, logitTemperature, evalBatchSize);
    }

    public StarPromptConfig withMonteCarlo(int v) {
        return new StarPromptConfig(firstStage, firstStageEpochs, firstStageMonteCarlo, secondStageEpochs, batchSize, lr,
                lambdaOrtho, cosineSchedule, confidenceModulation, promptMode, prefixLength, headAlignment, replayModel,
                density, mogComponents, mogIterations, alignLr, alignEpochs, alignEpochsPerTask, v,
                samplesPerClass, replayBatch, logitTemperature, evalBatchSize);
    }

    public StarPromptConfig withSamplesPerClass(int v) {
        return new StarPromptConfig(firstStage, firstStageEpochs, firstStageMonteCarlo, secondStageEpochs, batchSize, lr,
                lambdaOrtho, cosineSchedule, confidenceModulation, promptMode, prefixLength, headAlignment, replayModel,
                density, mogComponents, mogIterations, alignLr, alignEpochs, alignEpochsPerTask, monteCarlo,
                v, replayBatch, logitTemperature, evalBatchSize);
    }

    public StarPromptConfig withReplayBatch(int v) {
        return new StarPromptConfig(firstStage, firstStageEpochs, firstStageMonteCarlo, secondStageEpochs, batchSize, lr,
                lambdaOrtho, cosineSchedule, confidenceModulation, promptMode, prefixLength, headAlignment, replayModel,
                density, mogComponents, mogIterations, alignLr, alignEpochs, alignEpochsPerTask, monteCarlo,
                samplesPerClass, v, logitTemperature, evalBatchSize);
    }

    public StarPromptConfig withLogitTemperature(float v) {
        return new StarPromptConfig(firstStage, firstStageEpochs, firstStageMonteCarlo, secondStageEpochs, batchSize, lr,
                lambdaOrtho, cosineSchedule, confidenceModulation, promptMode, prefixLength, headAlignment, replayModel,
                density, mogComponents, mogIterations, alignLr, alignEpochs, alignEpochsPerTask, monteCarlo,
                samplesPerClass, replayBatch, v, evalBatchSize);
    }

    public StarPromptConfig withEvalBatchSize(int v) {
        return new StarPromptConfig(firstStage, firstStageEpochs, firstStageMonteCarlo, secondStageEpochs, batchSize, lr,
                lambdaOrtho, cosineSchedule, confidenceModulation, promptMode, prefixLength, headAlignment, replayModel,
                density, mogComponents, mogIterations, alignLr, alignEpochs, alignEpochsPerTask, monteCarlo,
                samplesPerClass, replayBatch, logitTemperature, v);
    }
}
