package io.starprompt.model.clip;

import io.starprompt.backend.Backend;
import io.starprompt.backend.Profiler;
import io.starprompt.model.vit.Dense;
import io.starprompt.model.vit.PatchEmbedding;
import io.starprompt.model.vit.WeightReader;
import io.starprompt.tensor.DType;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;

/**
 * HF {@code CLIPVisionTransformer} plus {@code visual_projection}, frozen and forward only:
 * patch conv (no bias) + class embedding + positional embedding → pre_layrnorm → encoder →
 * (last hidden state) → post_layernorm of the CLS token → projection.
 */
final class ClipVision implements AutoCloseable {
    private static final String P = "vision_model.";

    private final ClipConfig.Vision cfg;
    private final PatchEmbedding embedding;
    private final Tensor preW, preB, postW, postB;
    private final ClipEncoder encoder;
    private final Tensor projection; // [projection_dim, width]

    /** Loads the tower's weights; names and shapes follow HF's CLIPVisionTransformer. */
    ClipVision(WeightReader r, ClipConfig config) {
        cfg = config.vision();
        int w = cfg.width(), t = cfg.tokens(), p = cfg.patchSize();
        Tensor conv = r.load(P + "embeddings.patch_embedding.weight", w, cfg.channels(), p, p);
        float[] cls = r.read(P + "embeddings.class_embedding", w);
        float[] pos = r.read(P + "embeddings.position_embedding.weight", t, w);
        embedding = PatchEmbedding.create(r, cfg.asVit(), conv, null, cls, pos);
        preW = r.load(P + "pre_layrnorm.weight", w); // sic: HF's spelling
        preB = r.load(P + "pre_layrnorm.bias", w);
        encoder = ClipEncoder.load(r, P, cfg.layers(), w, cfg.mlpHidden(), cfg.heads(), cfg.layerNormEps(),
                cfg.activation(), false);
        postW = r.load(P + "post_layernorm.weight", w);
        postB = r.load(P + "post_layernorm.bias", w);
        projection = r.load("visual_projection.weight", config.projectionDim(), w);
    }

    /** pixels [B, C, S, S] → the encoder output [B, T, W] before post_layernorm (HF last_hidden_state), f32. */
    Tensor lastHiddenState(Backend be, Tensor pixels) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor stream = encode(be, pixels, false);
            if (stream.dtype() == DType.F32) return scope.retain(stream);
            Tensor out = be.empty(stream.shape());
            be.convert(stream, out);
            return scope.retain(out);
        }
    }

    /** pixels [B, C, S, S] → projected, un-normalised image features [B, projection_dim]. */
    Tensor features(Backend be, Tensor pixels) {
        long b = pixels.dim(0);
        try (TensorScope scope = TensorScope.open()) {
            // Only the CLS token is pooled, so the last layer computes only its row (exact, ALGORITHM.md §10.4).
            Tensor cls = encode(be, pixels, true).reshape(b, cfg.width());
            Tensor normed = layerNorm(be, cls, postW, postB, DType.F32); // the features are f32
            return scope.retain(Dense.forward(be, normed, projection, null));
        }
    }

    private Tensor encode(Backend be, Tensor pixels, boolean lastClsOnly) {
        try (TensorScope scope = TensorScope.open(); Profiler.Scope s = be.profiler().scope("clip.vision")) {
            Tensor tokens = embedding.forward(be, pixels);
            Tensor x = layerNorm(be, tokens, preW, preB, tokens.dtype());
            return scope.retain(encoder.infer(be, x, lastClsOnly));
        }
    }

    /** LayerNorm over the last dimension without keeping statistics; a new tensor of that dtype in the current scope. */
    private Tensor layerNorm(Backend be, Tensor x, Tensor gamma, Tensor beta, DType dtype) {
        long rows = x.numel() / x.dim(-1);
        try (TensorScope scope = TensorScope.open()) {
            Tensor y = be.empty(dtype, x.shape());
            be.layerNorm(x, gamma, beta, cfg.layerNormEps(), y, be.empty(rows), be.empty(rows));
            return scope.retain(y);
        }
    }

    @Override
    public void close() {
        embedding.close();
        encoder.close();
        for (Tensor t : new Tensor[] {preW, preB, postW, postB, projection}) t.close();
    }
}
