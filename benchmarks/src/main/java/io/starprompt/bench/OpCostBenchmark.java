package io.starprompt.bench;

import io.starprompt.backend.Backend;
import io.starprompt.backend.Backends;
import io.starprompt.tensor.Tensor;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The settings of the benchmarks that time per-op costs of a few nanoseconds (JMH reads them from
 * the superclass, over {@link CpuBenchmark}'s): nanoseconds, short iterations, more of them, and
 * two forks, so that a difference of a few percent between builds stands out of the noise. Every
 * such benchmark times the smallest op, {@link #axpy16}, beside its own.
 */
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(2)
public abstract class OpCostBenchmark extends CpuBenchmark {
    Backend be;
    Tensor x16, y16;

    /** Opens the backend and draws x16 and y16 (16 floats each) from rnd; the subclass closes them. */
    void open(String spec, Random rnd) {
        be = Backends.create(spec);
        x16 = be.fromArray(Bench.uniform(rnd, 16), 16);
        y16 = be.fromArray(Bench.uniform(rnd, 16), 16);
    }

    /** y ← y + 0·x on 16 floats (alpha 0 keeps the values fixed over billions of calls). */
    @Benchmark
    public Tensor axpy16() {
        be.axpy(y16, x16, 0f);
        return y16;
    }
}
