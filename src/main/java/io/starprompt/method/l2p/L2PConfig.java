package io.starprompt.method.l2p;

import io.starprompt.util.RecordBuilder;

/**
 * The settings of L2P (methods/l2p.md §1, §3, §8, §9). The defaults are the reference's method
 * defaults: a pool of M = 10 prompts of L = 5 tokens, N = 5 chosen per image, pull weight
 * λ = 0.1, per-image selection, 5 epochs, batches of 128, a learning rate of 0.03 per 256 images
 * (0.015 at 128), gradients clipped to a global norm of 1.0, evaluation in batches of 128.
 * {@link #cifar100()} and {@link #longSchedule()} are the per-benchmark settings of §9.
 *
 * @param poolSize M, prompts in the pool
 * @param promptLength L, tokens per prompt
 * @param topN N, prompts chosen per image (≤ M)
 * @param pullWeight λ, the weight of the key-pull term (≥ 0)
 * @param batchwisePrompt whether the batch votes one set of prompts for all its images (§3)
 * @param epochs epochs per task
 * @param batchSize training batch size B
 * @param baseLearningRate the configured rate, read as the rate for a batch of 256 (§8)
 * @param clipNorm the global gradient norm is clipped to this (0: no clipping)
 * @param evalBatchSize test batch size; with batch-wise selection the vote sees these batches
 */
public record L2PConfig(int poolSize, int promptLength, int topN, float pullWeight, boolean batchwisePrompt,
        int epochs, int batchSize, float baseLearningRate, float clipNorm, int evalBatchSize) {
    /** The batch size the configured learning rate refers to (§8). */
    public static final int REFERENCE_BATCH = 256;

    /**
     * Validates every field.
     *
     * @param poolSize M
     * @param promptLength L
     * @param topN N
     * @param pullWeight λ
     * @param batchwisePrompt batch-wise selection
     * @param epochs epochs per task
     * @param batchSize B
     * @param baseLearningRate the rate per 256 images
     * @param clipNorm the clipping norm, 0 for none
     * @param evalBatchSize test batch size
     * @throws IllegalArgumentException naming the field that is out of range
     */
    public L2PConfig {
        positive("poolSize", poolSize);
        positive("promptLength", promptLength);
        positive("batchSize", batchSize);
        positive("evalBatchSize", evalBatchSize);
        if (topN < 1 || topN > poolSize) {
            throw new IllegalArgumentException("L2P: topN = " + topN + " must lie in [1, poolSize = " + poolSize + "]");
        }
        if (epochs < 0) throw new IllegalArgumentException("L2P: epochs = " + epochs + " must be ≥ 0");
        if (!(pullWeight >= 0) || Float.isInfinite(pullWeight)) {
            throw new IllegalArgumentException("L2P: pullWeight = " + pullWeight + " must be finite and ≥ 0");
        }
        if (!(baseLearningRate > 0) || Float.isInfinite(baseLearningRate)) {
            throw new IllegalArgumentException("L2P: baseLearningRate = " + baseLearningRate + " must be finite and > 0");
        }
        if (!(clipNorm >= 0) || Float.isInfinite(clipNorm)) {
            throw new IllegalArgumentException("L2P: clipNorm = " + clipNorm + " must be finite and ≥ 0 (0: no clipping)");
        }
    }

    private static void positive(String name, int value) {
        if (value < 1) throw new IllegalArgumentException("L2P: " + name + " = " + value + " must be ≥ 1");
    }

    /**
     * The learning rate Adam uses: the configured rate rescaled to the batch size,
     * baseLearningRate · batchSize / 256 (0.015 for the defaults).
     *
     * @return the effective learning rate
     */
    public float learningRate() {
        return baseLearningRate * batchSize / REFERENCE_BATCH;
    }

    /**
     * Tokens the prompts add to every sequence, N·L.
     *
     * @return N·L
     */
    public int promptTokens() {
        return topN * promptLength;
    }

    /**
     * The reference's method defaults (methods/l2p.md §1, §9).
     *
     * @return the defaults
     */
    public static L2PConfig defaults() {
        return new L2PConfig(10, 5, 5, 0.1f, false, 5, 128, 0.03f, 1.0f, 128);
    }

    /**
     * The CIFAR-100 best config of the reference: λ = 0.5, batch-wise selection, 5 epochs (§9).
     *
     * @return the settings
     */
    public static L2PConfig cifar100() {
        return builder().set(L2PConfig::pullWeight, 0.5f).set(L2PConfig::batchwisePrompt, true).build();
    }

    /**
     * The dataset defaults for ImageNet-R and CUB-200: 50 epochs, the method's other defaults (§9).
     *
     * @return the settings
     */
    public static L2PConfig longSchedule() {
        return builder().set(L2PConfig::epochs, 50).build();
    }

    /**
     * A builder starting from {@link #defaults()}; set components by their accessors, e.g.
     * {@code L2PConfig.builder().set(L2PConfig::topN, 3).build()}.
     *
     * @return a new builder
     */
    public static RecordBuilder.Of<L2PConfig> builder() {
        return defaults().toBuilder();
    }

    /**
     * A builder starting from these settings.
     *
     * @return a new builder
     */
    public RecordBuilder.Of<L2PConfig> toBuilder() {
        return RecordBuilder.of(this);
    }
}
