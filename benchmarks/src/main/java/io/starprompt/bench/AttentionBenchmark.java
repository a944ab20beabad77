package io.starprompt.bench;

import io.starprompt.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;

/**
 * Prompted attention of one ViT-B/16 layer: B = 4, 12 heads, N = 197, hd = 64, with 8 prefix
 * tokens (prefix mode) or a residual value prompt. Forward FLOP = 4·B·N·(N+Lp)·768
 * (0.496 GFLOP with the prefix); backward counted as 2.5× forward.
 */
public class AttentionBenchmark extends AttentionOperands {
    static final int LP = 8;
    public static final double FORWARD_FLOP = 4.0 * B * N * (N + LP) * W;

    @Param({"cpu", "cpu:attention=naive", "reference"})
    public String backend;

    @Setup(Level.Trial)
    public void setUp() {
        open(backend, LP, false);
    }

    @Benchmark
    public Tensor backward() {
        be.attentionBackward(in, out, lse, dOut, grads);
        return grads.dq();
    }
}
