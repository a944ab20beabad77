package io.starprompt.bench;

import java.util.Random;

/** Input helpers shared by the benchmarks. */
final class Bench {
    private Bench() {}

    static float[] uniform(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (rnd.nextDouble() * 2 - 1);
        return v;
    }
}
