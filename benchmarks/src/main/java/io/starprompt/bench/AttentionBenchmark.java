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
 * Prompted attention of one ViT-B/16 layer: B = 4, 12 heads, N = 197, hd = 64, with 8 prefix
 * tokens (prefix mode) or a residual value prompt. Forward FLOP = 4·B·N·(N+Lp)·768
 * (0.496 GFLOP with the prefix); backward counted as 2.5× forward.
 */
public class AttentionBenchmark extends CpuBenchmark {
    static final int B = 4, N = 197, H = 12, HD = 64, W = H * HD, LP = 8;
    public static final double FORWARD_FLOP = 4.0 * B * N * (N + LP) * W;

    @Param({"cpu", "cpu:attention=naive", "reference"})
    public String backend;

    private Backend be;
    private AttentionInputs in;
    private Tensor out, lse, dOut;
    private AttentionGrads grads;

    @Setup(Level.Trial)
    public void setUp() {
        be = Backends.create(backend);
        Random rnd = new Random(1);
        Tensor q = Bench.uniform(be, rnd, B, N, W), k = Bench.uniform(be, rnd, B, N, W), v = Bench.uniform(be, rnd, B, N, W);
        in = new AttentionInputs(q, k, v, Bench.uniform(be, rnd, B, LP, W), Bench.uniform(be, rnd, B, LP, W), null, H,
                (float) (1 / Math.sqrt(HD)), false);
        out = be.empty(B, N, W);
        lse = be.empty(B, H, N);
        dOut = Bench.uniform(be, rnd, B, N, W);
        grads = new AttentionGrads(be.empty(B, N, W), be.empty(B, N, W), be.empty(B, N, W), be.empty(B, LP, W),
                be.empty(B, LP, W), null);
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
    public Tensor backward() {
        be.attentionBackward(in, out, lse, dOut, grads);
        return grads.dq();
    }
}
