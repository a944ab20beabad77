package io.starprompt.method.starprompt;

import io.starprompt.method.common.mixture.GaussianMixture;
import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * One epoch of generative replay (ALGORITHM.md §3.5, §4.8): fresh samples from every seen class's
 * mixture, labelled with the class, shuffled and cut into batches (the last one may be partial).
 * Shared by the stage-1 key alignment and the stage-2 head alignment.
 */
final class ReplayEpoch {
    /** Trains on one batch of replayed features [n, dim] with their labels; returns its loss. */
    @FunctionalInterface
    interface BatchStep {
        double run(float[] features, int[] labels, int step);
    }

    private ReplayEpoch() {}

    /** Runs step on every batch of one epoch and returns the mean batch loss. */
    static double run(GaussianMixture[] models, int seen, int perClass, int dim, int batch, RandomGenerator rnd,
            BatchStep step) {
        int total = Math.multiplyExact(seen, perClass);
        float[] samples = new float[Math.multiplyExact(total, dim)];
        int[] labels = new int[total];
        for (int c = 0; c < seen; c++) {
            models[c].sampleInto(samples, c * perClass * dim, perClass, rnd);
            Arrays.fill(labels, c * perClass, (c + 1) * perClass, c);
        }
        int[] order = permutation(total, rnd);
        double sum = 0;
        int steps = 0;
        for (int start = 0; start < total; start += batch, steps++) {
            int n = Math.min(batch, total - start);
            float[] x = new float[n * dim];
            int[] y = new int[n];
            for (int r = 0; r < n; r++) {
                int src = order[start + r];
                System.arraycopy(samples, src * dim, x, r * dim, dim);
                y[r] = labels[src];
            }
            sum += step.run(x, y, steps);
        }
        return sum / steps;
    }

    /** A uniformly random permutation of [0, n) (Fisher–Yates). */
    static int[] permutation(int n, RandomGenerator rnd) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
