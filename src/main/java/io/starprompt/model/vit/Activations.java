package io.starprompt.model.vit;

import io.starprompt.backend.Backend;
import io.starprompt.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * The output of a training forward pass of a {@link VisionTransformer} plus exactly what its
 * backward pass needs: the residual stream entering each block, each block's attention inputs,
 * output and log-sum-exp, the post-attention stream, both LayerNorms' statistics and the MLP
 * pre-activation, and the final norm's statistics. No weight gradients are ever needed, so the
 * LayerNorm outputs and GELU outputs are not kept. Closing frees everything it holds (the tensors
 * also belong to the TensorScope that was open during the forward pass).
 */
public final class Activations implements AutoCloseable {
    final VisionTransformer model;
    final int batch;
    final boolean clsOnly;
    final Prompts prompts;
    final List<Tensor> streams = new ArrayList<>(); // stream[0] = embedding, stream[l+1] = block l output
    final List<Block.Saved> blocks = new ArrayList<>();
    Tensor output;                                   // final-normed [B, T, W], or [B, 1, W] when clsOnly
    Tensor finalMean, finalRstd;
    private Tensor pooledCopy;
    private boolean closed;

    Activations(VisionTransformer model, int batch, boolean clsOnly, Prompts prompts) {
        this.model = model;
        this.batch = batch;
        this.clsOnly = clsOnly;
        this.prompts = prompts;
    }

    /**
     * Batch size B.
     *
     * @return B
     */
    public int batch() {
        return batch;
    }

    /**
     * Whether this came from {@code forwardPooled}, which keeps only the CLS row of the last layer.
     *
     * @return whether only the CLS row was kept
     */
    public boolean pooledOnly() {
        return clsOnly;
    }

    /**
     * The prompts the forward pass ran with.
     *
     * @return the prompts
     */
    public Prompts prompts() {
        return prompts;
    }

    /**
     * The final-normed tokens [B, T, W] (timm forward_features); not available after forwardPooled.
     *
     * @return the tokens
     */
    public Tensor tokens() {
        ensureOpen("tokens");
        if (clsOnly) throw new IllegalStateException("tokens: forwardPooled keeps only the CLS token; use pooled()");
        return output;
    }

    /**
     * The pooled feature [B, W]: the CLS token of the final-normed tokens.
     *
     * @return the pooled feature
     */
    public Tensor pooled() {
        ensureOpen("pooled");
        long w = output.dim(2);
        if (clsOnly) return output.reshape(batch, w);
        if (pooledCopy == null) {
            Backend be = model.backend();
            pooledCopy = be.empty(batch, w);
            be.tokenGather(output, new int[batch], pooledCopy);
        }
        return pooledCopy;
    }

    void ensureOpen(String op) {
        if (closed) throw new IllegalStateException(op + ": these ViT activations are closed");
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        for (Block.Saved s : blocks) s.close();
        for (Tensor t : streams) t.close();
        for (Tensor t : new Tensor[] {output, finalMean, finalRstd, pooledCopy}) {
            if (t != null) t.close();
        }
    }
}
