package io.starprompt.bench;

import io.starprompt.backend.Backend;
import io.starprompt.backend.Backends;
import io.starprompt.tensor.Tensor;
import java.util.Random;
import org.bytedeco.openblas.global.openblas;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

/**
 * GEMM as the ViT's linear layers use it: [B·N, D] · Wᵀ with B·N = 788 (4 images × 197 tokens),
 * D = 768 → 768 outputs: 2·788·768·768 = 0.930 GFLOP per call. Compares the backends' gemm op
 * (cpu = OpenBLAS through the Backend, cpu-naive = our C++ loop, reference = Java float64)
 * with OpenBLAS' sgemm called directly in the same run (the ceiling).
 */
public class GemmBenchmark extends CpuBenchmark {
    public static final double FLOP = 2.0 * 788 * 768 * 768;

    @Param({"cpu", "cpu:gemm=naive", "reference"})
    public String backend;

    private Backend be;
    private Tensor x, w, y;

    @Setup(Level.Trial)
    public void setUp() {
        be = Backends.create(backend);
        Random rnd = new Random(1);
        x = be.fromArray(Bench.uniform(rnd, 788 * 768), 788, 768);
        w = be.fromArray(Bench.uniform(rnd, 768 * 768), 768, 768);
        y = be.empty(788, 768);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        x.close();
        w.close();
        y.close();
        be.close();
    }

    @Benchmark
    public Tensor backendGemm() {
        be.gemm(x, false, w, true, y, 1f, 0f);
        return y;
    }

    /** OpenBLAS sgemm called directly on the same buffers: the rate to compare with. */
    @Benchmark
    public Tensor openblasSgemm() {
        openblas.cblas_sgemm(openblas.CblasRowMajor, openblas.CblasNoTrans, openblas.CblasTrans, 788, 768, 768, 1f,
                x.floatPointer(), 768, w.floatPointer(), 768, 0f, y.floatPointer(), 768);
        return y;
    }
}
