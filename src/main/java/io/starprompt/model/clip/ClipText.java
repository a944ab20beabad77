package io.starprompt.model.clip;

import io.starprompt.backend.Backend;
import io.starprompt.backend.Profiler;
import io.starprompt.model.vit.Block;
import io.starprompt.model.vit.Dense;
import io.starprompt.model.vit.WeightReader;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;

/**
 * HF {@code CLIPTextTransformer} plus {@code text_projection}, frozen: token + positional
 * embedding (optionally with some token embeddings replaced by learnable vectors, the first-stage
 * context) → causal encoder → final_layer_norm → hidden state at the EOS position → projection;
 * and the backward pass to the replaced vectors.
 */
final class ClipText implements AutoCloseable {
    private static final String P = "text_model.";

    private final ClipConfig.Text cfg;
    private final Tensor tokenEmbedding;    // [vocab, D]
    private final Tensor positionEmbedding; // [max_positions, D]
    private final ClipEncoder encoder;
    private final Tensor finalW, finalB;
    private final Tensor projection;        // [projection_dim, D]

    /** Loads the tower's weights; names and shapes follow HF's CLIPTextTransformer. */
    ClipText(WeightReader r, ClipConfig config) {
        cfg = config.text();
        int d = cfg.width();
        tokenEmbedding = r.load(P + "embeddings.token_embedding.weight", cfg.vocabSize(), d);
        positionEmbedding = r.load(P + "embeddings.position_embedding.weight", cfg.maxPositions(), d);
        encoder = ClipEncoder.load(r, P, cfg.layers(), d, cfg.mlpHidden(), cfg.heads(), cfg.layerNormEps(),
                cfg.activation(), true);
        finalW = r.load(P + "final_layer_norm.weight", d);
        finalB = r.load(P + "final_layer_norm.bias", d);
        projection = r.load("text_projection.weight", config.projectionDim(), d);
    }

    /**
     * Inference: projected features [C, projection_dim] as a new tensor in the current scope.
     * replaced (nullable) [C, nCtx, D] overrides the token embeddings at positions [position,
     * position + nCtx) of every sequence. Each layer's stream is freed as soon as the next exists.
     */
    Tensor infer(Backend be, TextBatch batch, Tensor replaced, int position) {
        try (TensorScope scope = TensorScope.open(); Profiler.Scope text = be.profiler().scope("clip.text")) {
            Tensor x = embed(be, batch, replaced, position);
            for (int l = 0; l < encoder.layers.length; l++) {
                Tensor next;
                try (Profiler.Scope s = be.profiler().scope("layer", l)) {
                    next = encoder.layers[l].forward(be, x, Block.LayerPrompt.NONE, false, null);
                }
                x.close();
                x = next;
            }
            Tensor pooled = be.empty(batch.sequences(), cfg.width());
            be.tokenGather(x, batch.eos(), pooled);
            int n = batch.sequences();
            return scope.retain(project(be, pooled, be.empty(n), be.empty(n)));
        }
    }

    /**
     * Training forward: as {@link #infer}, keeping in act (whose tensors stay in the current scope)
     * everything the backward needs; the features are act.features.
     */
    void train(Backend be, TextBatch batch, Tensor replaced, int position, TextActivations act) {
        try (Profiler.Scope text = be.profiler().scope("clip.text")) {
            trainLayers(be, batch, replaced, position, act);
        }
    }

    private void trainLayers(Backend be, TextBatch batch, Tensor replaced, int position, TextActivations act) {
        Tensor x = embed(be, batch, replaced, position);
        for (int l = 0; l < encoder.layers.length; l++) {
            act.streams.add(x);
            Block.Saved saved = new Block.Saved();
            act.layers.add(saved);
            try (Profiler.Scope s = be.profiler().scope("layer", l)) {
                x = encoder.layers[l].forward(be, x, Block.LayerPrompt.NONE, false, saved);
            }
        }
        int n = batch.sequences();
        act.pooled = be.empty(n, cfg.width());
        be.tokenGather(x, batch.eos(), act.pooled);
        x.close(); // only the pooled rows of the last layer's output matter
        act.finalMean = be.empty(n);
        act.finalRstd = be.empty(n);
        act.features = project(be, act.pooled, act.finalMean, act.finalRstd);
    }

    /**
     * Final LayerNorm of the pooled rows [C, D] (statistics into mean, rstd) and projection: the
     * features [C, projection_dim] in the current scope. The norm acts per token, so normalising
     * only the pooled rows is exact.
     */
    private Tensor project(Backend be, Tensor pooled, Tensor mean, Tensor rstd) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor normed = be.empty(pooled.shape());
            be.layerNorm(pooled, finalW, finalB, cfg.layerNormEps(), normed, mean, rstd);
            return scope.retain(Dense.forward(be, normed, projection, null));
        }
    }

    /** Token embeddings (some replaced) plus positional embeddings: [C, L, D] in the current scope. */
    private Tensor embed(Backend be, TextBatch batch, Tensor replaced, int position) {
        int n = batch.sequences(), len = batch.length(), d = cfg.width();
        Tensor x = be.empty(tokenEmbedding.dtype(), n, len, d); // the tower's activation dtype
        Tensor rows = x.reshape((long) n * len, d);
        be.embeddingGather(tokenEmbedding, batch.ids(), rows);
        if (replaced != null) {
            long ctx = replaced.dim(1);
            for (int c = 0; c < n; c++) {
                be.convert(replaced.rows(c, 1).reshape(ctx, d), rows.rows((long) c * len + position, ctx));
            }
        }
        // Position p of every sequence gets position_embedding[p]: one bias over the flattened [L·D] rows.
        be.addBias(x.reshape(n, (long) len * d), positionEmbedding.rows(0, len).reshape((long) len * d));
        return x;
    }

    /**
     * Gradient of the replaced vectors [C, nCtx, D] (a new tensor in the current scope) from the
     * gradient of the features dFeatures [C, projection_dim]; weights get none (frozen).
     */
    Tensor backward(Backend be, TextActivations act, Tensor dFeatures) {
        TextBatch batch = act.batch;
        int n = batch.sequences(), len = batch.length(), d = cfg.width();
        long ctx = act.contextLength;
        try (TensorScope scope = TensorScope.open(); Profiler.Scope text = be.profiler().scope("clip.text")) {
            Tensor dNormed = Dense.backward(be, dFeatures, projection);
            Tensor dPooled = be.empty(n, d);
            be.layerNormBackward(dNormed, act.pooled, finalW, act.finalMean, act.finalRstd, dPooled, null, null);
            Tensor dx = be.zeros(n, len, d); // gradients stay f32 whatever the activations' dtype
            be.tokenScatterAdd(dPooled, batch.eos(), dx);
            for (int l = encoder.layers.length - 1; l >= 0; l--) {
                Tensor next;
                try (Profiler.Scope s = be.profiler().scope("layer", l)) {
                    next = encoder.layers[l].backward(be, act.layers.get(l), dx, true, null, null, null);
                }
                dx.close(); // keep one layer's stream gradient at a time
                dx = next;
            }
            // The replaced vectors took the place of token embeddings: their gradient is dx there.
            Tensor dReplaced = be.empty(n, ctx, d);
            Tensor rows = dx.reshape((long) n * len, d);
            for (int c = 0; c < n; c++) {
                be.convert(rows.rows((long) c * len + act.position, ctx), dReplaced.rows(c, 1).reshape(ctx, d));
            }
            return scope.retain(dReplaced);
        }
    }

    @Override
    public void close() {
        encoder.close();
        for (Tensor t : new Tensor[] {tokenEmbedding, positionEmbedding, finalW, finalB, projection}) t.close();
    }
}
