package io.starprompt.bench;

import io.starprompt.backend.Backend;
import io.starprompt.tensor.Tensor;
import java.util.Random;
import org.bytedeco.openblas.global.openblas;

/**
 * The operands of one ViT-B/16 linear layer at batch 4: x [788, 768] (4 images × 197 tokens),
 * w [768, 768] and the output y, with the two ways to form y = x·wᵀ that the GEMM benchmarks
 * compare: the backend's gemm op and OpenBLAS' sgemm called directly on the same buffers.
 */
final class GemmOperands implements AutoCloseable {
    static final int ROWS = 788, WIDTH = 768;
    /** FLOPs of one product: 2·788·768·768. */
    static final double FLOP = 2.0 * ROWS * WIDTH * WIDTH;

    private final Backend be;
    private final Tensor x, w, y;

    /** Uniform x and w drawn with seed 1 on be (which stays the caller's to close). */
    GemmOperands(Backend be) {
        this.be = be;
        Random rnd = new Random(1);
        x = be.fromArray(Bench.uniform(rnd, ROWS * WIDTH), ROWS, WIDTH);
        w = be.fromArray(Bench.uniform(rnd, WIDTH * WIDTH), WIDTH, WIDTH);
        y = be.empty(ROWS, WIDTH);
    }

    /** y ← x·wᵀ through the backend's gemm op. */
    Tensor backendGemm() {
        be.gemm(x, false, w, true, y, 1f, 0f);
        return y;
    }

    /** y ← x·wᵀ by OpenBLAS directly (host backends only): the rate to compare with. */
    Tensor openblasSgemm() {
        openblas.cblas_sgemm(openblas.CblasRowMajor, openblas.CblasNoTrans, openblas.CblasTrans, ROWS, WIDTH, WIDTH, 1f,
                x.floatPointer(), WIDTH, w.floatPointer(), WIDTH, 0f, y.floatPointer(), WIDTH);
        return y;
    }

    @Override
    public void close() {
        x.close();
        w.close();
        y.close();
    }
}
