package io.starprompt.method.common.mixture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.method.common.mixture.GaussianMixture.Density;
import io.starprompt.method.common.mixture.GaussianMixture.Options;
import java.util.Random;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** ALGORITHM.md §3.6: k-means initialised diagonal mixture, reference-quirk density, sampling, edge cases. */
class GaussianMixtureTest {

    // ------------------------------------------------------------ synthetic 3-component mixture, d = 4

    private static final double[] TRUE_WEIGHTS = {0.5, 0.3, 0.2};
    private static final double[][] TRUE_MEANS = {
        {0, 0, 0, 0},
        {12, -8, 4, 10},
        {-10, 10, -6, 5},
    };
    private static final double[][] TRUE_VARS = {
        {1, 0.25, 2, 1},
        {0.5, 1, 1, 3},
        {2, 2, 0.5, 1},
    };
    private static final int N_SYNTH = 4000;

    /** Draws n rows from the true mixture (seeded); the component of each row is discarded. */
    private static double[][] synthetic(int n, long seed) {
        Random rnd = new Random(seed);
        double[][] x = new double[n][4];
        for (int i = 0; i < n; i++) {
            double u = rnd.nextDouble();
            int c = u < 0.5 ? 0 : u < 0.8 ? 1 : 2;
            for (int j = 0; j < 4; j++) x[i][j] = TRUE_MEANS[c][j] + rnd.nextGaussian() * Math.sqrt(TRUE_VARS[c][j]);
        }
        return x;
    }

    /** match[t] = index of the fitted component whose mean is nearest true component t; a permutation. */
    private static int[] matchComponents(GaussianMixture g) {
        double[][] mu = g.means();
        int[] match = new int[TRUE_MEANS.length];
        boolean[] used = new boolean[mu.length];
        for (int t = 0; t < TRUE_MEANS.length; t++) {
            int best = -1;
            double bestDist = Double.POSITIVE_INFINITY;
            for (int c = 0; c < mu.length; c++) {
                double s = 0;
                for (int j = 0; j < 4; j++) s += (mu[c][j] - TRUE_MEANS[t][j]) * (mu[c][j] - TRUE_MEANS[t][j]);
                if (s < bestDist) {
                    bestDist = s;
                    best = c;
                }
            }
            assertFalse(used[best], "two true components matched fitted component " + best);
            used[best] = true;
            match[t] = best;
        }
        return match;
    }

    /**
     * Tolerances are 5 standard errors of the sample estimates: weight √(w(1−w)/n), mean √(var/n_k),
     * variance var·√(2/(n_k−1)) with n_k = w·n.
     */
    private static void assertMeansRecovered(GaussianMixture g, int[] match) {
        double[][] mu = g.means();
        for (int t = 0; t < 3; t++) {
            double nk = TRUE_WEIGHTS[t] * N_SYNTH;
            for (int j = 0; j < 4; j++) {
                double tol = 5 * Math.sqrt(TRUE_VARS[t][j] / nk);
                assertEquals(TRUE_MEANS[t][j], mu[match[t]][j], tol, "mean of component " + t + ", dim " + j);
            }
        }
    }

    private static void assertWeightsRecovered(GaussianMixture g, int[] match) {
        double[] w = g.weights();
        for (int t = 0; t < 3; t++) {
            double tol = 5 * Math.sqrt(TRUE_WEIGHTS[t] * (1 - TRUE_WEIGHTS[t]) / N_SYNTH);
            assertEquals(TRUE_WEIGHTS[t], w[match[t]], tol, "weight of component " + t);
        }
    }

    @Test
    void textbookDensityRecoversMeansWeightsAndVariances() {
        double[][] x = synthetic(N_SYNTH, 11);
        GaussianMixture g = GaussianMixture.fit(x, Options.reference(200).withComponents(3).withDensity(Density.TEXTBOOK), 3);
        int[] match = matchComponents(g);
        assertMeansRecovered(g, match);
        assertWeightsRecovered(g, match);
        double[][] var = g.variances();
        for (int t = 0; t < 3; t++) {
            double nk = TRUE_WEIGHTS[t] * N_SYNTH;
            for (int j = 0; j < 4; j++) {
                double tol = 5 * TRUE_VARS[t][j] * Math.sqrt(2 / (nk - 1));
                assertEquals(TRUE_VARS[t][j], var[match[t]][j], tol, "variance of component " + t + ", dim " + j);
            }
        }
        assertTrue(g.converged(), "an easy fit converges before 201 steps: " + g);
        assertTrue(Double.isFinite(g.trainingScore()));
        assertEquals(g.score(x), g.trainingScore(), 1e-9, "training score = mean log-likelihood after the last step");
    }

    @Test
    void referenceDensityStillRecoversTheMeans() {
        double[][] x = synthetic(N_SYNTH, 11);
        GaussianMixture g = GaussianMixture.fit(x, Options.reference(200).withComponents(3), 3);
        assertEquals(Density.REFERENCE, g.density());
        int[] match = matchComponents(g);
        assertMeansRecovered(g, match);
        assertWeightsRecovered(g, match);
    }

    // ------------------------------------------------------------ sampling

    @Test
    void samplesMatchFirstAndSecondMomentsAndAreGroupedByComponent() {
        double[] w = {0.2, 0.5, 0.3};
        double[][] mu = {{0, 1, -2}, {20, -3, 0.5}, {40, 2, 4}};
        double[][] var = {{1, 4, 0.25}, {2, 1, 1}, {0.5, 9, 2}};
        GaussianMixture g = GaussianMixture.of(w, mu, var, Density.REFERENCE);
        int n = 200_000;
        float[][] s = g.sample(n, new SplittableRandom(42));
        assertEquals(n, s.length);

        for (int j = 0; j < 3; j++) {
            // Mixture moments: E[x] = Σπμ, E[x²] = Σπ(v+μ²), E[x⁴] = Σπ(μ⁴ + 6μ²v + 3v²).
            double m1 = 0, m2 = 0, m4 = 0;
            for (int c = 0; c < 3; c++) {
                m1 += w[c] * mu[c][j];
                m2 += w[c] * (var[c][j] + mu[c][j] * mu[c][j]);
                m4 += w[c] * (Math.pow(mu[c][j], 4) + 6 * mu[c][j] * mu[c][j] * var[c][j] + 3 * var[c][j] * var[c][j]);
            }
            double e1 = 0, e2 = 0;
            for (float[] row : s) {
                e1 += row[j];
                e2 += (double) row[j] * row[j];
            }
            e1 /= n;
            e2 /= n;
            assertEquals(m1, e1, 5 * Math.sqrt((m2 - m1 * m1) / n), "mean of dim " + j);
            assertEquals(m2, e2, 5 * Math.sqrt((m4 - m2 * m2) / n), "second moment of dim " + j);
        }
        // Cross moment of dims 0 and 1: components are diagonal, so E[x0 x1] = Σπ μ0 μ1.
        double c01 = 0, c0011 = 0;
        for (int c = 0; c < 3; c++) {
            c01 += w[c] * mu[c][0] * mu[c][1];
            c0011 += w[c] * (var[c][0] + mu[c][0] * mu[c][0]) * (var[c][1] + mu[c][1] * mu[c][1]);
        }
        double e01 = 0;
        for (float[] row : s) e01 += (double) row[0] * row[1];
        e01 /= n;
        assertEquals(c01, e01, 5 * Math.sqrt((c0011 - c01 * c01) / n), "cross moment of dims 0 and 1");

        // Rows come component by component (dim 0 separates them: means 0, 20, 40), with counts ≈ nπ.
        int[] counts = new int[3];
        int previous = 0;
        for (float[] row : s) {
            int c = (int) Math.round(row[0] / 20.0);
            c = Math.max(0, Math.min(2, c));
            assertTrue(c >= previous, "samples are concatenated in component order");
            previous = c;
            counts[c]++;
        }
        for (int c = 0; c < 3; c++) {
            assertEquals(w[c] * n, counts[c], 5 * Math.sqrt(n * w[c] * (1 - w[c])), "count of component " + c);
        }
    }

    @Test
    void sampleIntoWritesRowMajorAtTheOffsetAndNormalisesWeights() {
        // Unnormalised weights 1:3 behave as 0.25:0.75 (torch's Multinomial normalises).
        GaussianMixture g = GaussianMixture.of(new double[] {1, 3}, new double[][] {{-5}, {5}},
                new double[][] {{1e-4}, {1e-4}}, Density.TEXTBOOK);
        float[] out = new float[2 + 40_000];
        out[0] = 123f;
        out[1] = 456f;
        g.sampleInto(out, 2, 40_000, new SplittableRandom(1));
        assertEquals(123f, out[0]);
        assertEquals(456f, out[1]);
        int pos = 0;
        for (int i = 2; i < out.length; i++) if (out[i] > 0) pos++;
        assertEquals(30_000, pos, 5 * Math.sqrt(40_000 * 0.25 * 0.75));
        assertThrows(IllegalArgumentException.class, () -> g.sampleInto(new float[10], 0, 11, new SplittableRandom(1)));
    }

    // ------------------------------------------------------------ densities by hand

    /**
     * d = 2, K = 2, x = (2, 1).
     * Component 1: π = 0.25, μ = (0, 1), var = (4, 1) → σ = (2, 1).
     * Component 2: π = 0.75, μ = (1, −1), var = (1, 9) → σ = (1, 3).
     *
     * <p>Reference (divide by σ, add Σ log σ):
     * comp 1: Σ (x−μ)²/σ = (2−0)²/2 + (1−1)²/1 = 2 + 0 = 2;       Σ log σ = log 2 + log 1 = log 2
     *         log p̃₁ = −½[2·log 2π + 2 + log 2]     = −3.184450656689318
     * comp 2: Σ (x−μ)²/σ = (2−1)²/1 + (1+1)²/3 = 1 + 4/3 = 7/3;   Σ log σ = log 1 + log 3 = log 3
     *         log p̃₂ = −½[2·log 2π + 7/3 + log 3]   = −3.5538498774100673
     * log p(x) = log(0.25·e^{log p̃₁} + 0.75·e^{log p̃₂}) = −3.447944860962199
     *
     * <p>Textbook (divide by var, add Σ log var):
     * comp 1: 4/4 + 0/1 = 1, Σ log var = log 4;  comp 2: 1/1 + 4/9, Σ log var = log 9
     * log p(x) = log(0.25·e^{−½[2 log 2π + 1 + log 4]} + 0.75·e^{−½[2 log 2π + 13/9 + log 9]})
     *          = −3.461240090864651
     */
    @Test
    void referenceQuirkDensityMatchesHandArithmeticAndDiffersFromTextbook() {
        double[] w = {0.25, 0.75};
        double[][] mu = {{0, 1}, {1, -1}};
        double[][] var = {{4, 1}, {1, 9}};
        double[] x = {2, 1};
        double log2pi = Math.log(2 * Math.PI);

        double lp1 = -0.5 * (2 * log2pi + 2.0 + Math.log(2));
        double lp2 = -0.5 * (2 * log2pi + 7.0 / 3 + Math.log(3));
        double expectedRef = Math.log(0.25 * Math.exp(lp1) + 0.75 * Math.exp(lp2));
        assertEquals(-3.447944860962199, expectedRef, 1e-14, "the comment's arithmetic");

        GaussianMixture ref = GaussianMixture.of(w, mu, var, Density.REFERENCE);
        GaussianMixture tb = GaussianMixture.of(w, mu, var, Density.TEXTBOOK);
        assertEquals(-3.447944860962199, ref.logLikelihood(x), 1e-12);
        assertEquals(-3.461240090864651, tb.logLikelihood(x), 1e-12);
        assertNotEquals(ref.logLikelihood(x), tb.logLikelihood(x), 1e-3);

        // Single-component checks isolate each formula: log π₁ + log p̃₁ with π₁ = 1.
        GaussianMixture one = GaussianMixture.of(new double[] {1}, new double[][] {mu[0]}, new double[][] {var[0]},
                Density.REFERENCE);
        assertEquals(lp1, one.logLikelihood(x), 1e-12);
    }

    // ------------------------------------------------------------ M-step by hand

    /**
     * x (n = 3, d = 2) = [(1, 0), (2, 0), (4, 3)], responsibilities r = [[1, 0], [½, ½], [0, 1]], ε = ½
     * (large so that its two roles are visible).
     * comp 0: S = 1 + ½ + ½ = 2, π = 2/3.
     *   dim 0: Σrx = 1 + 1 = 2 → μ = 1;  Σrx² = 1 + 2 = 3 → var = 3/2 − 2·1·(2/2) + 1² + ½ = 1
     *   dim 1: Σrx = 0 → μ = 0;          Σrx² = 0 → var = 0 − 0 + 0 + ½ = ½
     * comp 1: S = ½ + 1 + ½ = 2, π = 2/3.
     *   dim 0: Σrx = 1 + 4 = 5 → μ = 2.5; Σrx² = 2 + 16 = 18 → var = 9 − 2·2.5·2.5 + 6.25 + ½ = 3.25
     *   dim 1: Σrx = 3 → μ = 1.5;         Σrx² = 9 → var = 4.5 − 2·1.5·1.5 + 2.25 + ½ = 2.75
     * (The textbook weighted estimate would give μ = 4/3, var ≈ 0.22 for comp 0, dim 0.)
     */
    @Test
    void mStepFollowsTheReferenceFormulas() {
        double[][] x = {{1, 0}, {2, 0}, {4, 3}};
        double[] resp = {1, 0, 0.5, 0.5, 0, 1};
        GaussianMixtureEm.Params p = GaussianMixtureEm.mStep(x, 3, 2, resp, 2, 0.5);
        assertArrayEquals(new double[] {2.0 / 3, 2.0 / 3}, p.weights(), 1e-15);
        assertArrayEquals(new double[] {1, 0, 2.5, 1.5}, p.means(), 1e-15);
        assertArrayEquals(new double[] {1, 0.5, 3.25, 2.75}, p.variances(), 1e-14);
    }

    // ------------------------------------------------------------ k-means initialisation

    @Test
    void kMeansRestartCostIsSumOfPerClusterMeanDistancesAndNaNForAnEmptyCluster() {
        // Squared distances [centre][row]. Row 0 → centre 0 (1 < 9), row 1 → centre 1 (0 < 4),
        // row 2 → centre 1 (16 < 100). Cost = mean(√1) + mean(√0, √16) = 1 + 2 = 3.
        double[][] dist2 = {{1, 4, 100}, {9, 0, 16}};
        int[] cluster = new int[3];
        KMeansInit.assignNearest(dist2, 3, 2, cluster);
        assertArrayEquals(new int[] {0, 1, 1}, cluster);
        assertEquals(3.0, KMeansInit.restartCost(dist2, cluster, 3, 2), 1e-15);

        // Every row nearer centre 0 ⇒ cluster 1 empty ⇒ NaN (never selected).
        double[][] lopsided = {{1, 1, 1}, {4, 4, 4}};
        KMeansInit.assignNearest(lopsided, 3, 2, cluster);
        assertTrue(Double.isNaN(KMeansInit.restartCost(lopsided, cluster, 3, 2)));

        // Ties go to the lowest index.
        KMeansInit.assignNearest(new double[][] {{2}, {2}}, 1, 2, cluster);
        assertEquals(0, cluster[0]);
    }

    @Test
    void kMeansCentresAreMappedBackToDataUnits() {
        // Two tight groups far from the origin; after Lloyd the centres are the group means in
        // data units (rescaling by the global min/max is undone).
        double[][] x = {{100, 200}, {101, 201}, {102, 199}, {110, 190}, {111, 191}, {112, 189}};
        double[] mu = KMeansInit.initialMeans(GaussianMixtureData.of(x), 2, 50, new SplittableRandom(4));
        double[][] expected = {{101, 200}, {111, 190}};
        int first = mu[0] < 105 ? 0 : 1;
        assertArrayEquals(expected[0], new double[] {mu[first * 2], mu[first * 2 + 1]}, 1e-9);
        assertArrayEquals(expected[1], new double[] {mu[(1 - first) * 2], mu[(1 - first) * 2 + 1]}, 1e-9);
    }

    @Test
    void kMeansPicksDistinctRows() {
        double[][] cols = {{0, 1, 2, 3, 4, 5}}; // d = 1, row i has value i
        double[] centres = KMeansInit.distinctRows(cols, 6, 1, 6, new SplittableRandom(8));
        double[] sorted = centres.clone();
        java.util.Arrays.sort(sorted);
        assertArrayEquals(new double[] {0, 1, 2, 3, 4, 5}, sorted);
    }

    // ------------------------------------------------------------ loop, determinism, performance

    /** Four blobs in d = 16. */
    private static double[][] blobs(int n, int d, long seed) {
        Random rnd = new Random(seed);
        double[][] x = new double[n][d];
        for (int i = 0; i < n; i++) {
            int c = i % 4;
            for (int j = 0; j < d; j++) x[i][j] = 3 * c * ((j + c) % 3 - 1) + rnd.nextGaussian();
        }
        return x;
    }

    @Test
    void equalSeedsGiveIdenticalFitsAndSamples() {
        double[][] x = blobs(200, 16, 5);
        Options o = Options.reference(200);
        GaussianMixture a = GaussianMixture.fit(x, o, 77);
        GaussianMixture b = GaussianMixture.fit(x, o, 77);
        assertArrayEquals(a.weights(), b.weights());
        for (int c = 0; c < a.components(); c++) {
            assertArrayEquals(a.means()[c], b.means()[c]);
            assertArrayEquals(a.variances()[c], b.variances()[c]);
        }
        assertEquals(a.iterations(), b.iterations());
        float[][] sa = a.sample(300, new SplittableRandom(9));
        float[][] sb = b.sample(300, new SplittableRandom(9));
        for (int i = 0; i < sa.length; i++) assertArrayEquals(sa[i], sb[i]);
    }

    @Test
    void maxIterationsZeroRunsExactlyOneEmStepFromTheKMeansStart() {
        double[][] x = blobs(120, 16, 6);
        Options o = Options.reference(0);
        GaussianMixture g = GaussianMixture.fit(x, o, 123);
        assertEquals(1, g.iterations());
        assertFalse(g.converged(), "the first step's gain is +∞ (previous score −∞)");

        // Replay that single step by hand: same seed ⇒ same k-means start, var = 1, π = 1/K.
        GaussianMixtureData data = GaussianMixtureData.of(x);
        GaussianMixtureEm.Params init = GaussianMixtureEm.initialParams(data, o, new SplittableRandom(123));
        for (double v : init.variances()) assertEquals(1.0, v);
        for (double w : init.weights()) assertEquals(0.2, w);
        double[] weighted = new double[120 * 5], lse = new double[120], resp = new double[120 * 5];
        GaussianMixtureEm.evaluate(data, init, Density.REFERENCE, weighted, lse);
        GaussianMixtureEm.responsibilities(weighted, lse, 120, 5, resp);
        GaussianMixtureEm.Params step = GaussianMixtureEm.mStep(data.rows(), 120, 16, resp, 5, 1e-6);
        assertArrayEquals(step.weights(), g.weights());
        for (int c = 0; c < 5; c++) {
            assertArrayEquals(java.util.Arrays.copyOfRange(step.means(), c * 16, c * 16 + 16), g.means()[c]);
            assertArrayEquals(java.util.Arrays.copyOfRange(step.variances(), c * 16, c * 16 + 16), g.variances()[c]);
        }
    }

    @Test
    void stepCapIsMaxIterationsPlusOneWhenNeverConverging() {
        double[][] x = blobs(120, 16, 6);
        GaussianMixture g = GaussianMixture.fit(x, Options.reference(3).withDelta(Double.NEGATIVE_INFINITY), 1);
        assertEquals(4, g.iterations());
        assertFalse(g.converged());
        GaussianMixture easy = GaussianMixture.fit(x, Options.reference(200), 1);
        assertTrue(easy.converged() && easy.iterations() <= 201, easy.toString());
    }

    @Test
    void fullSizeFitRunsEveryStepAndStaysFinite() {
        int n = 500, d = 768;
        Random rnd = new Random(3);
        float[] x = new float[n * d];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) x[i * d + j] = (float) (0.3 * ((i % 5) - 2) * Math.sin(j + i % 5) + 0.1 * rnd.nextGaussian());
        }
        GaussianMixture g = GaussianMixture.fit(x, n, d, Options.reference(500).withDelta(Double.NEGATIVE_INFINITY), 1);
        assertEquals(501, g.iterations());
        assertTrue(Double.isFinite(g.trainingScore()));
    }

    // ------------------------------------------------------------ degenerate inputs

    @Test
    void fewerRowsThanComponentsIsRefusedNamingNAndK() {
        double[][] x = {{1, 2}, {3, 4}, {5, 6}};
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GaussianMixture.fit(x, Options.reference(10), 0));
        assertTrue(e.getMessage().contains("n = 3") && e.getMessage().contains("K = 5"), e.getMessage());
        // n = K is enough.
        GaussianMixture g = GaussianMixture.fit(x, Options.reference(10).withComponents(3), 0);
        assertEquals(3, g.components());
    }

    @Test
    void constantColumnStaysFiniteWithEpsilonVariance() {
        double[][] x = blobs(100, 3, 8);
        for (double[] row : x) row[1] = 7.0;
        GaussianMixture g = GaussianMixture.fit(x, Options.reference(100).withComponents(2), 4);
        assertTrue(Double.isFinite(g.trainingScore()));
        for (int c = 0; c < 2; c++) {
            assertEquals(7.0, g.means()[c][1], 1e-6);
            double v = g.variances()[c][1];
            assertTrue(v >= 1e-6 && v < 1e-5, "constant column variance " + v + " ≈ ε");
        }
        for (float[] row : g.sample(100, new SplittableRandom(2))) {
            for (float f : row) assertTrue(Float.isFinite(f));
        }
    }

    @Test
    void allEqualDataAvoidsTheZeroRangeDivision() {
        double[][] x = new double[10][4];
        for (double[] row : x) java.util.Arrays.fill(row, 3.0);
        GaussianMixture g = GaussianMixture.fit(x, Options.reference(50), 0);
        assertTrue(Double.isFinite(g.trainingScore()), g.toString());
        // Five identical components share the rows equally: Σr = 10/5 = 2, S = 2 + ε. The M-step's
        // ε in S shrinks the mean: μ = 3·2/S; var = 9·2/S − 2μ·μ + μ² + ε = 9·2/S − μ² + ε.
        double s = 2 + 1e-6, mu = 3 * 2 / s, var = 9 * 2 / s - mu * mu + 1e-6;
        for (double[] m : g.means()) for (double v : m) assertEquals(mu, v, 1e-12);
        for (double[] vs : g.variances()) for (double v : vs) assertEquals(var, v, 1e-12);
        assertTrue(var > 1e-6 && var < 1e-5);
    }

    @Test
    void nonFiniteValuesAreRefusedNamingRowAndColumn() {
        double[][] x = blobs(20, 3, 1);
        x[2][1] = Double.NaN;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GaussianMixture.fit(x, Options.reference(10), 0));
        assertTrue(e.getMessage().contains("row 2") && e.getMessage().contains("column 1"), e.getMessage());

        float[] f = new float[20 * 3];
        f[4 * 3 + 2] = Float.POSITIVE_INFINITY;
        e = assertThrows(IllegalArgumentException.class, () -> GaussianMixture.fit(f, 20, 3, Options.reference(10), 0));
        assertTrue(e.getMessage().contains("row 4") && e.getMessage().contains("column 2"), e.getMessage());
    }

    @Test
    void emptyInputsAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GaussianMixture.fit(new double[0][], Options.reference(10), 0));
        assertTrue(e.getMessage().contains("n = 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> GaussianMixture.fit(new double[6][0], Options.reference(10), 0));
        assertTrue(e.getMessage().contains("d = 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> GaussianMixture.fit(new float[0], 0, 768, Options.reference(10), 0));
        assertTrue(e.getMessage().contains("n = 0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> GaussianMixture.fit(new float[10], 5, 3, Options.reference(10), 0));
        assertThrows(IllegalArgumentException.class,
                () -> GaussianMixture.fit(new double[][] {{1, 2}, {3}}, Options.reference(10).withComponents(1), 0));
    }

    @Test
    void overflowingDataFailsAfterTenAttemptsInsteadOfLooping() {
        double[][] x = blobs(12, 2, 2);
        for (double[] row : x) for (int j = 0; j < row.length; j++) row[j] *= 1e200;
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> GaussianMixture.fit(x, Options.reference(5).withComponents(2).withRestarts(2), 0));
        assertTrue(e.getMessage().contains("10 attempts"), e.getMessage());
    }

    @Test
    void eachOptionsCopyChangesItsOwnSettingAndIsValidated() {
        Options o = Options.reference(200);
        assertEquals(new Options(3, 200, Density.REFERENCE, 50, 1e-6, 1e-3), o.withComponents(3));
        assertEquals(new Options(5, 7, Density.REFERENCE, 50, 1e-6, 1e-3), o.withMaxIterations(7));
        assertEquals(new Options(5, 200, Density.TEXTBOOK, 50, 1e-6, 1e-3), o.withDensity(Density.TEXTBOOK));
        assertEquals(new Options(5, 200, Density.REFERENCE, 4, 1e-6, 1e-3), o.withRestarts(4));
        assertEquals(new Options(5, 200, Density.REFERENCE, 50, 1e-3, 1e-3), o.withEpsilon(1e-3));
        assertEquals(new Options(5, 200, Density.REFERENCE, 50, 1e-6, 0.5), o.withDelta(0.5));
        assertThrows(IllegalArgumentException.class, () -> o.withRestarts(0));
    }

    // ------------------------------------------------------------ single-Gaussian ablation

    @Test
    void singleGaussianUsesMeanAndUnbiasedVariance() {
        // mean = (3, 4); unbiased var = ((−2)² + 0² + 2²)/2 = 4 and ((−2)² + (−2)² + 4²)/2 = 12.
        GaussianMixture g = GaussianMixture.singleGaussian(new double[][] {{1, 2}, {3, 2}, {5, 8}});
        assertEquals(1, g.components());
        assertArrayEquals(new double[] {1.0}, g.weights());
        assertArrayEquals(new double[] {3, 4}, g.means()[0], 1e-15);
        assertArrayEquals(new double[] {4, 12}, g.variances()[0], 1e-14);

        int n = 200_000;
        float[][] s = g.sample(n, new SplittableRandom(3));
        double m0 = 0, m1 = 0, v0 = 0, v1 = 0;
        for (float[] r : s) {
            m0 += r[0];
            m1 += r[1];
        }
        m0 /= n;
        m1 /= n;
        for (float[] r : s) {
            v0 += (r[0] - m0) * (r[0] - m0);
            v1 += (r[1] - m1) * (r[1] - m1);
        }
        v0 /= n - 1;
        v1 /= n - 1;
        assertEquals(3, m0, 5 * Math.sqrt(4.0 / n));
        assertEquals(4, m1, 5 * Math.sqrt(12.0 / n));
        assertEquals(4, v0, 5 * 4 * Math.sqrt(2.0 / n));
        assertEquals(12, v1, 5 * 12 * Math.sqrt(2.0 / n));

        assertThrows(IllegalArgumentException.class, () -> GaussianMixture.singleGaussian(new double[][] {{1, 2}}));
    }
}
