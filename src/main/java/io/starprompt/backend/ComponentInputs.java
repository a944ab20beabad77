package io.starprompt.backend;

import io.starprompt.tensor.Tensor;

/**
 * Inputs of CODA-Prompt's component weighting (methods/coda-prompt.md §3) for all prompted layers
 * at once: per layer l, image b and used component k, α[l,b,k] is the cosine of q_b ⊙ A[l,k] to
 * K[l,k], and the image's prompt row is Σ_k α[l,b,k]·P[l,k].
 *
 * @param queries    raw queries q [B, D] (the frozen ViT's [CLS] feature), shared by the layers
 * @param keys       keys K [L, M, D]
 * @param attention  attention vectors A [L, M, D]
 * @param components components P [L, M, R] (a row of R values per component)
 * @param used       components taking part: the first {@code used} of every layer (f_t, ≥ 1)
 */
public record ComponentInputs(Tensor queries, Tensor keys, Tensor attention, Tensor components, int used) {
    /**
     * The batch size B.
     *
     * @return B
     */
    public int batch() {
        return (int) queries.dim(0);
    }

    /**
     * The number of prompted layers L.
     *
     * @return L
     */
    public int layers() {
        return (int) keys.dim(0);
    }

    /**
     * M, the components each layer holds.
     *
     * @return M
     */
    public int componentCount() {
        return (int) keys.dim(1);
    }

    /**
     * D, the width of queries, keys and attention vectors.
     *
     * @return D
     */
    public int queryDim() {
        return (int) queries.dim(1);
    }

    /**
     * R, the values of one component row.
     *
     * @return R
     */
    public int rowWidth() {
        return (int) components.dim(2);
    }
}
