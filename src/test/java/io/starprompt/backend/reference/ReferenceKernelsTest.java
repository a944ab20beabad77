package io.starprompt.backend.reference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Checks of the float64 reference kernels: central finite differences against every analytic backward,
 * hand-computed small cases for the rest, and the one argument the kernels still check (the retrieval selection).
 */
class ReferenceKernelsTest {
    /** Finite-difference step, applied to float inputs (the realised step is measured exactly). */
    private static final double STEP = 1e-3;
    /** Relative tolerance of gradient checks, relative to |analytic| plus the largest |analytic| of the tensor. */
    private static final double GRAD_RTOL = 1e-3;

    // ================================================================ finite-difference machinery

    private static float[] randn(Random rng, int n, double scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (scale * rng.nextGaussian());
        return x;
    }

    /** Σ_i weights[i]·values[i] in double. */
    private static double weighted(float[] weights, float[] values) {
        double acc = 0.0;
        for (int i = 0; i < values.length; i++) acc += (double) weights[i] * values[i];
        return acc;
    }

    /** Central differences of loss with respect to every element of x (x is restored afterwards). */
    private static double[] numericGradient(float[] x, DoubleSupplier loss) {
        double[] grad = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            float original = x[i];
            float plus = (float) (original + STEP);
            float minus = (float) (original - STEP);
            x[i] = plus;
            double lossPlus = loss.getAsDouble();
            x[i] = minus;
            double lossMinus = loss.getAsDouble();
            x[i] = original;
            grad[i] = (lossPlus - lossMinus) / ((double) plus - (double) minus);
        }
        return grad;
    }

    private static double maxAbs(float[] x) {
        double m = 0.0;
        for (float v : x) m = Math.max(m, Math.abs(v));
        return m;
    }

    /** analytic ≈ numeric elementwise; also rejects an all-zero analytic gradient (the check would be vacuous). */
    private static void assertGradient(String what, double[] numeric, float[] analytic) {
        assertEquals(numeric.length, analytic.length, what + ": length");
        double scale = maxAbs(analytic);
        assertTrue(scale > 1e-3, what + ": analytic gradient is (almost) zero, max |g| = " + scale);
        for (int i = 0; i < analytic.length; i++) {
            double tol = GRAD_RTOL * (Math.abs(analytic[i]) + scale);
            assertEquals(numeric[i], analytic[i], tol, what + "[" + i + "]");
        }
    }

    private static void assertClose(float[] expected, float[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) assertEquals(expected[i], actual[i], tol, what + "[" + i + "]");
    }

    // ================================================================ gemm, bias, axpy

    @Test
    void gemmPlainOverwritesCWhenBetaIsZero() {
        float[] a = {1, 2, 3, 4, 5, 6};            // 2x3
        float[] b = {7, 8, 9, 10, 11, 12};         // 3x2
        float[] c = {Float.NaN, Float.NaN, Float.NaN, Float.NaN};
        DenseKernels.gemm(false, false, 2, 2, 3, 1f, a, 0, b, 0, 0f, c, 0, 1);
        assertArrayEquals(new float[] {58, 64, 139, 154}, c);
    }

    @Test
    void gemmBothTransposedWithAlphaAndBeta() {
        float[] aT = {1, 4, 2, 5, 3, 6};           // A^T stored 3x2, A = [[1,2,3],[4,5,6]]
        float[] bT = {7, 9, 11, 8, 10, 12};        // B^T stored 2x3, B = [[7,8],[9,10],[11,12]]
        float[] c = {1, 1, 1, 1};
        DenseKernels.gemm(true, true, 2, 2, 3, 2f, aT, 0, bT, 0, 0.5f, c, 0, 1);
        assertArrayEquals(new float[] {116.5f, 128.5f, 278.5f, 308.5f}, c);
    }

    @Test
    void gemmBatchedSharedBAndPaddedC() {
        float[] a = {1, 2, 3, 4};                  // two 1x2 items
        float[] bT = {1, 2, 3, 4};                 // B stored 2x2 transposed: op(B) = [[1,3],[2,4]], shared
        float[] c = {0, 0, 99, 0, 0};              // strideC 3: element 2 is padding
        DenseKernels.gemm(false, true, 1, 2, 2, 1f, a, 2, bT, 0, 0f, c, 3, 2);
        assertArrayEquals(new float[] {5, 11, 99, 11, 25}, c);
    }

    @Test
    void gemmBatchedSharedTransposedAWithBetaOne() {
        float[] aT = {1, 2, 3, 4};                 // A stored k x m: op(A) = [[1,3],[2,4]], shared
        float[] b = {1, 1, 2, -1};                 // two 2x1 items
        float[] c = {10, 10, 10, 10};
        DenseKernels.gemm(true, false, 2, 1, 2, 1f, aT, 0, b, 2, 1f, c, 2, 2);
        assertArrayEquals(new float[] {14, 16, 9, 10}, c);
    }

    @Test
    void addBiasAndAxpy() {
        float[] x = {1, 2, 3, 4, 5, 6};
        DenseKernels.addBias(x, new float[] {10, 20, 30}, 2, 3);
        assertArrayEquals(new float[] {11, 22, 33, 14, 25, 36}, x);
        float[] y = {1, 1, 1};
        DenseKernels.axpy(y, new float[] {1, 2, -3}, 0.5f, 3);
        assertArrayEquals(new float[] {1.5f, 2f, -0.5f}, y);
    }

    // ================================================================ layer norm

    @Test
    void layerNormForwardHandCase() {
        float[] x = {1, 2, 3, 4};
        float[] y = new float[4];
        float[] mean = new float[1];
        float[] rstd = new float[1];
        NormKernels.layerNormForward(x, new float[] {1, 1, 1, 2}, new float[] {0, 0, 0, 1}, 0f, y, mean,
                rstd, 1, 4);
        double s = Math.sqrt(1.25);
        assertEquals(2.5f, mean[0], 1e-7);
        assertEquals(1 / s, rstd[0], 1e-6);
        assertClose(new float[] {(float) (-1.5 / s), (float) (-0.5 / s), (float) (0.5 / s), (float) (2 * 1.5 / s + 1)},
                y, 1e-6, "y");
    }

    @Test
    void layerNormBackwardMatchesFiniteDifferencesAndAccumulates() {
        Random rng = new Random(11);
        int rows = 3;
        int cols = 5;
        float eps = 1e-5f;
        float[] x = randn(rng, rows * cols, 1.0);
        float[] gamma = randn(rng, cols, 0.5);
        for (int j = 0; j < cols; j++) gamma[j] += 1f;
        float[] beta = randn(rng, cols, 0.5);
        float[] upstream = randn(rng, rows * cols, 1.0);

        float[] y = new float[rows * cols];
        float[] mean = new float[rows];
        float[] rstd = new float[rows];
        DoubleSupplier loss = () -> {
            NormKernels.layerNormForward(x, gamma, beta, eps, y, mean, rstd, rows, cols);
            return weighted(upstream, y);
        };
        loss.getAsDouble();
        float[] dx = new float[rows * cols];
        float[] dgamma = new float[cols];
        float[] dbeta = new float[cols];
        Arrays.fill(dgamma, 0.5f);
        Arrays.fill(dbeta, -0.25f);
        NormKernels.layerNormBackward(upstream, x, gamma, mean, rstd, dx, dgamma, dbeta, rows, cols);
        for (int j = 0; j < cols; j++) {
            dgamma[j] -= 0.5f;
            dbeta[j] += 0.25f;
        }

        assertGradient("dx", numericGradient(x, loss), dx);
        assertGradient("dgamma", numericGradient(gamma, loss), dgamma);
        assertGradient("dbeta", numericGradient(beta, loss), dbeta);

        float[] dxAgain = new float[rows * cols];
        NormKernels.layerNormBackward(upstream, x, gamma, mean, rstd, dxAgain, null, null, rows, cols);
        assertArrayEquals(dx, dxAgain, "dx without dgamma/dbeta");
    }

    // ================================================================ activations

    @Test
    void erfcMatchesKnownValues() {
        double[][] cases = {
            {0.5, 0.4795001221869535}, {1.5, 0.033894853524689274}, {2, 0.004677734981047265},
            {3, 2.2090496998585438e-05}, {6, 2.1519736712498916e-17}, {-1, 1.842700792949715},
            {10, 2.088487583762545e-45}, {0, 1.0},
        };
        for (double[] c : cases) {
            assertEquals(c[1], DenseKernels.erfc(c[0]), 1e-13 * c[1], "erfc(" + c[0] + ")");
        }
    }

    @Test
    void geluAndQuickGeluForwardValues() {
        float[] x = {1, -1, 0.5f, -3, -6, 2.5f};
        float[] gelu = {0.8413447460685429f, -0.15865525393145707f, 0.34573123063700656f, -0.004049694094890287f,
            -5.919525870226207e-09f, 2.4844758366855597f};
        float[] quick = {0.8457957659328212f, -0.1542042340671787f, 0.35038843660638014f, -0.01807130970778597f,
            -0.00022035354978739246f, 2.46501383495143f};
        float[] y = new float[x.length];
        DenseKernels.geluForward(x, y, x.length);
        for (int i = 0; i < x.length; i++) assertEquals(gelu[i], y[i], 1e-6 * Math.abs(gelu[i]), "gelu " + x[i]);
        DenseKernels.quickGeluForward(x, y, x.length);
        for (int i = 0; i < x.length; i++) assertEquals(quick[i], y[i], 1e-6 * Math.abs(quick[i]), "qgelu " + x[i]);
    }

    @Test
    void geluBackwardMatchesFiniteDifferences() {
        assertBackwardMatchesFiniteDifferences("gelu dx", 21, DenseKernels::geluForward,
                DenseKernels::geluBackward);
    }

    @Test
    void quickGeluBackwardMatchesFiniteDifferences() {
        assertBackwardMatchesFiniteDifferences("quickgelu dx", 22, DenseKernels::quickGeluForward,
                DenseKernels::quickGeluBackward);
    }

    /** An elementwise activation's forward kernel: y = f(x) over n elements. */
    private interface Activation {
        void forward(float[] x, float[] y, int n);
    }

    /** Its backward kernel: dx = f'(x) · upstream over n elements. */
    private interface ActivationBackward {
        void backward(float[] x, float[] upstream, float[] dx, int n);
    }

    /** The backward kernel against central differences of Σ upstream · f(x) on 12 random inputs. */
    private static void assertBackwardMatchesFiniteDifferences(String what, long seed, Activation f,
            ActivationBackward df) {
        Random rng = new Random(seed);
        float[] x = randn(rng, 12, 1.5);
        float[] upstream = randn(rng, 12, 1.0);
        float[] y = new float[12];
        float[] dx = new float[12];
        df.backward(x, upstream, dx, 12);
        assertGradient(what, numericGradient(x, () -> {
            f.forward(x, y, 12);
            return weighted(upstream, y);
        }), dx);
    }

    // ================================================================ softmax

    @Test
    void softmaxForwardHandCaseInPlace() {
        float[] x = {0f, (float) Math.log(3), 1000f, 1000f};
        NormKernels.softmaxForward(x, x, 2, 2);
        assertClose(new float[] {0.25f, 0.75f, 0.5f, 0.5f}, x, 1e-7, "softmax");
    }

    @Test
    void softmaxBackwardMatchesFiniteDifferences() {
        Random rng = new Random(31);
        int rows = 2;
        int cols = 5;
        float[] x = randn(rng, rows * cols, 1.0);
        float[] upstream = randn(rng, rows * cols, 1.0);
        float[] y = new float[rows * cols];
        DoubleSupplier loss = () -> {
            NormKernels.softmaxForward(x, y, rows, cols);
            return weighted(upstream, y);
        };
        loss.getAsDouble();
        float[] dx = new float[rows * cols];
        NormKernels.softmaxBackward(y, upstream, dx, rows, cols);
        assertGradient("softmax dx", numericGradient(x, loss), dx);
    }

    // ================================================================ attention

    private static final int B = 2;
    private static final int N = 5;
    private static final int H = 2;
    private static final int HD = 4;
    private static final int LP = 2;
    private static final int W = H * HD;
    private static final float SCALE = 0.5f;

    /** Random attention inputs drawn from rng in this order: q, k, v [B, N, W], pk, pv [B, LP, W], r [B, W]. */
    private static float[][] attentionInputs(Random rng) {
        return new float[][] {randn(rng, B * N * W, 1.0), randn(rng, B * N * W, 1.0), randn(rng, B * N * W, 1.0),
            randn(rng, B * LP * W, 1.0), randn(rng, B * LP * W, 1.0), randn(rng, B * W, 1.0)};
    }

    @ParameterizedTest(name = "causal {0}")
    @CsvSource({"false, 41", "true, 42"})
    void attentionBackwardMatchesFiniteDifferences(boolean causal, long seed) {
        Random rng = new Random(seed);
        float[][] in = attentionInputs(rng);
        float[] q = in[0], k = in[1], v = in[2], pk = in[3], pv = in[4], r = in[5];
        float[] upstream = randn(rng, B * N * W, 1.0);
        float[] out = new float[B * N * W];
        float[] lse = new float[B * H * N];
        DoubleSupplier loss = () -> {
            AttentionKernels.attentionForward(q, k, v, pk, pv, r, out, lse, B, N, N, LP, H, HD, SCALE, causal);
            return weighted(upstream, out);
        };
        loss.getAsDouble();

        float[] dq = new float[q.length];
        float[] dk = new float[k.length];
        float[] dv = new float[v.length];
        float[] dpk = new float[pk.length];
        float[] dpv = new float[pv.length];
        float[] dr = new float[r.length];
        AttentionKernels.attentionBackward(q, k, v, pk, pv, r, out, lse, upstream, dq, dk, dv, dpk, dpv, dr, B, N, N,
                LP, H, HD, SCALE, causal);

        String tag = causal ? " (causal)" : "";
        assertGradient("dq" + tag, numericGradient(q, loss), dq);
        assertGradient("dk" + tag, numericGradient(k, loss), dk);
        assertGradient("dv" + tag, numericGradient(v, loss), dv);
        assertGradient("dpk" + tag, numericGradient(pk, loss), dpk);
        assertGradient("dpv" + tag, numericGradient(pv, loss), dpv);
        assertGradient("dr" + tag, numericGradient(r, loss), dr);
        if (causal) {
            // the last main key is seen by the last query only, so its gradient comes from that row alone
            for (int b = 0; b < B; b++) {
                for (int c = 0; c < W; c++) assertTrue(dk[(b * N + N - 1) * W + c] != 0f, "last key has a gradient");
            }
        }
    }

    @Test
    void attentionLseAndCausalFirstRow() {
        Random rng = new Random(43);
        float[][] in = attentionInputs(rng);
        float[] q = in[0], k = in[1], v = in[2], pk = in[3], pv = in[4], r = in[5];
        float[] out = new float[B * N * W];
        float[] lse = new float[B * H * N];
        AttentionKernels.attentionForward(q, k, v, pk, pv, r, out, lse, B, N, N, LP, H, HD, SCALE, true);

        // lse of (b=1, h=1, i=2): prefix rows 0..1 and main rows 0..2 are visible
        int b = 1;
        int h = 1;
        int i = 2;
        double sumExp = 0.0;
        for (int j = 0; j < LP; j++) sumExp += Math.exp(SCALE * headDot(q, b, i, N, pk, b, j, LP, h));
        for (int j = 0; j <= i; j++) sumExp += Math.exp(SCALE * headDot(q, b, i, N, k, b, j, N, h));
        assertEquals(Math.log(sumExp), lse[(b * H + h) * N + i], 1e-5);

        // without prefix, the causal first query sees only main key 0: out = v[b, 0] + r[b]
        AttentionKernels.attentionForward(q, k, v, null, null, r, out, lse, B, N, N, 0, H, HD, SCALE, true);
        for (int bb = 0; bb < B; bb++) {
            for (int c = 0; c < W; c++) {
                assertEquals(v[bb * N * W + c] + r[bb * W + c], out[bb * N * W + c], 1e-6, "row 0 col " + c);
            }
            for (int hh = 0; hh < H; hh++) {
                double only = SCALE * headDot(q, bb, 0, N, k, bb, 0, N, hh);
                assertEquals(only, lse[(bb * H + hh) * N], 1e-6, "lse of the first causal row");
            }
        }
    }

    /** ⟨x[b, i, head h], y[b2, j, head h]⟩ for [B, rows, H·hd] arrays. */
    private static double headDot(float[] x, int b, int i, int xRows, float[] y, int b2, int j, int yRows, int h) {
        double acc = 0.0;
        for (int e = 0; e < HD; e++) {
            acc += (double) x[(b * xRows + i) * W + h * HD + e] * y[(b2 * yRows + j) * W + h * HD + e];
        }
        return acc;
    }

    // ================================================================ embeddings and token ops

    @Test
    void embeddingGatherAndScatterAdd() {
        float[] table = {0, 1, 10, 11, 20, 21};
        int[] ids = {2, 0, 2};
        float[] out = new float[6];
        EmbeddingKernels.embeddingGather(table, ids, out, 3, 2, 3);
        assertArrayEquals(new float[] {20, 21, 0, 1, 20, 21}, out);

        float[] dtable = {0, 0, 0, 0, 1, 1};
        EmbeddingKernels.embeddingScatterAdd(new float[] {1, 2, 3, 4, 5, 6}, ids, dtable, 3, 2, 3);
        assertArrayEquals(new float[] {3, 4, 0, 0, 7, 9}, dtable);
    }

    @Test
    void tokenSumGatherScatterAdd() {
        float[] x = new float[12];                 // [2, 3, 2] = 0..11
        for (int i = 0; i < 12; i++) x[i] = i;
        float[] sum = new float[4];
        EmbeddingKernels.tokenSum(x, sum, 2, 3, 2);
        assertArrayEquals(new float[] {6, 9, 24, 27}, sum);

        float[] gathered = new float[4];
        EmbeddingKernels.tokenGather(x, new int[] {2, 0}, gathered, 2, 3, 2);
        assertArrayEquals(new float[] {4, 5, 6, 7}, gathered);

        float[] dx = new float[12];
        dx[4] = 1;
        EmbeddingKernels.tokenScatterAdd(new float[] {1, 2, 3, 4}, new int[] {2, 0}, dx, 2, 3, 2);
        assertArrayEquals(new float[] {0, 0, 0, 0, 2, 2, 3, 4, 0, 0, 0, 0}, dx);
    }

    // ================================================================ cross-entropy

    @Test
    void crossEntropyHandCaseIgnoresClassesOutsideRange() {
        float[] logits = {100, 0, 0, 100};
        float[] dlogits = new float[4];
        float loss = LossOptimKernels.crossEntropy(logits, new int[] {1}, 1, 4, 1, 3, dlogits);
        assertEquals(Math.log(2), loss, 1e-7);
        assertArrayEquals(new float[] {0, -0.5f, 0.5f, 0}, dlogits);
    }

    @Test
    void crossEntropyGradientMatchesFiniteDifferences() {
        Random rng = new Random(51);
        int batch = 3;
        int classes = 6;
        int lo = 2;
        int hi = 5;
        int[] labels = {2, 4, 3};
        float[] logits = randn(rng, batch * classes, 2.0);
        float[] dlogits = new float[batch * classes];
        LossOptimKernels.crossEntropy(logits, labels, batch, classes, lo, hi, dlogits);
        double[] numeric = numericGradient(logits,
                () -> LossOptimKernels.crossEntropy(logits, labels, batch, classes, lo, hi, null));
        assertGradient("dlogits", numeric, dlogits);
        for (int b = 0; b < batch; b++) {
            for (int c = 0; c < classes; c++) {
                if (c < lo || c >= hi) assertEquals(0f, dlogits[b * classes + c], "outside [lo, hi)");
            }
        }
    }

    // ================================================================ optimisers

    @Test
    void adamTwoStepsFollowTorchFormula() {
        float lr = 0.1f;
        float beta1 = 0.9f;
        float beta2 = 0.999f;
        float eps = 1e-8f;
        float wd = 0.1f;
        float[] param = {1.0f, -0.5f};
        float[] m = new float[2];
        float[] v = new float[2];
        float[][] grads = {{0.5f, 0.2f}, {-0.25f, 0.1f}};

        // hand formula in double, torch.optim.Adam
        double[] p = {1.0, -0.5};
        double[] mm = new double[2];
        double[] vv = new double[2];
        for (int t = 1; t <= 2; t++) {
            LossOptimKernels.adamStep(param, grads[t - 1], m, v, 2, lr, beta1, beta2, eps, wd, t);
            for (int i = 0; i < 2; i++) {
                double g = grads[t - 1][i] + (double) wd * p[i];
                mm[i] = beta1 * mm[i] + (1 - (double) beta1) * g;
                vv[i] = beta2 * vv[i] + (1 - (double) beta2) * g * g;
                double mHat = mm[i] / (1 - Math.pow(beta1, t));
                double vHat = vv[i] / (1 - Math.pow(beta2, t));
                p[i] -= lr * mHat / (Math.sqrt(vHat) + eps);
            }
            if (t == 1) {
                // first Adam step moves every parameter by lr against the sign of its gradient
                assertClose(new float[] {0.9f, -0.6f}, param, 1e-6, "after step 1");
                assertClose(new float[] {0.06f, 0.015f}, m, 1e-7, "m after step 1");
            }
        }
        assertClose(new float[] {(float) p[0], (float) p[1]}, param, 1e-6, "after step 2");
        assertClose(new float[] {(float) mm[0], (float) mm[1]}, m, 1e-7, "m after step 2");
        assertClose(new float[] {(float) vv[0], (float) vv[1]}, v, 1e-10, "v after step 2");
        assertEquals(0.038f, m[0], 1e-7, "m[0] = 0.9*0.06 + 0.1*(-0.25 + 0.1*0.9)");
        assertEquals(0.85444, param[0], 1e-5, "param[0] after two steps");
    }

    @Test
    void sgdStep() {
        float[] param = {1, 2};
        LossOptimKernels.sgdStep(param, new float[] {0.5f, -1f}, 2, 0.1f, 0.01f);
        assertClose(new float[] {0.949f, 2.098f}, param, 1e-6, "sgd");
    }

    // ================================================================ retrieval

    private static final int LAYERS = 2;
    private static final int BATCH = 4;
    private static final int SEEN = 4;
    private static final int CLASSES = 5;
    private static final int D = 6;
    private static final int DP = 3;
    private static final int PAST = 1;
    /** Selected class of every sample in every layer: 0 is past, 2 is picked twice, 1 never. */
    private static final int[] TARGETS = {2, 0, 2, 3};

    /**
     * Inputs whose argmax is the target class with a wide margin: near-orthogonal unit keys and
     * q[b] = 1.5·keys[target] + 0.5·z with z a unit vector orthogonal to every key.
     */
    private static final class RetrievalCase {
        final float[] q = new float[BATCH * D];
        final float[] keys = new float[SEEN * D];
        final float[] a;
        final float[] p;

        RetrievalCase(long seed) {
            Random rng = new Random(seed);
            double[][] keyRows = new double[SEEN][D];
            for (int c = 0; c < SEEN; c++) {
                for (int e = 0; e < D; e++) keyRows[c][e] = (e == c ? 1.0 : 0.0) + 0.2 * rng.nextGaussian();
                normalize(keyRows[c]);
                for (int e = 0; e < D; e++) keys[c * D + e] = (float) keyRows[c][e];
            }
            double[][] basis = gramSchmidt(keyRows);
            for (int b = 0; b < BATCH; b++) {
                double[] z = new double[D];
                for (int e = 0; e < D; e++) z[e] = rng.nextGaussian();
                for (double[] u : basis) {
                    double dot = 0.0;
                    for (int e = 0; e < D; e++) dot += z[e] * u[e];
                    for (int e = 0; e < D; e++) z[e] -= dot * u[e];
                }
                normalize(z);
                for (int e = 0; e < D; e++) q[b * D + e] = (float) (1.5 * keyRows[TARGETS[b]][e] + 0.5 * z[e]);
            }
            a = randn(rng, LAYERS * CLASSES * D, 0.3);
            p = randn(rng, LAYERS * CLASSES * DP, 1.0);
        }

        private static void normalize(double[] x) {
            double norm = 0.0;
            for (double v : x) norm += v * v;
            norm = Math.sqrt(norm);
            for (int e = 0; e < x.length; e++) x[e] /= norm;
        }

        /** Orthonormal basis of the span of the rows. */
        private static double[][] gramSchmidt(double[][] rows) {
            double[][] basis = new double[rows.length][];
            for (int i = 0; i < rows.length; i++) {
                double[] u = rows[i].clone();
                for (int j = 0; j < i; j++) {
                    double dot = 0.0;
                    for (int e = 0; e < u.length; e++) dot += u[e] * basis[j][e];
                    for (int e = 0; e < u.length; e++) u[e] -= dot * basis[j][e];
                }
                normalize(u);
                basis[i] = u;
            }
            return basis;
        }
    }

    @Test
    void retrievalForwardWithUniformModulationIsFiveTimesCosine() {
        RetrievalCase in = new RetrievalCase(61);
        float[] a = new float[LAYERS * CLASSES * D];  // softmax of zeros is uniform: s = 5 cos(q, k)
        float[] sims = new float[LAYERS * BATCH * SEEN];
        int[] sel = new int[LAYERS * BATCH];
        float[] sp = new float[LAYERS * BATCH * DP];
        RetrievalKernels.retrievalForward(in.q, in.keys, a, in.p, BATCH, SEEN, CLASSES, D, DP, LAYERS, true, sims,
                sel, sp);
        for (int l = 0; l < LAYERS; l++) {
            for (int b = 0; b < BATCH; b++) {
                for (int c = 0; c < SEEN; c++) {
                    double dot = 0;
                    double qq = 0;
                    double kk = 0;
                    for (int e = 0; e < D; e++) {
                        dot += in.q[b * D + e] * in.keys[c * D + e];
                        qq += in.q[b * D + e] * in.q[b * D + e];
                        kk += in.keys[c * D + e] * in.keys[c * D + e];
                    }
                    assertEquals(5 * dot / Math.sqrt(qq * kk), sims[(l * BATCH + b) * SEEN + c], 1e-5, "sim");
                }
                int s = sel[l * BATCH + b];
                for (int c = 0; c < SEEN; c++) {
                    float sim = sims[(l * BATCH + b) * SEEN + c];
                    float chosen = sims[(l * BATCH + b) * SEEN + s];
                    assertTrue(c < s ? sim < chosen : sim <= chosen, "sel is the first maximum");
                }
                for (int e = 0; e < DP; e++) {
                    float w = sims[(l * BATCH + b) * SEEN + s];
                    assertEquals(w * in.p[(l * CLASSES + s) * DP + e], sp[(l * BATCH + b) * DP + e], 1e-5, "sp");
                }
            }
        }
    }

    @Test
    void retrievalTiesPickTheLowestIndexAndNoModulationUsesWeightOne() {
        float[] q = {1, 2};
        float[] keys = {0.6f, 0.8f, 0.6f, 0.8f};    // two identical keys
        float[] a = new float[2 * 2];
        float[] p = {1, 2, 3, 4};                   // [1 layer, 2 classes, dp 2]
        float[] sims = new float[2];
        int[] sel = {-1};
        float[] sp = new float[2];
        RetrievalKernels.retrievalForward(q, keys, a, p, 1, 2, 2, 2, 2, 1, false, sims, sel, sp);
        assertEquals(0, sel[0]);
        assertEquals(sims[0], sims[1]);
        assertEquals(5 * (0.6 + 1.6) / Math.sqrt(5), sims[0], 1e-6);
        assertArrayEquals(new float[] {1, 2}, sp);
    }

    /** With modulation dA and dP match finite differences; without it dA is zero (no modulation gradient). */
    @ParameterizedTest(name = "modulate {0}")
    @CsvSource({"true, 62", "false, 63"})
    void retrievalBackwardMatchesFiniteDifferences(boolean modulate, long seed) {
        RetrievalCase in = new RetrievalCase(seed);
        float[] upstream = randn(new Random(seed + 1000), LAYERS * BATCH * DP, 1.0);
        float[] sims = new float[LAYERS * BATCH * SEEN];
        int[] sel = new int[LAYERS * BATCH];
        float[] sp = new float[LAYERS * BATCH * DP];
        DoubleSupplier loss = () -> {
            RetrievalKernels.retrievalForward(in.q, in.keys, in.a, in.p, BATCH, SEEN, CLASSES, D, DP, LAYERS, modulate,
                    sims, sel, sp);
            return weighted(upstream, sp);
        };
        loss.getAsDouble();
        assertStableArgmax(sims, sel);

        float[] da = new float[in.a.length];
        float[] dpGrad = new float[in.p.length];
        Arrays.fill(da, Float.NaN);
        Arrays.fill(dpGrad, Float.NaN);
        RetrievalKernels.retrievalBackward(in.q, in.keys, in.a, in.p, sims, sel, upstream, BATCH, SEEN, CLASSES, PAST,
                D, DP, LAYERS, modulate, da, dpGrad);
        double[] numericA = numericGradient(in.a, loss);
        double[] numericP = numericGradient(in.p, loss);

        String tag = modulate ? " (modulate)" : " (no modulation)";
        for (int l = 0; l < LAYERS; l++) {
            for (int c = 0; c < CLASSES; c++) {
                boolean trained = c >= PAST && c < SEEN && contains(TARGETS, c);
                float[] analyticA = row(da, (l * CLASSES + c) * D, D);
                float[] analyticP = row(dpGrad, (l * CLASSES + c) * DP, DP);
                String where = " layer " + l + " class " + c + tag;
                if (trained && modulate) {
                    assertGradient("dA" + where, row(numericA, (l * CLASSES + c) * D, D), analyticA);
                } else {
                    assertArrayEquals(new float[D], analyticA, "dA is zero" + where);
                }
                if (trained) {
                    assertGradient("dP" + where, row(numericP, (l * CLASSES + c) * DP, DP), analyticP);
                } else {
                    assertArrayEquals(new float[DP], analyticP, "dP is zero" + where);
                }
            }
        }
        if (!modulate) {
            // with w = 1, dP of class 2 (picked by samples 0 and 2) is exactly dsp_0 + dsp_2
            for (int e = 0; e < DP; e++) {
                assertEquals(upstream[e] + upstream[2 * DP + e], dpGrad[2 * DP + e], 1e-6, "dP = sum of dsp");
            }
        }
    }

    /** Every (layer, sample) selects its target with a top-2 gap far wider than a finite-difference step moves. */
    private static void assertStableArgmax(float[] sims, int[] sel) {
        for (int l = 0; l < LAYERS; l++) {
            for (int b = 0; b < BATCH; b++) {
                assertEquals(TARGETS[b], sel[l * BATCH + b], "selection of layer " + l + " sample " + b);
                float best = sims[(l * BATCH + b) * SEEN + TARGETS[b]];
                for (int c = 0; c < SEEN; c++) {
                    if (c != TARGETS[b]) assertTrue(best - sims[(l * BATCH + b) * SEEN + c] > 0.05, "margin");
                }
            }
        }
    }

    private static boolean contains(int[] values, int x) {
        for (int v : values) if (v == x) return true;
        return false;
    }

    private static float[] row(float[] x, int from, int n) {
        return Arrays.copyOfRange(x, from, from + n);
    }

    private static double[] row(double[] x, int from, int n) {
        return Arrays.copyOfRange(x, from, from + n);
    }

    @Test
    void retrievalRejectsASelectionOutsideTheSeenClasses() {
        RetrievalCase in = new RetrievalCase(64);
        float[] sims = new float[LAYERS * BATCH * SEEN];
        int[] badSel = new int[LAYERS * BATCH];
        badSel[3] = SEEN;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RetrievalKernels.retrievalBackward(in.q, in.keys, in.a, in.p, sims, badSel,
                        new float[LAYERS * BATCH * DP], BATCH, SEEN, CLASSES, PAST, D, DP, LAYERS, true,
                        new float[in.a.length], new float[in.p.length]));
        assertTrue(e.getMessage().startsWith("retrievalBackward:") && e.getMessage().contains("sel[3] = 4"),
                e.getMessage());
    }
}
