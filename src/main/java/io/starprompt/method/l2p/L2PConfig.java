package io.starprompt.method.l2p;

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
        return builder().build();
    }

    /**
     * The CIFAR-100 best config of the reference: λ = 0.5, batch-wise selection, 5 epochs (§9).
     *
     * @return the settings
     */
    public static L2PConfig cifar100() {
        return builder().pullWeight(0.5f).batchwisePrompt(true).build();
    }

    /**
     * The dataset defaults for ImageNet-R and CUB-200: 50 epochs, the method's other defaults (§9).
     *
     * @return the settings
     */
    public static L2PConfig longSchedule() {
        return builder().epochs(50).build();
    }

    /**
     * A builder starting from the defaults.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * A builder starting from these settings.
     *
     * @return a new builder
     */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.poolSize = poolSize;
        b.promptLength = promptLength;
        b.topN = topN;
        b.pullWeight = pullWeight;
        b.batchwisePrompt = batchwisePrompt;
        b.epochs = epochs;
        b.batchSize = batchSize;
        b.baseLearningRate = baseLearningRate;
        b.clipNorm = clipNorm;
        b.evalBatchSize = evalBatchSize;
        return b;
    }

    /** Builds an {@link L2PConfig}; every setter returns the builder, {@link #build} validates. */
    public static final class Builder {
        private int poolSize = 10;
        private int promptLength = 5;
        private int topN = 5;
        private float pullWeight = 0.1f;
        private boolean batchwisePrompt;
        private int epochs = 5;
        private int batchSize = 128;
        private float baseLearningRate = 0.03f;
        private float clipNorm = 1.0f;
        private int evalBatchSize = 128;

        private Builder() {}

        /**
         * M, prompts in the pool (default 10).
         *
         * @param v the value
         * @return this builder
         */
        public Builder poolSize(int v) {
            poolSize = v;
            return this;
        }

        /**
         * L, tokens per prompt (default 5).
         *
         * @param v the value
         * @return this builder
         */
        public Builder promptLength(int v) {
            promptLength = v;
            return this;
        }

        /**
         * N, prompts chosen per image (default 5).
         *
         * @param v the value
         * @return this builder
         */
        public Builder topN(int v) {
            topN = v;
            return this;
        }

        /**
         * λ, the weight of the key-pull term (default 0.1).
         *
         * @param v the value
         * @return this builder
         */
        public Builder pullWeight(float v) {
            pullWeight = v;
            return this;
        }

        /**
         * Batch-wise prompt selection (default off).
         *
         * @param v the value
         * @return this builder
         */
        public Builder batchwisePrompt(boolean v) {
            batchwisePrompt = v;
            return this;
        }

        /**
         * Epochs per task (default 5).
         *
         * @param v the value
         * @return this builder
         */
        public Builder epochs(int v) {
            epochs = v;
            return this;
        }

        /**
         * Training batch size (default 128).
         *
         * @param v the value
         * @return this builder
         */
        public Builder batchSize(int v) {
            batchSize = v;
            return this;
        }

        /**
         * The learning rate per 256 images (default 0.03).
         *
         * @param v the value
         * @return this builder
         */
        public Builder baseLearningRate(float v) {
            baseLearningRate = v;
            return this;
        }

        /**
         * The global gradient norm limit (default 1.0; 0 turns clipping off).
         *
         * @param v the value
         * @return this builder
         */
        public Builder clipNorm(float v) {
            clipNorm = v;
            return this;
        }

        /**
         * Test batch size (default 128).
         *
         * @param v the value
         * @return this builder
         */
        public Builder evalBatchSize(int v) {
            evalBatchSize = v;
            return this;
        }

        /**
         * The settings.
         *
         * @return the validated config
         * @throws IllegalArgumentException naming a field out of range
         */
        public L2PConfig build() {
            return new L2PConfig(poolSize, promptLength, topN, pullWeight, batchwisePrompt, epochs, batchSize,
                    baseLearningRate, clipNorm, evalBatchSize);
        }
    }
}
