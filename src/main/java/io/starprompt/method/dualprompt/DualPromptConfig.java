package io.starprompt.method.dualprompt;

import io.starprompt.method.prompting.PrefixPromptMethod;
import io.starprompt.util.RecordBuilder;

/**
 * The settings of a DualPrompt run (methods/dualprompt.md §1, §3, §7, §8). {@link #defaults()} is
 * the CIFAR-100 reference row; change them with {@link #builder()} or {@link #toBuilder()}:
 *
 * <pre>{@code
 * DualPromptConfig cfg = DualPromptConfig.builder().set(DualPromptConfig::epochs, 50).build();   // ImageNet-R
 * }</pre>
 *
 * @param epochs          training epochs per task (5)
 * @param batchSize       training batch size (128)
 * @param evalBatchSize   test batch size, the batch the vote sees (128)
 * @param lr              Adam learning rate per 256 images, rescaled once by batchSize / 256 (0.03)
 * @param gLayers         G-prompted layers 0 … gLayers − 1 (2)
 * @param eLayers         E-prompted layers gLayers … gLayers + eLayers − 1 (3)
 * @param gLength         L_g, G-prompt key vectors (and as many value vectors) per layer (5)
 * @param eLength         L_e, E-prompt key vectors (and as many value vectors) per layer (5)
 * @param poolSize        M, E-prompts and keys, one per task (10); needs M ≥ T
 * @param pullWeight      λ, weight of the key-pull term (1.0)
 * @param batchwisePrompt test batches vote one E-prompt for all their images (true)
 * @param clipNorm        global gradient norm clipped to before each step (1.0)
 */
public record DualPromptConfig(int epochs, int batchSize, int evalBatchSize, float lr, int gLayers, int eLayers,
        int gLength, int eLength, int poolSize, float pullWeight, boolean batchwisePrompt, float clipNorm)
        implements PrefixPromptMethod.Settings {
    /**
     * Validates.
     *
     * @param epochs training epochs per task
     * @param batchSize training batch size
     * @param evalBatchSize test batch size
     * @param lr learning rate per 256 images
     * @param gLayers G-prompted layers
     * @param eLayers E-prompted layers
     * @param gLength L_g
     * @param eLength L_e
     * @param poolSize M
     * @param pullWeight λ
     * @param batchwisePrompt the test-time vote
     * @param clipNorm the clipping norm
     */
    public DualPromptConfig {
        if (epochs < 0) throw new IllegalArgumentException("dualprompt: epochs " + epochs + " < 0");
        if (batchSize < 1 || evalBatchSize < 1) {
            throw new IllegalArgumentException("dualprompt: batch sizes " + batchSize + ", " + evalBatchSize + " must be ≥ 1");
        }
        if (!(lr > 0) || Float.isInfinite(lr)) throw new IllegalArgumentException("dualprompt: lr " + lr + " must be positive");
        if (gLayers < 0 || eLayers < 1) {
            throw new IllegalArgumentException("dualprompt: " + gLayers + " G-prompted and " + eLayers + " E-prompted layers");
        }
        if (gLength < 1 || eLength < 1) {
            throw new IllegalArgumentException("dualprompt: prompt lengths " + gLength + ", " + eLength + " must be ≥ 1");
        }
        if (poolSize < 1) throw new IllegalArgumentException("dualprompt: pool of " + poolSize + " E-prompts");
        if (!(pullWeight >= 0) || Float.isInfinite(pullWeight)) {
            throw new IllegalArgumentException("dualprompt: λ " + pullWeight + " must be ≥ 0");
        }
        if (!(clipNorm > 0) || Float.isInfinite(clipNorm)) {
            throw new IllegalArgumentException("dualprompt: clipping norm " + clipNorm + " must be positive");
        }
    }

    /**
     * The reference settings: 5 epochs, batch 128, lr 0.03 per 256 (0.015), G in layers 0–1 and E in
     * 2–4 of length 5, pool 10, λ = 1, batch-wise vote on, clipping at 1.
     *
     * @return the defaults
     */
    public static DualPromptConfig defaults() {
        return new DualPromptConfig(5, 128, 128, 0.03f, 2, 3, 5, 5, 10, 1f, true, 1f);
    }

    /**
     * A builder starting from {@link #defaults()}.
     *
     * @return the builder
     */
    public static RecordBuilder.Of<DualPromptConfig> builder() {
        return defaults().toBuilder();
    }

    /**
     * A builder starting from this config.
     *
     * @return the builder
     */
    public RecordBuilder.Of<DualPromptConfig> toBuilder() {
        return RecordBuilder.of(this);
    }

    /**
     * The rate Adam runs at: lr · batchSize / 256 (methods/dualprompt.md §7), constant.
     *
     * @return the effective learning rate
     */
    public float effectiveLr() {
        return lr * batchSize / 256f;
    }
}
