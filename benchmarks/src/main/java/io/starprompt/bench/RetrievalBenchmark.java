package io.starprompt.bench;

import io.starprompt.backend.Backend;
import io.starprompt.backend.Backends;
import io.starprompt.backend.RetrievalInputs;
import io.starprompt.tensor.DType;
import io.starprompt.tensor.Tensor;
import java.util.Random;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Key–query retrieval of all 12 layers at B = 32, C = seen = 100, d = dp = 768, forward and
 * backward (past = 50): the fused kernel against the naive composition and the reference.
 */
public class RetrievalBenchmark extends CpuBenchmark {
    static final int B = 32, C = 100, D = 768, L = 12, PAST = 50;

    @Param({"cpu", "cpu:retrieval=naive", "reference"})
    public String backend;

    private Backend be;
    private RetrievalInputs in;
    private Tensor sims, sel, sp, dsp, dA, dP;

    @Setup(Level.Trial)
    public void setUp() {
        be = Backends.create(backend);
        Random rnd = new Random(1);
        float[] q = Bench.uniform(rnd, B * D);
        for (int i = 0; i < q.length; i++) q[i] = Math.abs(q[i]) + 0.05f;
        float[] keys = Bench.uniform(rnd, C * D);
        for (int c = 0; c < C; c++) {
            double n = 0;
            for (int j = 0; j < D; j++) n += keys[c * D + j] * keys[c * D + j];
            for (int j = 0; j < D; j++) keys[c * D + j] /= (float) Math.sqrt(n);
        }
        in = new RetrievalInputs(be.fromArray(q, B, D), be.fromArray(keys, C, D),
                be.fromArray(Bench.uniform(rnd, L * C * D), L, C, D), be.fromArray(Bench.uniform(rnd, L * C * D), L, C, D),
                C, true);
        sims = be.empty(L, B, C);
        sel = be.empty(DType.I32, L, B);
        sp = be.empty(L, B, D);
        dsp = be.fromArray(Bench.uniform(rnd, L * B * D), L, B, D);
        dA = be.empty(L, C, D);
        dP = be.empty(L, C, D);
        be.retrieval(in, sims, sel, sp);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        be.close();
    }

    @Benchmark
    public Tensor forward() {
        be.retrieval(in, sims, sel, sp);
        return sp;
    }

    @Benchmark
    public Tensor forwardBackward() {
        be.retrieval(in, sims, sel, sp);
        be.retrievalBackward(in, sims, sel, dsp, PAST, dA, dP);
        return dA;
    }
}
