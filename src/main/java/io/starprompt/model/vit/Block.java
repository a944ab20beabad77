package io.starprompt.model.vit;

import io.starprompt.backend.Activation;
import io.starprompt.backend.AttentionGrads;
import io.starprompt.backend.AttentionInputs;
import io.starprompt.backend.Backend;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One pre-LN transformer block with frozen weights, shared by the timm ViT and both CLIP towers:
 * h = x + out_proj(attn(LN1(x))), out = h + fc2(act(fc1(LN2(h)))). What differs between the
 * models (LayerNorm eps, MLP activation, causal self-attention) is its {@link Kind}.
 *
 * <p>In CLS-only mode (the last block of a pooled pass, ALGORITHM.md §10.4) keys and values still come
 * from every token but queries, the attention output, the MLP and the output are the CLS row only
 * ([B, 1, W]); since LayerNorm and the MLP act per token this is exact. It is not available for
 * causal blocks (there the CLS row would see only itself).
 */
public final class Block implements AutoCloseable {
    /**
     * How a block computes.
     *
     * @param layerNormEps epsilon of both LayerNorms
     * @param activation   the MLP activation
     * @param causal       token i attends to tokens j ≤ i only (the CLIP text tower)
     */
    public record Kind(float layerNormEps, Activation activation, boolean causal) {
        /** timm ViT: eps 1e-6, exact GELU, bidirectional. */
        public static final Kind TIMM_VIT = new Kind(VitConfig.LAYER_NORM_EPS, Activation.GELU, false);

        /**
         * Validates: eps positive, an activation given.
         *
         * @param layerNormEps epsilon of both LayerNorms
         * @param activation the MLP activation
         * @param causal token i attends to tokens j ≤ i only
         */
        public Kind {
            Objects.requireNonNull(activation, "activation");
            if (!(layerNormEps > 0)) throw new IllegalArgumentException("LayerNorm eps must be positive, got " + layerNormEps);
        }
    }

    /**
     * The frozen weights of one block; linear weights are [out, in] (nn.Linear layout). The q, k and v
     * tensors may be row views of one fused qkv tensor.
     */
    public record Weights(Tensor norm1W, Tensor norm1B, Tensor qW, Tensor qB, Tensor kW, Tensor kB, Tensor vW,
            Tensor vB, Tensor projW, Tensor projB, Tensor norm2W, Tensor norm2B, Tensor fc1W, Tensor fc1B, Tensor fc2W,
            Tensor fc2B) {
        Tensor[] all() {
            return new Tensor[] {norm1W, norm1B, qW, qB, kW, kB, vW, vB, projW, projB, norm2W, norm2B, fc1W, fc1B,
                    fc2W, fc2B};
        }
    }

    private final Kind kind;
    private final int heads;
    private final List<Tensor> owned = new ArrayList<>(); // closed with the block (views among them are no-ops)
    private final Tensor norm1W, norm1B, norm2W, norm2B;
    private final Tensor qW, kW, vW, qB, kB, vB;
    private final Tensor projW, projB, fc1W, fc1B, fc2W, fc2B;

    /**
     * A block over the given weights, which it owns from now on (closing the block closes them and
     * extraOwners, e.g. the fused tensor that q, k and v are views of).
     *
     * @param kind how the block computes
     * @param heads the attention heads
     * @param w the weights
     * @param extraOwners further tensors the block closes with its weights
     */
    public Block(Kind kind, int heads, Weights w, Tensor... extraOwners) {
        this.kind = Objects.requireNonNull(kind, "kind");
        this.heads = heads;
        norm1W = w.norm1W();
        norm1B = w.norm1B();
        qW = w.qW();
        qB = w.qB();
        kW = w.kW();
        kB = w.kB();
        vW = w.vW();
        vB = w.vB();
        projW = w.projW();
        projB = w.projB();
        norm2W = w.norm2W();
        norm2B = w.norm2B();
        fc1W = w.fc1W();
        fc1B = w.fc1B();
        fc2W = w.fc2W();
        fc2B = w.fc2B();
        owned.addAll(List.of(w.all()));
        owned.addAll(List.of(extraOwners));
    }

    /** Block {@code index} of a timm ViT state dict (fused qkv, timm names). */
    static Block load(WeightReader r, VitConfig cfg, int index) {
        String p = "blocks." + index + ".";
        long w = cfg.width(), m = cfg.mlpHidden();
        Tensor norm1W = r.load(p + "norm1.weight", w);
        Tensor norm1B = r.load(p + "norm1.bias", w);
        Tensor qkvW = r.load(p + "attn.qkv.weight", 3 * w, w);
        Tensor qkvB = r.load(p + "attn.qkv.bias", 3 * w);
        Tensor projW = r.load(p + "attn.proj.weight", w, w);
        Tensor projB = r.load(p + "attn.proj.bias", w);
        Tensor norm2W = r.load(p + "norm2.weight", w);
        Tensor norm2B = r.load(p + "norm2.bias", w);
        Tensor fc1W = r.load(p + "mlp.fc1.weight", m, w);
        Tensor fc1B = r.load(p + "mlp.fc1.bias", m);
        Tensor fc2W = r.load(p + "mlp.fc2.weight", w, m);
        Tensor fc2B = r.load(p + "mlp.fc2.bias", w);
        // q, k, v are contiguous row views of the fused qkv: rows [0,W), [W,2W), [2W,3W).
        Weights weights = new Weights(norm1W, norm1B, qkvW.rows(0, w), qkvB.rows(0, w), qkvW.rows(w, w),
                qkvB.rows(w, w), qkvW.rows(2 * w, w), qkvB.rows(2 * w, w), projW, projB, norm2W, norm2B, fc1W, fc1B,
                fc2W, fc2B);
        return new Block(Kind.TIMM_VIT, cfg.heads(), weights, qkvW, qkvB);
    }

    /** The prompt of this block's attention (all null = unprompted). */
    public record LayerPrompt(Tensor residual, Tensor prefixKeys, Tensor prefixValues) {
        /** No prompt. */
        public static final LayerPrompt NONE = new LayerPrompt(null, null, null);

        boolean present() {
            return residual != null || prefixKeys != null;
        }
    }

    /** What the backward pass of one block needs from its forward pass; owns all but x and the prompt. */
    public static final class Saved implements AutoCloseable {
        Tensor x;                      // block input [B, T, W] (owned by the activations' stream list)
        LayerPrompt prompt;            // the caller's prompt tensors
        boolean clsOnly;
        Tensor mean1, rstd1;           // LN1 statistics [B, T]
        Tensor q, k, v, attn, lse;     // attention inputs, output [B, Nq, W] and log-sum-exp [B, H, Nq]
        Tensor h, mean2, rstd2;        // residual stream after attention [B, Nq, W], LN2 statistics
        Tensor fc1;                    // MLP pre-activation [B, Nq, M] (for the activation's derivative)

        /** An empty record, filled by {@link #forward}. */
        public Saved() {}

        @Override
        public void close() {
            for (Tensor t : new Tensor[] {mean1, rstd1, q, k, v, attn, lse, h, mean2, rstd2, fc1}) {
                if (t != null) t.close();
            }
        }
    }

    /**
     * Runs the block on x [B, T, W]; returns [B, T, W], or [B, 1, W] (the CLS row) in CLS-only mode,
     * as a new tensor in the current scope. Fills save (nullable) with what the backward needs.
     *
     * @param be the backend
     * @param x input [B, T, W]
     * @param prompt the layer's prompt (or {@link LayerPrompt#NONE})
     * @param clsOnly whether to compute the CLS row only
     * @param save what the backward needs is kept here, or null
     * @return the output
     */
    public Tensor forward(Backend be, Tensor x, LayerPrompt prompt, boolean clsOnly, Saved save) {
        if (clsOnly && kind.causal()) throw new IllegalArgumentException("forward: CLS-only mode of a causal block");
        long b = x.dim(0), t = x.dim(1);
        float eps = kind.layerNormEps();
        try (TensorScope scope = TensorScope.open()) {
            // Activations are stored in the input's dtype (bf16 in a bf16 tower); statistics stay f32.
            Tensor mean1 = be.empty(b, t), rstd1 = be.empty(b, t), ln1 = be.empty(x.dtype(), x.shape());
            be.layerNorm(x, norm1W, norm1B, eps, ln1, mean1, rstd1);
            // Queries (and the residual stream they update) are every token, or only the CLS row.
            Tensor xq = clsOnly ? clsRow(be, x) : x;
            Tensor q = Dense.forward(be, clsOnly ? clsRow(be, ln1) : ln1, qW, qB);
            Tensor k = Dense.forward(be, ln1, kW, kB);
            Tensor v = Dense.forward(be, ln1, vW, vB);
            Tensor attn = be.empty(q.dtype(), q.shape()), lse = be.empty(b, heads, q.dim(1));
            be.attention(inputs(q, k, v, prompt), attn, lse);

            Tensor h = Dense.forward(be, attn, projW, projB);
            be.axpy(h, xq, 1f);
            Tensor mean2 = be.empty(b, h.dim(1)), rstd2 = be.empty(b, h.dim(1)), ln2 = be.empty(h.dtype(), h.shape());
            be.layerNorm(h, norm2W, norm2B, eps, ln2, mean2, rstd2);
            // fc1's bias and the activation run as one pass; inference overwrites the pre-activation.
            Tensor fc1 = Dense.forward(be, ln2, fc1W, null);
            Tensor act = save != null ? be.empty(fc1.dtype(), fc1.shape()) : fc1;
            be.addBiasActivation(kind.activation(), fc1, fc1B, act);
            Tensor out = Dense.forward(be, act, fc2W, fc2B);
            be.axpy(out, h, 1f);

            if (save != null) {
                save.x = x;
                save.prompt = prompt;
                save.clsOnly = clsOnly;
                save.mean1 = scope.retain(mean1);
                save.rstd1 = scope.retain(rstd1);
                save.q = scope.retain(q);
                save.k = scope.retain(k);
                save.v = scope.retain(v);
                save.attn = scope.retain(attn);
                save.lse = scope.retain(lse);
                save.h = scope.retain(h);
                save.mean2 = scope.retain(mean2);
                save.rstd2 = scope.retain(rstd2);
                save.fc1 = scope.retain(fc1);
            }
            return scope.retain(out);
        }
    }

    /**
     * Backward from dOut (gradient of this block's output, shaped like it). Writes the prompt
     * gradients into dResidual / dPrefixKeys / dPrefixValues (given iff the layer is prompted) and
     * returns the gradient of the block input [B, T, W] as a new tensor in the current scope, or
     * null when needInputGrad is false (the lowest layer that matters: stop after its prompt).
     *
     * @param be the backend
     * @param s what the forward kept
     * @param dOut gradient of the output
     * @param needInputGrad whether the input's gradient is wanted
     * @param dResidual gradient of the residual prompt, or null
     * @param dPrefixKeys gradient of the prefix keys, or null
     * @param dPrefixValues gradient of the prefix values, or null
     * @return the input's gradient, or null
     */
    public Tensor backward(Backend be, Saved s, Tensor dOut, boolean needInputGrad, Tensor dResidual, Tensor dPrefixKeys,
            Tensor dPrefixValues) {
        try (TensorScope scope = TensorScope.open()) {
            // MLP branch: out = h + fc2(act(fc1(LN2(h)))).
            Tensor dAct = Dense.backward(be, dOut, fc2W);
            Tensor dFc1 = be.empty(dAct.dtype(), dAct.shape());
            be.activationBackward(kind.activation(), s.fc1, dAct, dFc1);
            Tensor dLn2 = Dense.backward(be, dFc1, fc1W);
            Tensor dh = be.empty(dOut.dtype(), s.h.shape());
            be.layerNormBackward(dLn2, s.h, norm2W, s.mean2, s.rstd2, dh, null, null);
            be.axpy(dh, dOut, 1f);

            // Attention branch: h = x + proj(attn).
            Tensor dAttn = Dense.backward(be, dh, projW);
            if (!needInputGrad && s.prompt.prefixKeys() == null) {
                // Residual only: the prompt's gradient is Σ_tokens dAttn (softmax rows sum to 1), no
                // attention backward needed (ALGORITHM.md §10.1: "at layer 0 stop after dsp^0").
                be.tokenSum(dAttn, dResidual);
                return null;
            }
            // dq, dk, dv are always given: AttentionGrads allows null, but the CPU kernel rejects it.
            Tensor dq = be.empty(dAttn.dtype(), s.q.shape()), dk = be.empty(dAttn.dtype(), s.k.shape());
            Tensor dv = be.empty(dAttn.dtype(), s.v.shape());
            be.attentionBackward(inputs(s.q, s.k, s.v, s.prompt), s.attn, s.lse, dAttn,
                    new AttentionGrads(dq, dk, dv, dPrefixKeys, dPrefixValues, dResidual));
            if (!needInputGrad) return null;

            // dLN1 = dq·Wq + dk·Wk + dv·Wv; in CLS-only mode dq feeds the CLS row alone.
            Tensor dLn1 = be.empty(dq.dtype(), s.x.shape());
            Dense.backwardInto(be, dk, kW, dLn1, false);
            Dense.backwardInto(be, dv, vW, dLn1, true);
            if (s.clsOnly) addToClsRow(be, Dense.backward(be, dq, qW), dLn1);
            else Dense.backwardInto(be, dq, qW, dLn1, true);
            Tensor dx = be.empty(dq.dtype(), s.x.shape());
            be.layerNormBackward(dLn1, s.x, norm1W, s.mean1, s.rstd1, dx, null, null);
            if (s.clsOnly) addToClsRow(be, dh, dx);
            else be.axpy(dx, dh, 1f);
            return scope.retain(dx);
        }
    }

    private AttentionInputs inputs(Tensor q, Tensor k, Tensor v, LayerPrompt p) {
        return new AttentionInputs(q, k, v, p.prefixKeys(), p.prefixValues(), p.residual(), heads,
                AttentionInputs.defaultScale(q, heads), kind.causal());
    }

    /** The CLS row (token 0) of every sample, [B, 1, W], as a new tensor in the current scope. */
    private static Tensor clsRow(Backend be, Tensor x) {
        long b = x.dim(0), w = x.dim(2);
        Tensor out = be.empty(x.dtype(), b, 1, w);
        be.tokenGather(x, clsIndex(b), out.reshape(b, w));
        return out;
    }

    /** dx[b, 0, :] += d[b, 0, :] for d [B, 1, W], dx [B, T, W]. */
    private static void addToClsRow(Backend be, Tensor d, Tensor dx) {
        long b = dx.dim(0);
        be.tokenScatterAdd(d.reshape(b, dx.dim(2)), clsIndex(b), dx);
    }

    private static int[] clsIndex(long batch) {
        return new int[(int) batch]; // token 0 of every sample
    }

    /** Frees the weights. Idempotent (closing a tensor twice, or a view, does nothing). */
    @Override
    public void close() {
        for (Tensor t : owned) {
            if (t != null) t.close();
        }
    }
}
