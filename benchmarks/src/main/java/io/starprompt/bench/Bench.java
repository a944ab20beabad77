package io.starprompt.bench;

import io.starprompt.backend.Backend;
import io.starprompt.tensor.Tensor;
import java.util.Random;

/** Input helpers shared by the benchmarks. */
final class Bench {
    private Bench() {}

    /** A tensor of the shape filled with uniform values in [-1, 1). */
    static Tensor uniform(Backend be, Random rnd, long... shape) {
        return be.fromArray(uniform(rnd, Math.toIntExact(Tensor.numel(shape))), shape);
    }

    static float[] uniform(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (rnd.nextDouble() * 2 - 1);
        return v;
    }

    /** rows × cols uniform values with every row scaled to unit length (retrieval keys). */
    static float[] unitRows(Random rnd, int rows, int cols) {
        float[] v = uniform(rnd, rows * cols);
        for (int r = 0; r < rows; r++) {
            double n = 0;
            for (int c = 0; c < cols; c++) n += v[r * cols + c] * v[r * cols + c];
            for (int c = 0; c < cols; c++) v[r * cols + c] /= (float) Math.sqrt(n);
        }
        return v;
    }
}
