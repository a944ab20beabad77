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

    /**
     * Plain attention with scale 1/√hd.
     *
     * @param q queries [B, Nq, H·hd]
     * @param k keys [B, Nk, H·hd]
     * @param v values [B, Nk, H·hd]
     * @param heads H
     * @param causal whether query i sees only keys j ≤ i
     * @return the inputs, without prefixes or residual
     */
    public static AttentionInputs plain(Tensor q, Tensor k, Tensor v, int heads, boolean causal) {
        return new AttentionInputs(q, k, v, null, null, null, heads, defaultScale(q, heads), causal);
    }

    /**
     * The usual score scale 1/√hd.
     *
     * @param q queries [B, Nq, H·hd]
     * @param heads H
     * @return 1/√hd
     */
    public static float defaultScale(Tensor q, int heads) {
        return (float) (1.0 / Math.sqrt((double) q.dim(-1) / heads));
    }

    /**
     * The same inputs without the residual value offset.
     *
     * @return a copy with residual null
     */
    public AttentionInputs withoutResidual() {
        return new AttentionInputs(q, k, v, prefixK, prefixV, null, heads, scale, causal);
    }

    /**
     * The batch size B.
     *
     * @return B
     */
    public int batch() {
        return (int) q.dim(0);
    }

    /**
     * The number of query rows Nq.
     *
     * @return Nq
     */
    public int queries() {
        return (int) q.dim(1);
    }

    /**
     * The number of main key rows Nk (prefix rows not counted).
     *
     * @return Nk
     */
    public int keys() {
        return (int) k.dim(1);
    }

    /**
     * The number of prefix rows Lp.
     *
     * @return Lp, 0 without prefixes
     */
    public int prefixLength() {
        return prefixK == null ? 0 : (int) prefixK.dim(1);
    }

    /**
     * The head dimension hd = width / H.
     *
     * @return hd
     */
    public int headDim() {
        return (int) (q.dim(-1) / heads);
    }
}
