package io.starprompt.bench;

import io.starprompt.backend.AttentionGrads;
import io.starprompt.backend.AttentionInputs;
import io.starprompt.backend.Backend;
import io.starprompt.backend.Backends;
import io.starprompt.tensor.Tensor;
import java.util.Random;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Residual injection of one ViT-B/16 layer (B = 4, 12 heads, N = 197, hd = 64) on the CPU
 * backend: fused into the tiled attention kernels (epilogue add, token sum in the backward) versus
 * the unfused composition ({@code residual=naive}: separate broadcast-add and token-sum passes).
 * The attention kernel is the tiled one in both.
 */
public class ResidualBenchmark extends CpuBenchmark {
    static final int B = 4, N = 197, H = 12, HD = 64, W = H * HD;

    @Param({"fused", "naive"})
    public String residual;

    private Backend be;
    private AttentionInputs in;
    private Tensor out, lse, dOut;
    private AttentionGrads grads;

    @Setup(Level.Trial)
    public void setUp() {
        be = Backends.create("cpu:residual=" + residual);
        Random rnd = new Random(1);
        in = new AttentionInputs(Bench.uniform(be, rnd, B, N, W), Bench.uniform(be, rnd, B, N, W), Bench.uniform(be, rnd, B, N, W), null, null,
                Bench.uniform(be, rnd, B, W), H, (float) (1 / Math.sqrt(HD)), false);
        out = be.empty(B, N, W);
        lse = be.empty(B, H, N);
        dOut = Bench.uniform(be, rnd, B, N, W);
        grads = new AttentionGrads(be.empty(B, N, W), be.empty(B, N, W), be.empty(B, N, W), null, null,
                be.empty(B, W));
        be.attention(in, out, lse);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        be.close();
    }

    @Benchmark
    public Tensor forward() {
        be.attention(in, out, lse);
        return out;
    }

    @Benchmark
    public Tensor forwardBackward() {
        be.attention(in, out, lse);
        be.attentionBackward(in, out, lse, dOut, grads);
        return grads.dResidual();
    }
}
