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

    private ClipVision(ClipConfig.Vision cfg, PatchEmbedding embedding, Tensor preW, Tensor preB, ClipEncoder encoder,
            Tensor postW, Tensor postB, Tensor projection) {
        this.cfg = cfg;
        this.embedding = embedding;
        this.preW = preW;
        this.preB = preB;
        this.encoder = encoder;
        this.postW = postW;
        this.postB = postB;
        this.projection = projection;
    }

    static ClipVision load(WeightReader r, ClipConfig config) {
        ClipConfig.Vision c = config.vision();
        int w = c.width(), t = c.tokens(), p = c.patchSize();
        Tensor conv = r.load(P + "embeddings.patch_embedding.weight", w, c.channels(), p, p);
        float[] cls = r.read(P + "embeddings.class_embedding", w);
        float[] pos = r.read(P + "embeddings.position_embedding.weight", t, w);
        PatchEmbedding embedding = PatchEmbedding.create(r, c.asVit(), conv, null, cls, pos);
        Tensor preW = r.load(P + "pre_layrnorm.weight", w); // sic: HF's spelling
        Tensor preB = r.load(P + "pre_layrnorm.bias", w);
        ClipEncoder encoder = ClipEncoder.load(r, P, c.layers(), w, c.mlpHidden(), c.heads(), c.layerNormEps(),
                c.activation(), false);
        Tensor postW = r.load(P + "post_layernorm.weight", w);
        Tensor postB = r.load(P + "post_layernorm.bias", w);
        Tensor projection = r.load("visual_projection.weight", config.projectionDim(), w);
        return new ClipVision(c, embedding, preW, preB, encoder, postW, postB, projection);
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
