package io.starprompt.backend.cpu;

import static io.starprompt.nativeapi.NativeLib.check;
import static io.starprompt.nativeapi.StarPromptNative.*;

import io.starprompt.backend.Activation;
import io.starprompt.backend.AdamConfig;
import io.starprompt.backend.AttentionGrads;
import io.starprompt.backend.AttentionInputs;
import io.starprompt.backend.ComponentInputs;
import io.starprompt.backend.HostBackend;
import io.starprompt.backend.KernelRegistry;
import io.starprompt.backend.RetrievalInputs;
import io.starprompt.backend.Staging;
import io.starprompt.nativeapi.NativeLib;
import io.starprompt.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.openblas.global.openblas;

/**
 * Host backend on the native C++ kernels (multithreaded, vectorised) with GEMM from OpenBLAS.
 * bf16 tensors are a storage form: the kernels compute in f32 on staged copies ({@link Staging}).
 * Selectable kernels: gemm = openblas | naive, attention = tiled | naive,
 * retrieval = fused | naive,
 * residual = fused | naive.
 */
public final class CpuBackend extends HostBackend {
    /** A CPU backend; {@code -Dstarprompt.kernel.<op>} properties select its variants. */
    public CpuBackend() {
        super("cpu", new KernelRegistry("cpu", variants()).applyProperties(System.getProperties()));
        NativeLib.load();
    }

    static Map<String, List<String>> variants() {
        Map<String, List<String>> v = new LinkedHashMap<>();
        v.put("gemm", List.of("openblas", "naive"));
        v.put("attention", List.of("tiled", "naive"));
        v.put("retrieval", List.of("fused", "naive"));
        v.put("residual", List.of("fused", "naive"));
        return v;
    }

    /**
     * Threads used by the native CPU kernels (OpenBLAS keeps its own setting).
     *
     * @param n the number of threads; n ≤ 0 restores the default (the hardware's)
     */
    public static void setThreads(int n) {
        NativeLib.load();
        sp_cpu_set_threads(n);
    }

    private boolean naive(String op) {
        return kernels().selected(op).equals("naive");
    }

    /** bf16 operands are staged through f32 scratch ({@link Staging}), so OpenBLAS sgemm does the math. */
    @Override
    protected void doGemm(GemmShape s, Tensor a, Tensor b, Tensor c, float alpha, float beta) {
        try (Staging st = new Staging(this)) {
            FloatPointer ap = st.in(a), bp = st.in(b), cp = beta != 0 ? st.inOut(c) : st.out(c);
            if (naive("gemm")) {
                check(sp_cpu_gemm_naive(s.transA() ? 1 : 0, s.transB() ? 1 : 0, s.m(), s.n(), s.k(), alpha, ap,
                        s.strideA(), bp, s.strideB(), beta, cp, s.strideC(), s.batch()), "gemm");
            } else {
                openblasGemm(s, ap, bp, cp, alpha, beta);
            }
        }
    }

    private static void openblasGemm(GemmShape s, FloatPointer a, FloatPointer b, FloatPointer c, float alpha,
            float beta) {
        int ta = s.transA() ? openblas.CblasTrans : openblas.CblasNoTrans;
        int tb = s.transB() ? openblas.CblasTrans : openblas.CblasNoTrans;
        // Leading dimensions of at least 1 keep OpenBLAS' argument checks quiet for empty sizes.
        int lda = Math.max(1, s.transA() ? s.m() : s.k());
        int ldb = Math.max(1, s.transB() ? s.k() : s.n());
        if (s.m() == 0 || s.n() == 0) return;
        // A batch of row-major [m,k] items times one shared B is a single taller GEMM.
        if (s.batch() > 1 && s.strideB() == 0 && s.strideA() != 0 && !s.transA()) {
            openblas.cblas_sgemm(openblas.CblasRowMajor, ta, tb, s.m() * s.batch(), s.n(), s.k(), alpha, a, lda, b,
                    ldb, beta, c, s.n());
            return;
        }
        for (int i = 0; i < s.batch(); i++) {
            openblas.cblas_sgemm(openblas.CblasRowMajor, ta, tb, s.m(), s.n(), s.k(), alpha,
                    at(a, i * s.strideA()), lda, at(b, i * s.strideB()), ldb, beta, at(c, i * s.strideC()), Math.max(1, s.n()));
        }
    }

    private static FloatPointer at(FloatPointer p, long offset) {
        return offset == 0 ? p : new FloatPointer(p).position(p.position() + offset);
    }

    @Override
    protected void doConvert(Tensor src, Tensor dst) {
        check(sp_cpu_convert(src.pointer(), src.dtype().nativeCode(), dst.pointer(), dst.dtype().nativeCode(),
                src.numel()), "convert");
    }

    @Override
    protected void doAddBias(Tensor x, Tensor bias) {
        try (Staging st = new Staging(this)) {
            check(sp_cpu_add_bias(st.inOut(x), st.in(bias), rows(x), x.dim(-1)), "addBias");
        }
    }

    @Override
    protected void doAddBiasActivation(Activation act, Tensor x, Tensor bias, Tensor y) {
        try (Staging st = new Staging(this)) {
            FloatPointer xp = st.inOut(x), yp = y == x ? xp : st.out(y);
            check(sp_cpu_bias_act_fwd(act == Activation.GELU ? SP_ACT_GELU : SP_ACT_QUICKGELU, xp, st.in(bias), yp,
                    rows(x), x.dim(-1)), "addBiasActivation");
        }
    }

    @Override
    protected void doAxpy(Tensor y, Tensor x, float alpha) {
        try (Staging st = new Staging(this)) {
            check(sp_cpu_axpy(st.inOut(y), st.in(x), alpha, y.numel()), "axpy");
        }
    }

    @Override
    protected void doLayerNorm(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor y, Tensor mean, Tensor rstd) {
        try (Staging st = new Staging(this)) {
            check(sp_cpu_layernorm_fwd(st.in(x), st.in(gamma), st.in(beta), eps, st.out(y), st.out(mean),
                    st.out(rstd), rows(x), x.dim(-1)), "layerNorm");
        }
    }

    @Override
    protected void doLayerNormBackward(Tensor dy, Tensor x, Tensor gamma, Tensor mean, Tensor rstd, Tensor dx,
            Tensor dgamma, Tensor dbeta) {
        try (Staging st = new Staging(this)) {
            check(sp_cpu_layernorm_bwd(st.in(dy), st.in(x), st.in(gamma), st.in(mean), st.in(rstd), st.out(dx),
                    st.inOut(dgamma), st.inOut(dbeta), rows(x), x.dim(-1)), "layerNormBackward");
        }
    }

    @Override
    protected void doActivation(Activation act, Tensor x, Tensor y) {
        try (Staging st = new Staging(this)) {
            FloatPointer xp = st.in(x), yp = st.out(y);
            int status = act == Activation.GELU ? sp_cpu_gelu_fwd(xp, yp, x.numel()) : sp_cpu_quickgelu_fwd(xp, yp, x.numel());
            check(status, "activation");
        }
    }

    @Override
    protected void doActivationBackward(Activation act, Tensor x, Tensor dy, Tensor dx) {
        try (Staging st = new Staging(this)) {
            FloatPointer xp = st.in(x), dyp = st.in(dy), dxp = st.out(dx);
            int status = act == Activation.GELU
                    ? sp_cpu_gelu_bwd(xp, dyp, dxp, x.numel())
                    : sp_cpu_quickgelu_bwd(xp, dyp, dxp, x.numel());
            check(status, "activationBackward");
        }
    }

    @Override
    protected void doSoftmax(Tensor x, Tensor y) {
        try (Staging st = new Staging(this)) {
            check(sp_cpu_softmax_fwd(st.in(x), st.out(y), rows(x), x.dim(-1)), "softmax");
        }
    }

    @Override
    protected void doSoftmaxBackward(Tensor y, Tensor dy, Tensor dx) {
        try (Staging st = new Staging(this)) {
            check(sp_cpu_softmax_bwd(st.in(y), st.in(dy), st.out(dx), rows(y), y.dim(-1)), "softmaxBackward");
        }
    }

    @Override
    protected void doAttention(AttentionInputs in, Tensor out, Tensor lse) {
        try (Staging st = new Staging(this)) {
            FloatPointer q = st.in(in.q()), k = st.in(in.k()), v = st.in(in.v());
            FloatPointer pk = st.in(in.prefixK()), pv = st.in(in.prefixV()), r = st.in(in.residual());
            FloatPointer o = st.out(out), l = st.out(lse);
            int causal = in.causal() ? 1 : 0;
            int status = naive("attention")
                    ? sp_cpu_attention_fwd_naive(q, k, v, pk, pv, r, o, l, in.batch(), in.queries(), in.keys(),
                            in.prefixLength(), in.heads(), in.headDim(), in.scale(), causal)
                    : sp_cpu_attention_fwd_tiled(q, k, v, pk, pv, r, o, l, in.batch(), in.queries(), in.keys(),
                            in.prefixLength(), in.heads(), in.headDim(), in.scale(), causal);
            check(status, "attention");
        }
    }

    @Override
    protected void doAttentionBackward(AttentionInputs in, Tensor out, Tensor lse, Tensor dOut, AttentionGrads g) {
        try (Staging st = new Staging(this)) {
            FloatPointer q = st.in(in.q()), k = st.in(in.k()), v = st.in(in.v());
            FloatPointer pk = st.in(in.prefixK()), pv = st.in(in.prefixV()), r = st.in(in.residual());
            FloatPointer o = st.in(out), l = st.in(lse), d = st.in(dOut);
            FloatPointer dq = st.out(g.dq()), dk = st.out(g.dk()), dv = st.out(g.dv());
            FloatPointer dpk = st.out(g.dPrefixK()), dpv = st.out(g.dPrefixV()), dr = st.out(g.dResidual());
            int causal = in.causal() ? 1 : 0;
            int status = naive("attention")
                    ? sp_cpu_attention_bwd_naive(q, k, v, pk, pv, r, o, l, d, dq, dk, dv, dpk, dpv, dr, in.batch(),
                            in.queries(), in.keys(), in.prefixLength(), in.heads(), in.headDim(), in.scale(), causal)
                    : sp_cpu_attention_bwd_tiled(q, k, v, pk, pv, r, o, l, d, dq, dk, dv, dpk, dpv, dr, in.batch(),
                            in.queries(), in.keys(), in.prefixLength(), in.heads(), in.headDim(), in.scale(), causal);
            check(status, "attentionBackward");
        }
    }

    @Override
    protected void doEmbeddingGather(Tensor table, int[] ids, Tensor out) {
        try (IntPointer p = ints(ids); Staging st = new Staging(this)) {
            check(sp_cpu_embedding_gather(st.in(table), p, st.out(out), ids.length, table.dim(1), table.dim(0)),
                    "embeddingGather");
        }
    }

    @Override
    protected void doEmbeddingScatterAdd(Tensor dOut, int[] ids, Tensor dTable) {
        try (IntPointer p = ints(ids)) {
            check(sp_cpu_embedding_scatter_add(dOut.floatPointer(), p, dTable.floatPointer(), ids.length,
                    dTable.dim(1), dTable.dim(0)), "embeddingScatterAdd");
        }
    }

    @Override
    protected void doTokenSum(Tensor x, Tensor out) {
        try (Staging st = new Staging(this)) {
            check(sp_cpu_token_sum(st.in(x), st.out(out), (int) x.dim(0), (int) x.dim(1), x.dim(2)), "tokenSum");
        }
    }

    @Override
    protected void doTokenGather(Tensor x, int[] idx, Tensor out) {
        try (IntPointer p = ints(idx); Staging st = new Staging(this)) {
            check(sp_cpu_token_gather(st.in(x), p, st.out(out), (int) x.dim(0), (int) x.dim(1), x.dim(2)),
                    "tokenGather");
        }
    }

    @Override
    protected void doTokenScatterAdd(Tensor dOut, int[] idx, Tensor dx) {
        try (IntPointer p = ints(idx); Staging st = new Staging(this)) {
            check(sp_cpu_token_scatter_add(st.in(dOut), p, st.inOut(dx), (int) dx.dim(0), (int) dx.dim(1), dx.dim(2)),
                    "tokenScatterAdd");
        }
    }

    @Override
    protected void doPatchify(Tensor images, int patch, Tensor patches) {
        try (Staging st = new Staging(this)) {
            check(sp_cpu_patchify(st.in(images), st.out(patches), (int) images.dim(0), (int) images.dim(1),
                    (int) images.dim(2), patch), "patchify");
        }
    }

    @Override
    protected void doUnpatchify(Tensor dPatches, int patch, Tensor dImages) {
        try (Staging st = new Staging(this)) {
            check(sp_cpu_unpatchify(st.in(dPatches), st.out(dImages), (int) dImages.dim(0), (int) dImages.dim(1),
                    (int) dImages.dim(2), patch), "unpatchify");
        }
    }

    @Override
    protected float doCrossEntropy(Tensor logits, int[] labels, int lo, int hi, Tensor dlogits) {
        try (IntPointer p = ints(labels); FloatPointer loss = new FloatPointer(1)) {
            check(sp_cpu_cross_entropy(logits.floatPointer(), p, (int) logits.dim(0), (int) logits.dim(1), lo, hi, loss,
                    fp(dlogits)), "crossEntropy");
            return loss.get(0);
        }
    }

    @Override
    protected void doAdamStep(Tensor param, Tensor grad, Tensor m, Tensor v, AdamConfig c, int step) {
        check(sp_cpu_adam_step(param.floatPointer(), grad.floatPointer(), m.floatPointer(), v.floatPointer(),
                param.numel(), c.lr(), c.beta1(), c.beta2(), c.eps(), c.weightDecay(), step), "adamStep");
    }

    @Override
    protected void doSgdStep(Tensor param, Tensor grad, float lr, float weightDecay) {
        check(sp_cpu_sgd_step(param.floatPointer(), grad.floatPointer(), param.numel(), lr, weightDecay), "sgdStep");
    }

    @Override
    protected void doRetrieval(RetrievalInputs in, Tensor sims, Tensor sel, Tensor sp) {
        int status = naive("retrieval")
                ? sp_cpu_retrieval_fwd_naive(in.queries().floatPointer(), in.keys().floatPointer(),
                        in.modulation().floatPointer(), in.prompts().floatPointer(), in.batch(), in.seen(),
                        in.classes(), in.queryDim(), in.promptDim(), in.layers(), in.modulate() ? 1 : 0,
                        sims.floatPointer(), sel.intPointer(), sp.floatPointer())
                : sp_cpu_retrieval_fwd_fused(in.queries().floatPointer(), in.keys().floatPointer(),
                        in.modulation().floatPointer(), in.prompts().floatPointer(), in.batch(), in.seen(),
                        in.classes(), in.queryDim(), in.promptDim(), in.layers(), in.modulate() ? 1 : 0,
                        sims.floatPointer(), sel.intPointer(), sp.floatPointer());
        check(status, "retrieval");
    }

    @Override
    protected void doRetrievalBackward(RetrievalInputs in, Tensor sims, Tensor sel, Tensor dsp, int past, Tensor dA,
            Tensor dP) {
        int status = naive("retrieval")
                ? sp_cpu_retrieval_bwd_naive(in.queries().floatPointer(), in.keys().floatPointer(),
                        in.modulation().floatPointer(), in.prompts().floatPointer(), sims.floatPointer(),
                        sel.intPointer(), dsp.floatPointer(), in.batch(), in.seen(), in.classes(), past,
                        in.queryDim(), in.promptDim(), in.layers(), in.modulate() ? 1 : 0, dA.floatPointer(),
                        dP.floatPointer())
                : sp_cpu_retrieval_bwd_fused(in.queries().floatPointer(), in.keys().floatPointer(),
                        in.modulation().floatPointer(), in.prompts().floatPointer(), sims.floatPointer(),
                        sel.intPointer(), dsp.floatPointer(), in.batch(), in.seen(), in.classes(), past,
                        in.queryDim(), in.promptDim(), in.layers(), in.modulate() ? 1 : 0, dA.floatPointer(),
                        dP.floatPointer());
        check(status, "retrievalBackward");
    }

    @Override
    protected void doComponentWeighting(ComponentInputs in, Tensor alpha, Tensor out) {
        check(sp_cpu_component_weighting_fwd(in.queries().floatPointer(), in.keys().floatPointer(),
                in.attention().floatPointer(), in.components().floatPointer(), in.batch(), in.componentCount(),
                in.used(), in.queryDim(), in.rowWidth(), in.layers(), alpha.floatPointer(), out.floatPointer()),
                "componentWeighting");
    }

    @Override
    protected void doComponentWeightingBackward(ComponentInputs in, Tensor dOut, int from, Tensor dKeys,
            Tensor dAttention, Tensor dComponents) {
        check(sp_cpu_component_weighting_bwd(in.queries().floatPointer(), in.keys().floatPointer(),
                in.attention().floatPointer(), in.components().floatPointer(), dOut.floatPointer(), in.batch(),
                in.componentCount(), in.used(), from, in.queryDim(), in.rowWidth(), in.layers(),
                dKeys.floatPointer(), dAttention.floatPointer(), dComponents.floatPointer()),
                "componentWeightingBackward");
    }

    @Override
    protected void doCosineMatch(Tensor queries, Tensor keys, int topN, boolean batchwise, Tensor scores,
            Tensor selected) {
        check(sp_cpu_cosine_match(queries.floatPointer(), keys.floatPointer(), (int) queries.dim(0),
                (int) keys.dim(0), (int) keys.dim(1), topN, batchwise ? 1 : 0, scores.floatPointer(),
                selected.intPointer()), "cosineMatch");
    }

    @Override
    protected void doCosineMatchBackward(Tensor queries, Tensor keys, Tensor selected, Tensor dSelected,
            Tensor dKeys, Tensor dQueries) {
        check(sp_cpu_cosine_match_bwd(queries.floatPointer(), keys.floatPointer(), selected.intPointer(),
                dSelected.floatPointer(), (int) queries.dim(0), (int) keys.dim(0), (int) keys.dim(1),
                (int) selected.dim(1), dKeys.floatPointer(), fp(dQueries)), "cosineMatchBackward");
    }

    @Override
    protected void doPromptConcat(Tensor tokens, Tensor pool, Tensor selected, Tensor shift, Tensor out) {
        check(sp_cpu_prompt_concat(tokens.floatPointer(), pool.floatPointer(), selected.intPointer(), fp(shift),
                out.floatPointer(), (int) tokens.dim(0), (int) tokens.dim(1), (int) pool.dim(0), (int) pool.dim(1),
                (int) selected.dim(1), tokens.dim(2)), "promptConcat");
    }

    @Override
    protected void doPromptConcatBackward(Tensor dOut, Tensor selected, Tensor dPool, Tensor dTokens) {
        int length = (int) dPool.dim(1), topN = (int) selected.dim(1);
        check(sp_cpu_prompt_concat_bwd(dOut.floatPointer(), selected.intPointer(), dPool.floatPointer(),
                fp(dTokens), (int) dOut.dim(0), (int) dOut.dim(1) - topN * length, (int) dPool.dim(0), length, topN,
                dOut.dim(2)), "promptConcatBackward");
    }

    @Override
    protected void doTokenRangeMean(Tensor x, int from, int count, Tensor out) {
        check(sp_cpu_token_range_mean(x.floatPointer(), out.floatPointer(), (int) x.dim(0), (int) x.dim(1), from,
                count, x.dim(2)), "tokenRangeMean");
    }

    @Override
    protected void doTokenRangeMeanBackward(Tensor dOut, int from, int count, Tensor dx) {
        check(sp_cpu_token_range_mean_bwd(dOut.floatPointer(), dx.floatPointer(), (int) dx.dim(0),
                (int) dx.dim(1), from, count, dx.dim(2)), "tokenRangeMeanBackward");
    }
}
