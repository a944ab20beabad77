package io.starprompt.method.starprompt;

import io.starprompt.method.starprompt.StarPromptConfig.Replay;

/** STAR-Prompt configurations small enough for the tiny test backbones: few epochs and EM iterations. */
public final class SmallConfigs {
    private SmallConfigs() {}

    /**
     * A small configuration, evaluation batches of 64; everything not named keeps its default.
     *
     * @param epochs       training epochs of both stages
     * @param batchSize    training batch size
     * @param stage1Em     EM iterations of the stage-1 mixtures
     * @param stage2Em     EM iterations of the stage-2 mixtures
     * @return the configuration
     */
    public static StarPromptConfig small(int epochs, int batchSize, int stage1Em, int stage2Em) {
        return StarPromptConfig.builder().epochs(epochs).set(StarPromptConfig::batchSize, batchSize)
                .set(StarPromptConfig::evalBatchSize, 64)
                .change(StarPromptConfig::stage1, s -> s.set(FirstStageConfig::mogIterations, stage1Em))
                .change(StarPromptConfig::replay, r -> r.set(Replay::iterations, stage2Em)).build();
    }
}
