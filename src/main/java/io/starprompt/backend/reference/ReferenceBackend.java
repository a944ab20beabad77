package io.starprompt.backend.reference;

import io.starprompt.backend.Activation;
import io.starprompt.backend.AdamConfig;
import io.starprompt.backend.AttentionGrads;
import io.starprompt.backend.AttentionInputs;
import io.starprompt.backend.ComponentInputs;
import io.starprompt.backend.HostBackend;
import io.starprompt.backend.KernelRegistry;
import io.starprompt.backend.RetrievalInputs;
import io.starprompt.tensor.Tensor;
import java.util.List;
import java.util.Map;

/**
 * The oracle: every op as plain Java loops with float64 accumulation (the kernels of this package).
 * Tensors live in host memory; each op copies its inputs to Java arrays, computes, and writes
 * its outputs back. Slow by design; use it to check the other backends, not to train.
 */
public final class ReferenceBackend extends HostBackend {
    /**
     * A reference backend; {@code -Dstarprompt.kernel.<op>} properties are applied (it has one variant per
     * op).
     */
    public ReferenceBackend() {
        super("reference", new KernelRegistry("reference", Map.of("gemm", List.of("reference"), "attention",
                List.of("reference"), "retrieval", List.of("reference"), "residual", List.of("reference"))).applyProperties(System.getProperties()));
    }

    private float[] read(Tensor t) {
        return t == null ? null : doReadFloats(t);
    }

    private void write(Tensor t, float[] values) {
        if (t != null) doWrite(t, values);
    }

    @Override
    protected void doGemm(GemmShape s, Tensor a, Tensor b, Tensor c, float alpha, float beta) {
        float[] cv = read(c);
        DenseKernels.gemm(s.transA(), s.transB(), s.m(), s.n(), s.k(), alpha, read(a), s.strideA(), read(b),
                s.strideB(), beta, cv, s.strideC(), s.batch());
        write(c, cv);
    }

    @Override
    protected void doAddBias(Tensor x, Tensor bias) {
        float[] xv = read(x);
        long cols = x.dim(-1);
        DenseKernels.addBias(xv, read(bias), xv.length / Math.max(cols, 1), cols);
        write(x, xv);
    }

    @Override
    protected void doAxpy(Tensor y, Tensor x, float alpha) {
        float[] yv = read(y);
        DenseKernels.axpy(yv, read(x), alpha, yv.length);
        write(y, yv);
    }

    @Override
    protected void doLayerNorm(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor y, Tensor mean, Tensor rstd) {
        float[] xv = read(x), yv = new float[xv.length];
        long cols = x.dim(-1), rows = xv.length / Math.max(cols, 1);
        float[] mv = new float[(int) rows], rv = new float[(int) rows];
        NormKernels.layerNormForward(xv, read(gamma), read(beta), eps, yv, mv, rv, rows, cols);
        write(y, yv);
        write(mean, mv);
        write(rstd, rv);
    }

    @Override
    protected void doLayerNormBackward(Tensor dy, Tensor x, Tensor gamma, Tensor mean, Tensor rstd, Tensor dx,
            Tensor dgamma, Tensor dbeta) {
        float[] xv = read(x), dxv = new float[xv.length], dg = read(dgamma), db = read(dbeta);
        long cols = x.dim(-1);
        NormKernels.layerNormBackward(read(dy), xv, read(gamma), read(mean), read(rstd), dxv, dg, db,
                xv.length / Math.max(cols, 1), cols);
        write(dx, dxv);
        write(dgamma, dg);
        write(dbeta, db);
    }

    @Override
    protected void doActivation(Activation act, Tensor x, Tensor y) {
        float[] xv = read(x), yv = new float[xv.length];
        if (act == Activation.GELU) DenseKernels.geluForward(xv, yv, xv.length);
        else DenseKernels.quickGeluForward(xv, yv, xv.length);
        write(y, yv);
    }

    @Override
    protected void doActivationBackward(Activation act, Tensor x, Tensor dy, Tensor dx) {
        float[] xv = read(x), dxv = new float[xv.length];
        if (act == Activation.GELU) DenseKernels.geluBackward(xv, read(dy), dxv, xv.length);
        else DenseKernels.quickGeluBackward(xv, read(dy), dxv, xv.length);
        write(dx, dxv);
    }

    @Override
    protected void doSoftmax(Tensor x, Tensor y) {
        float[] xv = read(x), yv = new float[xv.length];
        long cols = x.dim(-1);
        NormKernels.softmaxForward(xv, yv, xv.length / Math.max(cols, 1), cols);
        write(y, yv);
    }

    @Override
    protected void doSoftmaxBackward(Tensor y, Tensor dy, Tensor dx) {
        float[] yv = read(y), dxv = new float[yv.length];
        long cols = y.dim(-1);
        NormKernels.softmaxBackward(yv, read(dy), dxv, yv.length / Math.max(cols, 1), cols);
        write(dx, dxv);
    }

    @Override
    protected void doAttention(AttentionInputs in, Tensor out, Tensor lse) {
        float[] o = new float[(int) out.numel()], l = new float[(int) lse.numel()];
        AttentionKernels.attentionForward(read(in.q()), read(in.k()), read(in.v()), read(in.prefixK()),
                read(in.prefixV()), read(in.residual()), o, l, in.batch(), in.queries(), in.keys(), in.prefixLength(),
                in.heads(), in.headDim(), in.scale(), in.causal());
        write(out, o);
        write(lse, l);
    }

    @Override
    protected void doAttentionBackward(AttentionInputs in, Tensor out, Tensor lse, Tensor dOut, AttentionGrads g) {
        float[] dq = alloc(in.q()), dk = alloc(in.k()), dv = alloc(in.v());
        float[] dpk = alloc(g.dPrefixK()), dpv = alloc(g.dPrefixV()), dr = alloc(g.dResidual());
        AttentionKernels.attentionBackward(read(in.q()), read(in.k()), read(in.v()), read(in.prefixK()),
                read(in.prefixV()), read(in.residual()), read(out), read(lse), read(dOut), dq, dk, dv, dpk, dpv, dr,
                in.batch(), in.queries(), in.keys(), in.prefixLength(), in.heads(), in.headDim(), in.scale(),
                in.causal());
        write(g.dq(), dq);
        write(g.dk(), dk);
        write(g.dv(), dv);
        write(g.dPrefixK(), dpk);
        write(g.dPrefixV(), dpv);
        write(g.dResidual(), dr);
    }

    private static float[] alloc(Tensor like) {
        return like == null ? null : new float[Math.toIntExact(like.numel())];
    }

    @Override
    protected void doEmbeddingGather(Tensor table, int[] ids, Tensor out) {
        float[] o = new float[(int) out.numel()];
        EmbeddingKernels.embeddingGather(read(table), ids, o, ids.length, table.dim(1), table.dim(0));
        write(out, o);
    }

    @Override
    protected void doEmbeddingScatterAdd(Tensor dOut, int[] ids, Tensor dTable) {
        float[] t = read(dTable);
        EmbeddingKernels.embeddingScatterAdd(read(dOut), ids, t, ids.length, dTable.dim(1), dTable.dim(0));
        write(dTable, t);
    }

    @Override
    protected void doTokenSum(Tensor x, Tensor out) {
        float[] o = new float[(int) out.numel()];
        EmbeddingKernels.tokenSum(read(x), o, (int) x.dim(0), (int) x.dim(1), x.dim(2));
        write(out, o);
    }

    @Override
    protected void doTokenGather(Tensor x, int[] idx, Tensor out) {
        float[] o = new float[(int) out.numel()];
        EmbeddingKernels.tokenGather(read(x), idx, o, (int) x.dim(0), (int) x.dim(1), x.dim(2));
        write(out, o);
    }

    @Override
    protected void doTokenScatterAdd(Tensor dOut, int[] idx, Tensor dx) {
        float[] d = read(dx);
        EmbeddingKernels.tokenScatterAdd(read(dOut), idx, d, (int) dx.dim(0), (int) dx.dim(1), dx.dim(2));
        write(dx, d);
    }

    @Override
    protected void doPatchify(Tensor images, int patch, Tensor patches) {
        float[] out = alloc(patches);
        EmbeddingKernels.patchify(read(images), out, (int) images.dim(0), (int) images.dim(1), (int) images.dim(2),
                patch, false);
        write(patches, out);
    }

    @Override
    protected void doUnpatchify(Tensor dPatches, int patch, Tensor dImages) {
        float[] out = alloc(dImages);
        EmbeddingKernels.patchify(out, read(dPatches), (int) dImages.dim(0), (int) dImages.dim(1),
                (int) dImages.dim(2), patch, true);
        write(dImages, out);
    }

    @Override
    protected float doCrossEntropy(Tensor logits, int[] labels, int lo, int hi, Tensor dlogits) {
        float[] d = alloc(dlogits);
        float loss = LossOptimKernels.crossEntropy(read(logits), labels, (int) logits.dim(0), (int) logits.dim(1), lo,
                hi, d);
        write(dlogits, d);
        return loss;
    }

    @Override
    protected void doAdamStep(Tensor param, Tensor grad, Tensor m, Tensor v, AdamConfig c, int step) {
        float[] p = read(param), mv = read(m), vv = read(v);
        LossOptimKernels.adamStep(p, read(grad), mv, vv, p.length, c.lr(), c.beta1(), c.beta2(), c.eps(),
                c.weightDecay(), step);
        write(param, p);
        write(m, mv);
        write(v, vv);
    }

    @Override
    protected void doSgdStep(Tensor param, Tensor grad, float lr, float weightDecay) {
        float[] p = read(param);
        LossOptimKernels.sgdStep(p, read(grad), p.length, lr, weightDecay);
        write(param, p);
    }

    @Override
    protected void doRetrieval(RetrievalInputs in, Tensor sims, Tensor sel, Tensor sp) {
        float[] s = alloc(sims), p = alloc(sp);
        int[] c = new int[Math.toIntExact(sel.numel())];
        RetrievalKernels.retrievalForward(read(in.queries()), read(in.keys()), read(in.modulation()),
                read(in.prompts()), in.batch(), in.seen(), in.classes(), in.queryDim(), in.promptDim(), in.layers(),
                in.modulate(), s, c, p);
        write(sims, s);
        doWrite(sel, c);
        write(sp, p);
    }

    @Override
    protected void doRetrievalBackward(RetrievalInputs in, Tensor sims, Tensor sel, Tensor dsp, int past, Tensor dA,
            Tensor dP) {
        float[] da = alloc(dA), dp = alloc(dP);
        RetrievalKernels.retrievalBackward(read(in.queries()), read(in.keys()), read(in.modulation()),
                read(in.prompts()), read(sims), doReadInts(sel), read(dsp), in.batch(), in.seen(), in.classes(), past,
                in.queryDim(), in.promptDim(), in.layers(), in.modulate(), da, dp);
        write(dA, da);
        write(dP, dp);
    }

    @Override
    protected void doComponentWeighting(ComponentInputs in, Tensor alpha, Tensor out) {
        float[] a = alloc(alpha), o = alloc(out);
        ComponentWeightingKernels.forward(read(in.queries()), read(in.keys()), read(in.attention()),
                read(in.components()), shape(in), a, o);
        write(alpha, a);
        write(out, o);
    }

    @Override
    protected void doComponentWeightingBackward(ComponentInputs in, Tensor dOut, int from, Tensor dKeys,
            Tensor dAttention, Tensor dComponents) {
        float[] dk = alloc(dKeys), da = alloc(dAttention), dp = alloc(dComponents);
        ComponentWeightingKernels.backward(read(in.queries()), read(in.keys()), read(in.attention()),
                read(in.components()), read(dOut), shape(in), from, dk, da, dp);
        write(dKeys, dk);
        write(dAttention, da);
        write(dComponents, dp);
    }

    private static ComponentWeightingKernels.Shape shape(ComponentInputs in) {
        return new ComponentWeightingKernels.Shape(in.batch(), in.componentCount(), in.used(), in.queryDim(),
                in.rowWidth(), in.layers());
    }

    @Override
    protected void doCosineMatch(Tensor queries, Tensor keys, int topN, boolean batchwise, Tensor scores,
            Tensor selected) {
        float[] s = alloc(scores);
        int[] sel = new int[Math.toIntExact(selected.numel())];
        PromptKernels.cosineMatch(read(queries), read(keys), (int) queries.dim(0), (int) keys.dim(0),
                (int) keys.dim(1), topN, batchwise, s, sel);
        write(scores, s);
        doWrite(selected, sel);
    }

    @Override
    protected void doCosineMatchBackward(Tensor queries, Tensor keys, Tensor selected, Tensor dSelected,
            Tensor dKeys, Tensor dQueries) {
        float[] dk = alloc(dKeys), dq = alloc(dQueries);
        PromptKernels.cosineMatchBackward(read(queries), read(keys), doReadInts(selected), read(dSelected),
                (int) queries.dim(0), (int) keys.dim(0), (int) keys.dim(1), (int) selected.dim(1), dk, dq);
        write(dKeys, dk);
        write(dQueries, dq);
    }

    @Override
    protected void doPromptConcat(Tensor tokens, Tensor pool, Tensor selected, Tensor shift, Tensor out) {
        float[] o = alloc(out);
        PromptKernels.promptConcat(read(tokens), read(pool), doReadInts(selected), read(shift), o,
                (int) tokens.dim(0), (int) tokens.dim(1), (int) pool.dim(1), (int) selected.dim(1),
                (int) tokens.dim(2));
        write(out, o);
    }

    @Override
    protected void doPromptConcatBackward(Tensor dOut, Tensor selected, Tensor dPool, Tensor dTokens) {
        float[] dp = alloc(dPool), dt = alloc(dTokens);
        int length = (int) dPool.dim(1), topN = (int) selected.dim(1);
        PromptKernels.promptConcatBackward(read(dOut), doReadInts(selected), dp, dt, (int) dOut.dim(0),
                (int) dOut.dim(1) - topN * length, (int) dPool.dim(0), length, topN, (int) dOut.dim(2));
        write(dPool, dp);
        write(dTokens, dt);
    }

    @Override
    protected void doTokenRangeMean(Tensor x, int from, int count, Tensor out) {
        float[] o = alloc(out);
        PromptKernels.tokenRangeMean(read(x), o, (int) x.dim(0), (int) x.dim(1), from, count, (int) x.dim(2));
        write(out, o);
    }

    @Override
    protected void doTokenRangeMeanBackward(Tensor dOut, int from, int count, Tensor dx) {
        float[] d = alloc(dx);
        PromptKernels.tokenRangeMeanBackward(read(dOut), d, (int) dx.dim(0), (int) dx.dim(1), from, count,
                (int) dx.dim(2));
        write(dx, d);
    }
}
