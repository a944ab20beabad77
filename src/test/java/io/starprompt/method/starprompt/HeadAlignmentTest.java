package io.starprompt.method.starprompt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.backend.Backend;
import io.starprompt.backend.Backends;
import io.starprompt.method.common.LinearHead;
import io.starprompt.method.common.mixture.GaussianMixture;
import java.util.Arrays;
import java.util.Random;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The stage-2 head re-alignment (ALGORITHM.md §4.8 step 3). */
class HeadAlignmentTest {
    /** Central differences of the normalised-logit CE in float64. */
    private static void checkAgainstFiniteDifferences(double scale, long seed) {
        Random r = new Random(seed);
        int batch = 3, n = 5;
        double[] z = new double[batch * n];
        for (int i = 0; i < z.length; i++) z[i] = scale * r.nextGaussian();
        int[] labels = {4, 0, 2};
        double[] dz = new double[z.length];
        HeadAlignment.normalizedCrossEntropy(z, batch, n, labels, 0.1, dz);
        for (int i = 0; i < z.length; i++) {
            double h = 1e-6 * scale;
            double[] zp = z.clone(), zm = z.clone();
            zp[i] += h;
            zm[i] -= h;
            double fd = (HeadAlignment.normalizedCrossEntropy(zp, batch, n, labels, 0.1, null)
                    - HeadAlignment.normalizedCrossEntropy(zm, batch, n, labels, 0.1, null)) / (2 * h);
            assertEquals(fd, dz[i], 1e-6 * Math.max(1, Math.abs(fd)), "dz[" + i + "] at scale " + scale);
        }
    }

    @Test
    void logitNormalisationBackwardMatchesFiniteDifferences() {
        checkAgainstFiniteDifferences(1.0, 1);
        // The logits of a freshly trained head are tiny: the gradient grows like 1/‖z‖.
        checkAgainstFiniteDifferences(1e-3, 2);
        checkAgainstFiniteDifferences(30.0, 3);
    }

    @Test
    void lossIsScaleInvariantAndUsesUnitNormLogitsTimesTen() {
        double[] z = {0.3, -0.1, 0.2, 0.0};
        double a = HeadAlignment.normalizedCrossEntropy(z, 1, 4, new int[] {0}, 0.1, null);
        double[] z2 = Arrays.stream(z).map(v -> v * 7).toArray();
        assertEquals(a, HeadAlignment.normalizedCrossEntropy(z2, 1, 4, new int[] {0}, 0.1, null), 1e-6);
        // By hand: z̃ = 10·z/‖z‖.
        double norm = Math.sqrt(0.09 + 0.01 + 0.04), lse = 0;
        for (double v : z) lse += Math.exp(10 * v / norm);
        assertEquals(Math.log(lse) - 10 * 0.3 / norm, a, 1e-6);
    }

    @Test
    void alignmentSeparatesReplayedClassesAndLeavesUnseenRowsAlone() {
        int classes = 4, seen = 3, width = 6;
        try (Backend be = Backends.create("cpu"); LinearHead head = LinearHead.initialised(be, classes, width, 5)) {
            GaussianMixture[] models = new GaussianMixture[classes];
            for (int c = 0; c < seen; c++) {
                double[][] mean = new double[1][width], var = new double[1][width];
                Arrays.fill(var[0], 0.05);
                mean[0][c] = 2;
                models[c] = GaussianMixture.of(new double[] {1}, mean, var, GaussianMixture.Density.TEXTBOOK);
            }
            float[] w0 = be.toFloatArray(head.weight()), b0 = be.toFloatArray(head.bias());
            double[] losses = HeadAlignment.align(be, head, models, seen,
                    new HeadAlignment.Settings(15, 0.01f, 256, 128, 0.1f), new SplittableRandom(3), 1, null);
            assertEquals(15, losses.length);
            assertTrue(losses[14] < 0.05 * losses[0], "loss " + losses[0] + " → " + losses[14]);
            float[] w1 = be.toFloatArray(head.weight()), b1 = be.toFloatArray(head.bias());
            // Row 3 (not seen) never receives gradient.
            assertArrayEquals(Arrays.copyOfRange(w0, 3 * width, 4 * width), Arrays.copyOfRange(w1, 3 * width, 4 * width));
            assertEquals(b0[3], b1[3]);
            // Each seen class now wins on its own mean.
            for (int c = 0; c < seen; c++) {
                int best = 0;
                double bestLogit = Double.NEGATIVE_INFINITY;
                for (int k = 0; k < seen; k++) {
                    double z = w1[k * width + c] * 2 + b1[k];
                    if (z > bestLogit) {
                        bestLogit = z;
                        best = k;
                    }
                }
                assertEquals(c, best);
            }
        }
    }
}
