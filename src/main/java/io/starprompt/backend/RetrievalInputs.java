package io.starprompt.backend;

import io.starprompt.tensor.Tensor;

/**
 * Inputs of the STAR-Prompt key–query retrieval for all prompted layers at once.
 *
 * @param queries  raw CLIP queries [B, d]
 * @param keys     unit first-stage keys of the seen classes [seen, d]
 * @param modulation modulation logits A for every layer [L, C, d]
 * @param prompts  prompt pools P for every layer [L, C, dp]
 * @param seen     classes taking part in the selection (the first {@code seen} rows)
 * @param modulate confidence modulation: scale the prompt by the similarity (else by 1)
 */
public record RetrievalInputs(Tensor queries, Tensor keys, Tensor modulation, Tensor prompts, int seen,
        boolean modulate) {
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
        return (int) modulation.dim(0);
    }

    /**
     * The number of classes C of the pools.
     *
     * @return C
     */
    public int classes() {
        return (int) modulation.dim(1);
    }

    /**
     * The query width d.
     *
     * @return d
     */
    public int queryDim() {
        return (int) queries.dim(1);
    }

    /**
     * The prompt width dp.
     *
     * @return dp
     */
    public int promptDim() {
        return (int) prompts.dim(2);
    }
}
