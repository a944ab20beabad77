package io.starprompt.backend;

import io.starprompt.tensor.Tensor;
import java.util.Arrays;

/**
 * The {@code residual=naive} kernel variant: the value residual of prompted attention as passes
 * of its own over the B×N×D output (a broadcast add after the attention kernel, a token sum in the
 * backward) instead of the attention kernels' fused epilogue. Kept for comparison and profiling;
 * it composes the backend's own attention, GEMM, copy and token-sum kernels, so it runs on every
 * backend that offers the choice.
 */
final class UnfusedResidual implements OpKernel.Attention {
    /** The variant name of op "residual" that selects this kernel. */
    static final String VARIANT = "naive";
    /** The one instance; it keeps no state. */
    static final UnfusedResidual KERNEL = new UnfusedResidual();

    private UnfusedResidual() {}

    @Override
    public void forward(Backend backend, AttentionInputs in, Tensor out, Tensor lse) {
        backend.doAttention(in.withoutResidual(), out, lse);
        addToEveryToken(backend, out, in.residual(), 1f);
    }

    @Override
    public void backward(Backend backend, AttentionInputs in, Tensor out, Tensor lse, Tensor dOut, AttentionGrads g) {
        // The attention kernels' backward wants the output of attention alone, without the residual.
        try (Tensor attnOut = backend.empty(out.dtype(), out.shape())) {
            backend.doCopy(out, attnOut);
            addToEveryToken(backend, attnOut, in.residual(), -1f);
            backend.doAttentionBackward(in.withoutResidual(), attnOut, lse, dOut,
                    new AttentionGrads(g.dq(), g.dk(), g.dv(), g.dPrefixK(), g.dPrefixV(), null));
        }
        backend.doTokenSum(dOut, g.dResidual());
    }

    /** out[b, n, :] += alpha·r[b, :] for every token n, as a batched rank-1 GEMM. */
    private static void addToEveryToken(Backend backend, Tensor out, Tensor r, float alpha) {
        long b = out.dim(0), n = out.dim(1), w = out.dim(2);
        float[] ones = new float[Math.toIntExact(n)];
        Arrays.fill(ones, 1f);
        try (Tensor column = backend.fromArray(ones, n, 1)) {
            backend.doGemm(new Backend.GemmShape((int) n, (int) w, 1, (int) b, false, false, 0, w, n * w), column, r, out,
                    alpha, 1f);
        }
    }
}
