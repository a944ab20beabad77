package io.starprompt.bench;

import io.starprompt.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;

/**
 * Residual injection of one ViT-B/16 layer (B = 4, 12 heads, N = 197, hd = 64) on the CPU
 * backend: fused into the tiled attention kernels (epilogue add, token sum in the backward) versus
 * the unfused composition ({@code residual=naive}: separate broadcast-add and token-sum passes).
 * The attention kernel is the tiled one in both.
 */
public class ResidualBenchmark extends AttentionOperands {
    @Param({"fused", "naive"})
    public String residual;

    @Setup(Level.Trial)
    public void setUp() {
        open("cpu:residual=" + residual, 0, true);
    }

    @Benchmark
    public Tensor forwardBackward() {
        be.attention(in, out, lse);
        be.attentionBackward(in, out, lse, dOut, grads);
        return grads.dResidual();
    }
}
