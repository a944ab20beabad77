package io.starprompt.model.clip;

import io.starprompt.model.vit.Block;
import io.starprompt.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * The output of a training forward pass of the CLIP text tower ({@link Clip#textForward}) plus
 * exactly what {@link Clip#textBackward} needs: the stream entering each layer, each layer's saved
 * attention and MLP state, the pooled EOS rows and the final LayerNorm's statistics. The weights
 * are frozen, so nothing for weight gradients is kept. Closing frees everything it holds (the
 * tensors also belong to the TensorScope that was open during the forward pass).
 */
public final class TextActivations implements AutoCloseable {
    final ClipText tower;
    final TextBatch batch;
    final int position;      // first replaced token position
    final int contextLength; // number of replaced positions per sequence (nCtx)
    final List<Tensor> streams = new ArrayList<>(); // streams[l] = input of layer l [C, L, D]
    final List<Block.Saved> layers = new ArrayList<>();
    Tensor pooled;                  // last hidden state at each EOS position [C, D], before the final norm
    Tensor finalMean, finalRstd;    // final LayerNorm statistics [C]
    Tensor features;                // projected features [C, projection_dim]
    private boolean closed;

    TextActivations(ClipText tower, TextBatch batch, int position, int contextLength) {
        this.tower = tower;
        this.batch = batch;
        this.position = position;
        this.contextLength = contextLength;
    }

    /**
     * The projected, un-normalised text features [C, projection_dim].
     *
     * @return the features
     */
    public Tensor features() {
        ensureOpen("features");
        return features;
    }

    /**
     * Number of sequences C.
     *
     * @return C
     */
    public int sequences() {
        return batch.sequences();
    }

    /**
     * Tokens per sequence actually computed: the largest EOS position + 1 (ALGORITHM.md §10.4).
     *
     * @return the computed length
     */
    public int computedLength() {
        return batch.length();
    }

    void ensureOpen(String op) {
        if (closed) throw new IllegalStateException(op + ": these CLIP text activations are closed");
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        for (Block.Saved s : layers) s.close();
        for (Tensor t : streams) t.close();
        for (Tensor t : new Tensor[] {pooled, finalMean, finalRstd, features}) {
            if (t != null) t.close();
        }
    }
}
