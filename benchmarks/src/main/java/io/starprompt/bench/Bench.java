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
}
