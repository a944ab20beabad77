package io.starprompt.bench;

import io.starprompt.backend.AttentionInputs;
import io.starprompt.tensor.Tensor;
import java.util.Random;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The fixed cost of a Backend op: ops so small (16 floats, an 8×8 GEMM) that the time is the
 * public op's argument checks, its dispatch and the native call, not the arithmetic. It uses only
 * API that predates the profiler, so that the same source measured against the library before
 * and after the profiler was added (an A/B of two builds, see RESULTS.md) shows what the
 * profiler costs while it is off.
 */
public class OpOverheadBenchmark extends OpCostBenchmark {
    @Param({"cpu", "reference"})
    public String backend;

    private Tensor row, a8, b8, c8, ln, gamma, beta, lnOut, mean, rstd, out, lse;
    private AttentionInputs attention;

    @Setup(Level.Trial)
    public void setUp() {
        Random rnd = new Random(1);
        open(backend, rnd);
        row = be.fromArray(Bench.uniform(rnd, 16), 1, 16);
        a8 = be.fromArray(Bench.uniform(rnd, 64), 8, 8);
        b8 = be.fromArray(Bench.uniform(rnd, 64), 8, 8);
        c8 = be.empty(8, 8);
        ln = be.fromArray(Bench.uniform(rnd, 64), 4, 16);
        gamma = be.fromArray(Bench.uniform(rnd, 16), 16);
        beta = be.fromArray(Bench.uniform(rnd, 16), 16);
        lnOut = be.empty(4, 16);
        mean = be.empty(4);
        rstd = be.empty(4);
        Tensor q = be.fromArray(Bench.uniform(rnd, 64), 1, 4, 16), k = be.fromArray(Bench.uniform(rnd, 64), 1, 4, 16);
        Tensor v = be.fromArray(Bench.uniform(rnd, 64), 1, 4, 16), r = be.fromArray(Bench.uniform(rnd, 16), 1, 16);
        attention = new AttentionInputs(q, k, v, null, null, r, 1, 0.25f, false);
        out = be.empty(1, 4, 16);
        lse = be.empty(1, 1, 4);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        for (Tensor t : new Tensor[] {x16, y16, row, a8, b8, c8, ln, gamma, beta, lnOut, mean, rstd, out, lse,
                attention.q(), attention.k(), attention.v(), attention.residual()}) {
            t.close();
        }
        be.close();
    }

    /** Softmax of one row of 16, in place. */
    @Benchmark
    public Tensor softmax16() {
        be.softmax(row, row);
        return row;
    }

    /** An 8×8·8×8 GEMM. */
    @Benchmark
    public Tensor gemm8() {
        be.gemm(a8, false, b8, false, c8, 1f, 0f);
        return c8;
    }

    /** Attention of 4 tokens, one head of 16, with a residual prompt (the STAR-Prompt path). */
    @Benchmark
    public Tensor attentionResidual4() {
        be.attention(attention, out, lse);
        return out;
    }

    /** LayerNorm of 4 rows of 16. */
    @Benchmark
    public Tensor layerNorm4x16() {
        be.layerNorm(ln, gamma, beta, 1e-6f, lnOut, mean, rstd);
        return lnOut;
    }
}
