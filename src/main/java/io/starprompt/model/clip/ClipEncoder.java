package io.starprompt.model.clip;

import io.starprompt.backend.Activation;
import io.starprompt.backend.Backend;
import io.starprompt.backend.Profiler;
import io.starprompt.model.vit.Block;
import io.starprompt.model.vit.WeightReader;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;

/**
 * The stack of pre-LN encoder layers of one CLIP tower ({@code <tower>.encoder.layers.{i}.*}), each
 * a shared {@link Block} with CLIP's LayerNorm eps, activation and (text tower) causal mask.
 */
final class ClipEncoder implements AutoCloseable {
    final Block[] layers;

    private ClipEncoder(Block[] layers) {
        this.layers = layers;
    }

    /**
     * Loads {@code layers} encoder layers named {@code <prefix>encoder.layers.{i}.*}; the caller's
     * reader frees them if a later tensor fails.
     */
    static ClipEncoder load(WeightReader r, String prefix, int layers, int width, int mlpHidden, int heads, float eps,
            Activation activation, boolean causal) {
        Block.Kind kind = new Block.Kind(eps, activation, causal);
        Block[] blocks = new Block[layers];
        for (int i = 0; i < layers; i++) blocks[i] = layer(r, prefix + "encoder.layers." + i + ".", width, mlpHidden, heads, kind);
        return new ClipEncoder(blocks);
    }

    private static Block layer(WeightReader r, String p, long w, long m, int heads, Block.Kind kind) {
        return new Block(kind, heads, new Block.Weights(
                r.load(p + "layer_norm1.weight", w), r.load(p + "layer_norm1.bias", w),
                r.load(p + "self_attn.q_proj.weight", w, w), r.load(p + "self_attn.q_proj.bias", w),
                r.load(p + "self_attn.k_proj.weight", w, w), r.load(p + "self_attn.k_proj.bias", w),
                r.load(p + "self_attn.v_proj.weight", w, w), r.load(p + "self_attn.v_proj.bias", w),
                r.load(p + "self_attn.out_proj.weight", w, w), r.load(p + "self_attn.out_proj.bias", w),
                r.load(p + "layer_norm2.weight", w), r.load(p + "layer_norm2.bias", w),
                r.load(p + "mlp.fc1.weight", m, w), r.load(p + "mlp.fc1.bias", m),
                r.load(p + "mlp.fc2.weight", w, m), r.load(p + "mlp.fc2.bias", w)));
    }

    /**
     * Inference through every layer, keeping only one layer's stream alive at a time. With
     * lastClsOnly the last layer computes the CLS row only and the result is [B, 1, W], else
     * [B, T, W]; a new tensor in the current scope (x itself is left alone). There is always at
     * least one layer (the config requires it).
     */
    Tensor infer(Backend be, Tensor x, boolean lastClsOnly) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor cur = x;
            for (int l = 0; l < layers.length; l++) {
                boolean clsOnly = lastClsOnly && l == layers.length - 1;
                Tensor next;
                try (Profiler.Scope s = be.profiler().scope("layer", l)) {
                    next = layers[l].forward(be, cur, Block.LayerPrompt.NONE, clsOnly, null);
                }
                if (cur != x) cur.close();
                cur = next;
            }
            return scope.retain(cur);
        }
    }

    @Override
    public void close() {
        for (Block b : layers) {
            if (b != null) b.close();
        }
    }
}
