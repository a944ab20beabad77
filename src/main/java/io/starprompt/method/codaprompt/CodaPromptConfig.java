package io.starprompt.method.codaprompt;

import io.starprompt.method.common.CosineSchedule;
import io.starprompt.method.prompting.PrefixPromptMethod;
import io.starprompt.util.RecordBuilder;

/**
 * The settings of a CODA-Prompt run (methods/coda-prompt.md §1, §8, §9). {@link #defaults()} is
 * the CIFAR-100 reference row; change them with {@link #builder()} or {@link #toBuilder()}:
 *
 * <pre>{@code
 * CodaPromptConfig cfg = CodaPromptConfig.builder().set(CodaPromptConfig::epochs, 50).build();   // ImageNet-R
 * }</pre>
 *
 * @param epochs         training epochs per task (20)
 * @param batchSize      training batch size (128)
 * @param evalBatchSize  test batch size (128)
 * @param lr             Adam learning rate, not rescaled by the batch size (0.001)
 * @param components     M, prompt components per layer (100); task t owns ⌊M/T⌋ of them
 * @param promptLength   L_p, rows per component: L_p/2 prefix keys then L_p/2 prefix values (8)
 * @param promptedLayers the prompted layers 0 … promptedLayers − 1 (5)
 * @param mu             μ, weight of the orthogonality loss of §6 (0: off)
 * @param cosineSchedule per-epoch cosine restarted every task (§8); false: constant lr (§11.3)
 */
public record CodaPromptConfig(int epochs, int batchSize, int evalBatchSize, float lr, int components, int promptLength,
        int promptedLayers, float mu, boolean cosineSchedule)
        implements PrefixPromptMethod.Settings {
    /**
     * Validates.
     *
     * @param epochs training epochs per task
     * @param batchSize training batch size
     * @param evalBatchSize test batch size
     * @param lr Adam learning rate
     * @param components M
     * @param promptLength L_p (even)
     * @param promptedLayers prompted layers from layer 0
     * @param mu orthogonality weight
     * @param cosineSchedule whether the per-epoch cosine applies
     */
    public CodaPromptConfig {
        if (epochs < 0) throw new IllegalArgumentException("coda-prompt: epochs " + epochs + " < 0");
        if (batchSize < 1 || evalBatchSize < 1) {
            throw new IllegalArgumentException("coda-prompt: batch sizes " + batchSize + ", " + evalBatchSize + " must be ≥ 1");
        }
        if (!(lr > 0) || Float.isInfinite(lr)) throw new IllegalArgumentException("coda-prompt: lr " + lr + " must be positive");
        if (components < 1) throw new IllegalArgumentException("coda-prompt: " + components + " components");
        if (promptLength < 2 || promptLength % 2 != 0) {
            throw new IllegalArgumentException("coda-prompt: prompt length " + promptLength + " must be even and ≥ 2");
        }
        if (promptedLayers < 1) throw new IllegalArgumentException("coda-prompt: " + promptedLayers + " prompted layers");
        if (!(mu >= 0) || Float.isInfinite(mu)) throw new IllegalArgumentException("coda-prompt: μ " + mu + " must be ≥ 0");
    }

    /**
     * The reference settings: 20 epochs, batch 128, lr 0.001 with the cosine, M = 100, L_p = 8,
     * layers 0–4, μ = 0.
     *
     * @return the defaults
     */
    public static CodaPromptConfig defaults() {
        return new CodaPromptConfig(20, 128, 128, 1e-3f, 100, 8, 5, 0f, true);
    }

    /**
     * A builder starting from {@link #defaults()}.
     *
     * @return the builder
     */
    public static RecordBuilder.Of<CodaPromptConfig> builder() {
        return defaults().toBuilder();
    }

    /**
     * A builder starting from this config.
     *
     * @return the builder
     */
    public RecordBuilder.Of<CodaPromptConfig> toBuilder() {
        return RecordBuilder.of(this);
    }

    /**
     * The learning rate of epoch e.
     *
     * @param epoch e
     * @return lr, or its cosine-scheduled value
     */
    public float learningRate(int epoch) {
        return cosineSchedule ? CosineSchedule.lr(lr, epoch, epochs) : lr;
    }
}
