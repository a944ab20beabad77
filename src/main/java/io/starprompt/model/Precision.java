package io.starprompt.model;

import io.starprompt.tensor.DType;
import java.util.Locale;

/**
 * How the frozen towers (the ViT and both CLIP towers) store and compute, chosen when they are
 * loaded. Whatever the precision, everything trainable (prompts, class tokens, heads, optimiser
 * moments, mixtures), every loss, the LayerNorm and softmax statistics and the features a tower
 * returns are f32, and every op accumulates in f32 or wider.
 */
public enum Precision {
    /** f32 weights and activations: the reference behaviour. */
    FP32,
    /**
     * f32 storage, with TF32 tensor-core matrix products allowed where a backend has them. No
     * backend of this library has a TF32 GEMM yet (the CPU and reference backends never will:
     * TF32 is a CUDA tensor-core format), so TF32 computes exactly as {@link #FP32} everywhere.
     * It is accepted rather than refused because it only permits lower accuracy, never asks for
     * it: a run configured for a GPU then also runs, at full precision, on a CPU.
     */
    TF32,
    /**
     * bf16 storage: the frozen weights are converted to bf16 once, at load, and the activations
     * between ops (the ones a backward pass keeps among them) are stored in bf16, rounded to
     * nearest even. Gradients flowing back through the towers (and so the prompt gradients) stay
     * f32: they live one layer at a time, so f32 costs little memory, and no bf16 rounding is
     * added on the backward path. Needs a backend with the bf16 forms of the towers' ops, mixed
     * with f32 (the reference, CPU and CUDA backends); others refuse the first op that lacks one,
     * naming it.
     */
    BF16;

    /**
     * The dtype the towers store weights and activations in.
     *
     * @return BF16 for {@link #BF16}, else F32
     */
    public DType storage() {
        return this == BF16 ? DType.BF16 : DType.F32;
    }

    /**
     * The precision of a setting's value: fp32, tf32 or bf16 (any case).
     *
     * @param name the value
     * @return the precision
     * @throws IllegalArgumentException naming the accepted values for anything else
     */
    public static Precision parse(String name) {
        for (Precision p : values()) {
            if (p.name().equalsIgnoreCase(name)) return p;
        }
        throw new IllegalArgumentException("precision '" + name + "': expected fp32, tf32 or bf16");
    }

    /**
     * The setting's spelling.
     *
     * @return fp32, tf32 or bf16
     */
    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
