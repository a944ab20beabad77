package io.starprompt.backend;

import io.starprompt.tensor.Tensor;

/**
 * Inputs of multi-head attention with optional STAR-Prompt conditioning.
 *
 * @param q        queries [B, Nq, H·hd]
 * @param k        keys [B, Nk, H·hd]
 * @param v        values [B, Nk, H·hd]
 * @param prefixK  per-sample prefix keys [B, Lp, H·hd] read in place before the keys, or null
 * @param prefixV  per-sample prefix values [B, Lp, H·hd], null iff prefixK is null
 * @param residual per-sample value offset [B, H·hd] added to every value row, or null
 * @param heads    number of heads H
 * @param scale    score scale, usually 1/√hd
 * @param causal   query i sees main keys j ≤ i (prefix keys always visible)
 */
public record AttentionInputs(Tensor q, Tensor k, Tensor v, Tensor prefixK, Tensor prefixV, Tensor residual,
        int heads, float scale, boolean causal) {

    /** Plain attention with scale 1/√hd. */
    public static AttentionInputs plain(Tensor q, Tensor k, Tensor v, int heads, boolean causal) {
        return new AttentionInputs(q, k, v, null, null, null, heads, defaultScale(q, heads), causal);
    }

    public static float defaultScale(Tensor q, int heads) {
        return (float) (1.0 / Math.sqrt((double) q.dim(-1) / heads));
    }

    /** The same inputs without the residual value offset. */
    public AttentionInputs withoutResidual() {
        return new AttentionInputs(q, k, v, prefixK, prefixV, null, heads, scale, causal);
    }

    public int batch() {
        return (int) q.dim(0);
    }

    public int queries() {
        return (int) q.dim(1);
    }

    public int keys() {
        return (int) k.dim(1);
    }

    public int prefixLength() {
        return prefixK == null ? 0 : (int) prefixK.dim(1);
    }

    public int headDim() {
        return (int) (q.dim(-1) / heads);
    }
}
