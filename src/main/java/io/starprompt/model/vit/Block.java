package io.starprompt.model.vit;

import io.starprompt.backend.Activation;
import io.starprompt.backend.AttentionGrads;
import io.starprompt.backend.AttentionInputs;
import io.starprompt.backend.Backend;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;

/**
 * One pre-LN timm ViT block with frozen weights:
 * h = x + proj(attn(LN1(x))), out = h + fc2(GELU(fc1(LN2(h)))).
 *
 * <p>In CLS-only mode (the last block of a pooled pass, spec §10.4) keys and values still come
 * from every token but queries, the attention output, the MLP and the output are the CLS row only
 * ([B, 1, W]); since LayerNorm and the MLP act per token this is exact.
 */
final class Block implements AutoCloseable {
    private final int heads;
    private final Tensor norm1W, norm1B, norm2W, norm2B;
    private final Tensor qkvW, qkvB;          // owners of the fused [3W, W] and [3W] checkpoint tensors
    private final Tensor qW, kW, vW, qB, kB, vB; // contiguous row views of qkv: rows [0,W), [W,2W), [2W,3W)
    private final Tensor projW, projB, fc1W, fc1B, fc2W, fc2B;

    private Block(WeightReader r, String p, VitConfig cfg) {
        long w = cfg.width(), m = cfg.mlpHidden();
        heads = cfg.heads();
        norm1W = r.load(p + "norm1.weight", w);
        norm1B = r.load(p + "norm1.bias", w);
        qkvW = r.load(p + "attn.qkv.weight", 3 * w, w);
        qkvB = r.load(p + "attn.qkv.bias", 3 * w);
        qW = qkvW.rows(0, w);
        kW = qkvW.rows(w, w);
        vW = qkvW.rows(2 * w, w);
        qB = qkvB.rows(0, w);
        kB = qkvB.rows(w, w);
        vB = qkvB.rows(2 * w, w);
        projW = r.load(p + "attn.proj.weight", w, w);
        projB = r.load(p + "attn.proj.bias", w);
        norm2W = r.load(p + "norm2.weight", w);
        norm2B = r.load(p + "norm2.bias", w);
        fc1W = r.load(p + "mlp.fc1.weight", m, w);
        fc1B = r.load(p + "mlp.fc1.bias", m);
        fc2W = r.load(p + "mlp.fc2.weight", w, m);
        fc2B = r.load(p + "mlp.fc2.bias", w);
    }

    static Block load(WeightReader r, VitConfig cfg, int index) {
        return new Block(r, "blocks." + index + ".", cfg);
    }

    /** The prompt of this block's attention (all null = unprompted). */
    record LayerPrompt(Tensor residual, Tensor prefixKeys, Tensor prefixValues) {
        boolean present() {
            return residual != null || prefixKeys != null;
        }
    }

    /** What the backward pass of one block needs from its forward pass; owns all but x and the prompt. */
    static final class Saved implements AutoCloseable {
        Tensor x;                      // block input [B, T, W] (owned by the activations' stream list)
        LayerPrompt prompt;            // the caller's prompt tensors
        boolean clsOnly;
        Tensor mean1, rstd1;           // LN1 statistics [B, T]
        Tensor q, k, v, attn, lse;     // attention inputs, output [B, Nq, W] and log-sum-exp [B, H, Nq]
        Tensor h, mean2, rstd2;        // residual stream after attention [B, Nq, W], LN2 statistics
        Tensor fc1;                    // MLP pre-activation [B, Nq, M] (for the GELU derivative)

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
     */
    Tensor forward(Backend be, Tensor x, LayerPrompt prompt, boolean clsOnly, Saved save) {
        long b = x.dim(0), t = x.dim(1);
        try (TensorScope scope = TensorScope.open()) {
            Tensor mean1 = be.empty(b, t), rstd1 = be.empty(b, t), ln1 = be.empty(x.shape());
            be.layerNorm(x, norm1W, norm1B, VitConfig.LAYER_NORM_EPS, ln1, mean1, rstd1);
            // Queries (and the residual stream they update) are every token, or only the CLS row.
            Tensor xq = clsOnly ? clsRow(be, x) : x;
            Tensor q = Dense.forward(be, clsOnly ? clsRow(be, ln1) : ln1, qW, qB);
            Tensor k = Dense.forward(be, ln1, kW, kB);
            Tensor v = Dense.forward(be, ln1, vW, vB);
            Tensor attn = be.empty(q.shape()), lse = be.empty(b, heads, q.dim(1));
            be.attention(inputs(q, k, v, prompt), attn, lse);

            Tensor h = Dense.forward(be, attn, projW, projB);
            be.axpy(h, xq, 1f);
            Tensor mean2 = be.empty(b, h.dim(1)), rstd2 = be.empty(b, h.dim(1)), ln2 = be.empty(h.shape());
            be.layerNorm(h, norm2W, norm2B, VitConfig.LAYER_NORM_EPS, ln2, mean2, rstd2);
            Tensor fc1 = Dense.forward(be, ln2, fc1W, fc1B);
            Tensor act = be.empty(fc1.shape());
            be.activation(Activation.GELU, fc1, act);
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
     */
    Tensor backward(Backend be, Saved s, Tensor dOut, boolean needInputGrad, Tensor dResidual, Tensor dPrefixKeys,
            Tensor dPrefixValues) {
        try (TensorScope scope = TensorScope.open()) {
            // MLP branch: out = h + fc2(GELU(fc1(LN2(h)))).
            Tensor dAct = Dense.backward(be, dOut, fc2W);
            Tensor dFc1 = be.empty(dAct.shape());
            be.activationBackward(Activation.GELU, s.fc1, dAct, dFc1);
            Tensor dLn2 = Dense.backward(be, dFc1, fc1W);
            Tensor dh = be.empty(s.h.shape());
            be.layerNormBackward(dLn2, s.h, norm2W, s.mean2, s.rstd2, dh, null, null);
            be.axpy(dh, dOut, 1f);

            // Attention branch: h = x + proj(attn).
            Tensor dAttn = Dense.backward(be, dh, projW);
            if (!needInputGrad && s.prompt.prefixKeys() == null) {
                // Residual only: the prompt's gradient is Σ_tokens dAttn (softmax rows sum to 1), no
                // attention backward needed (spec §10.1: "at layer 0 stop after dsp^0").
                be.tokenSum(dAttn, dResidual);
                return null;
            }
            // dq, dk, dv are always given: AttentionGrads allows null, but the CPU kernel rejects it.
            Tensor dq = be.empty(s.q.shape()), dk = be.empty(s.k.shape()), dv = be.empty(s.v.shape());
            be.attentionBackward(inputs(s.q, s.k, s.v, s.prompt), s.attn, s.lse, dAttn,
                    new AttentionGrads(dq, dk, dv, dPrefixKeys, dPrefixValues, dResidual));
            if (!needInputGrad) return null;

            // dLN1 = dq·Wq + dk·Wk + dv·Wv; in CLS-only mode dq feeds the CLS row alone.
            Tensor dLn1 = be.empty(s.x.shape());
            Dense.backwardInto(be, dk, kW, dLn1, false);
            Dense.backwardInto(be, dv, vW, dLn1, true);
            if (s.clsOnly) addToClsRow(be, Dense.backward(be, dq, qW), dLn1);
            else Dense.backwardInto(be, dq, qW, dLn1, true);
            Tensor dx = be.empty(s.x.shape());
            be.layerNormBackward(dLn1, s.x, norm1W, s.mean1, s.rstd1, dx, null, null);
            if (s.clsOnly) addToClsRow(be, dh, dx);
            else be.axpy(dx, dh, 1f);
            return scope.retain(dx);
        }
    }

    private AttentionInputs inputs(Tensor q, Tensor k, Tensor v, LayerPrompt p) {
        return new AttentionInputs(q, k, v, p.prefixKeys(), p.prefixValues(), p.residual(), heads,
                AttentionInputs.defaultScale(q, heads), false);
    }

    /** The CLS row (token 0) of every sample, [B, 1, W], as a new tensor in the current scope. */
    private static Tensor clsRow(Backend be, Tensor x) {
        long b = x.dim(0), w = x.dim(2);
        Tensor out = be.empty(b, 1, w);
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

    @Override
    public void close() {
        for (Tensor t : new Tensor[] {norm1W, norm1B, qkvW, qkvB, projW, projB, norm2W, norm2B, fc1W, fc1B, fc2W,
                fc2B}) {
            if (t != null) t.close();
        }
    }
}
