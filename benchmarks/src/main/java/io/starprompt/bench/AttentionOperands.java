package io.starprompt.bench;

import io.starprompt.backend.AttentionGrads;
import io.starprompt.backend.AttentionInputs;
import io.starprompt.backend.Backend;
import io.starprompt.backend.Backends;
import io.starprompt.tensor.Tensor;
import java.util.Random;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What the prompted-attention benchmarks share: the attention of one ViT-B/16 layer (B = 4, 12
 * heads, N = 197, hd = 64) with its operands, gradients and the forward benchmark; a subclass
 * opens it with its backend spec and prompt kind in its setup.
 */
public abstract class AttentionOperands extends CpuBenchmark {
    static final int B = 4, N = 197, H = 12, HD = 64, W = H * HD;

    Backend be;
    AttentionInputs in;
    Tensor out, lse, dOut;
    AttentionGrads grads;

    /**
     * Opens the backend and draws the inputs (seed 1), then runs the forward once.
     *
     * @param spec     the backend spec, e.g. {@code cpu:attention=naive}
     * @param prefix   prefix tokens (0: none)
     * @param residual whether a value residual [B, W] is given
     */
    void open(String spec, int prefix, boolean residual) {
        be = Backends.create(spec);
        Random rnd = new Random(1);
        Tensor q = Bench.uniform(be, rnd, B, N, W), k = Bench.uniform(be, rnd, B, N, W), v = Bench.uniform(be, rnd, B, N, W);
        Tensor pk = prefix > 0 ? Bench.uniform(be, rnd, B, prefix, W) : null;
        Tensor pv = prefix > 0 ? Bench.uniform(be, rnd, B, prefix, W) : null;
        Tensor r = residual ? Bench.uniform(be, rnd, B, W) : null;
        in = new AttentionInputs(q, k, v, pk, pv, r, H, (float) (1 / Math.sqrt(HD)), false);
        out = be.empty(B, N, W);
        lse = be.empty(B, H, N);
        dOut = Bench.uniform(be, rnd, B, N, W);
        grads = new AttentionGrads(be.empty(B, N, W), be.empty(B, N, W), be.empty(B, N, W),
                prefix > 0 ? be.empty(B, prefix, W) : null, prefix > 0 ? be.empty(B, prefix, W) : null,
                residual ? be.empty(B, W) : null);
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
}
