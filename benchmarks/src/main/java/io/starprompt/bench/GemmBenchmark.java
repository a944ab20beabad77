package io.starprompt.bench;

import io.starprompt.backend.Backend;
import io.starprompt.backend.Backends;
import io.starprompt.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

/**
 * GEMM as the ViT's linear layers use it: [B·N, D] · Wᵀ with B·N = 788 (4 images × 197 tokens),
 * D = 768 → 768 outputs: 2·788·768·768 = 0.930 GFLOP per call. Compares the backends' gemm op
 * (cpu = OpenBLAS through the Backend, cpu:gemm=naive = our C++ loop, reference = Java float64)
 * with OpenBLAS' sgemm called directly in the same run (the ceiling).
 */
public class GemmBenchmark extends CpuBenchmark {
    public static final double FLOP = GemmOperands.FLOP;

    @Param({"cpu", "cpu:gemm=naive", "reference"})
    public String backend;

    private Backend be;
    private GemmOperands ops;

    @Setup(Level.Trial)
    public void setUp() {
        be = Backends.create(backend);
        ops = new GemmOperands(be);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        ops.close();
        be.close();
    }

    @Benchmark
    public Tensor backendGemm() {
        return ops.backendGemm();
    }

    /** OpenBLAS sgemm called directly on the same buffers: the rate to compare with. */
    @Benchmark
    public Tensor openblasSgemm() {
        return ops.openblasSgemm();
    }
}
