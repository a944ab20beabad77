package io.starprompt.backend.reference;

/**
 * GEMM and the element-wise ops (native/cpu/gemm.cpp, elementwise.cpp): batched GEMM, bias add,
 * axpy, GELU and QuickGELU.
 *
 * <p>Part of the float64 reference kernels (see the package description): sums in {@code double},
 * results rounded to {@code float} when stored. The arguments are taken as {@link
 * io.starprompt.backend.Backend} validated them (sizes consistent with the array lengths, indices
 * in range); call through a {@link ReferenceBackend} for checked arguments.
 */
public final class DenseKernels {
    /** Slope of QuickGELU: y = x sigmoid(1.702 x). */
    public static final double QUICK_GELU_ALPHA = 1.702;
    private static final double SQRT_PI = Math.sqrt(Math.PI);
    private static final double SQRT_2 = Math.sqrt(2.0);
    private static final double INV_SQRT_2PI = 1.0 / Math.sqrt(2.0 * Math.PI);

    private DenseKernels() {}

    /**
     * Batched GEMM: for every batch item i, C[i] = alpha·op(A[i])·op(B[i]) + beta·C[i], with op(A) m×k
     * (A stored k×m when transA), op(B) k×n (B stored n×k when transB); item i of X starts at
     * i·strideX (stride 0 broadcasts A or B). When beta == 0, C is not read (NaN in C is overwritten).
     * Output items must not overlap (strideC ≥ m·n when batch > 1).
     *
     * @param transA whether A is stored k×m
     * @param transB whether B is stored n×k
     * @param m rows of op(A) and C
     * @param n columns of op(B) and C
     * @param k the inner dimension
     * @param alpha scale of the product
     * @param a the A items
     * @param strideA elements between A items (0: one shared A)
     * @param b the B items
     * @param strideB elements between B items (0: one shared B)
     * @param beta scale of the previous C
     * @param c the C items, overwritten
     * @param strideC elements between C items
     * @param batch the number of items
     */
    public static void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a,
            long strideA, float[] b, long strideB, float beta, float[] c, long strideC, int batch) {

        for (int item = 0; item < batch; item++) {
            long baseA = item * strideA;
            long baseB = item * strideB;
            long baseC = item * strideC;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double dot = 0.0;
                    for (int p = 0; p < k; p++) {
                        double aip = a[(int) (baseA + (transA ? (long) p * m + i : (long) i * k + p))];
                        double bpj = b[(int) (baseB + (transB ? (long) j * k + p : (long) p * n + j))];
                        dot += aip * bpj;
                    }
                    int ci = (int) (baseC + (long) i * n + j);
                    double previous = beta == 0.0f ? 0.0 : (double) beta * c[ci];
                    c[ci] = (float) ((double) alpha * dot + previous);
                }
            }
        }
    }

    /**
     * x[r, :] += bias for every row r of the rows×cols matrix x.
     *
     * @param x the matrix, updated in place
     * @param bias one value per column
     * @param rows the rows of x
     * @param cols the columns of x
     */
    public static void addBias(float[] x, float[] bias, long rows, long cols) {
        for (long r = 0; r < rows; r++) {
            for (long j = 0; j < cols; j++) {
                int i = (int) (r * cols + j);
                x[i] = (float) ((double) x[i] + bias[(int) j]);
            }
        }
    }

    /**
     * y += alpha·x over n elements.
     *
     * @param y the values to update in place
     * @param x the values to add
     * @param alpha the factor of x
     * @param n the number of elements
     */
    public static void axpy(float[] y, float[] x, float alpha, long n) {
        for (int i = 0; i < n; i++) {
            y[i] = (float) ((double) y[i] + (double) alpha * x[i]);
        }
    }

    /**
     * GELU with erf: y = x/2·(1 + erf(x/√2)) elementwise over n elements. y may be x.
     *
     * @param x input
     * @param y output
     * @param n the number of elements
     */
    public static void geluForward(float[] x, float[] y, long n) {
        for (int i = 0; i < n; i++) y[i] = (float) gelu(x[i]);
    }

    /**
     * GELU backward: dx = dy·(Φ(x) + x·φ(x)), Φ/φ the standard normal cdf/pdf.
     *
     * @param x the forward's input
     * @param dy gradient of the output
     * @param dx gradient of the input, overwritten
     * @param n the number of elements
     */
    public static void geluBackward(float[] x, float[] dy, float[] dx, long n) {
        for (int i = 0; i < n; i++) {
            double xi = x[i];
            double derivative = normalCdf(xi) + xi * INV_SQRT_2PI * Math.exp(-0.5 * xi * xi);
            dx[i] = (float) (dy[i] * derivative);
        }
    }

    /**
     * QuickGELU: y = x·sigmoid(1.702·x) elementwise over n elements. y may be x.
     *
     * @param x input
     * @param y output
     * @param n the number of elements
     */
    public static void quickGeluForward(float[] x, float[] y, long n) {
        for (int i = 0; i < n; i++) {
            double xi = x[i];
            y[i] = (float) (xi * sigmoid(QUICK_GELU_ALPHA * xi));
        }
    }

    /**
     * QuickGELU backward: dx = dy·(s + 1.702·x·s·(1 − s)), s = sigmoid(1.702·x).
     *
     * @param x the forward's input
     * @param dy gradient of the output
     * @param dx gradient of the input, overwritten
     * @param n the number of elements
     */
    public static void quickGeluBackward(float[] x, float[] dy, float[] dx, long n) {
        for (int i = 0; i < n; i++) {
            double xi = x[i];
            double s = sigmoid(QUICK_GELU_ALPHA * xi);
            dx[i] = (float) (dy[i] * (s + QUICK_GELU_ALPHA * xi * s * (1.0 - s)));
        }
    }

    private static double sigmoid(double t) {
        return 1.0 / (1.0 + Math.exp(-t));
    }

    private static double gelu(double x) {
        return x * normalCdf(x);
    }

    /** Standard normal cdf Φ(x) = erfc(−x/√2)/2, accurate in the tails. */
    private static double normalCdf(double x) {
        return 0.5 * erfc(-x / SQRT_2);
    }

    /** erfc(z) to about double precision (relative) for every z; erf(z) = 1 − erfc(z). */
    static double erfc(double z) {
        if (Double.isNaN(z)) return Double.NaN;
        if (z < 0.0) return 2.0 - erfc(-z);
        if (z < 2.0) return 1.0 - erfSeries(z);
        return erfcContinuedFraction(z);
    }

    /** erf(x) = (2/√π)·e^{−x²}·Σ_n 2ⁿ x^{2n+1}/(2n+1)!! for x ≥ 0 (all terms positive: no cancellation). */
    private static double erfSeries(double x) {
        double x2 = x * x;
        double term = x;
        double sum = x;
        for (int n = 1; n < 500 && term > 1e-17 * sum; n++) {
            term *= 2.0 * x2 / (2 * n + 1);
            sum += term;
        }
        return 2.0 / SQRT_PI * Math.exp(-x2) * sum;
    }

    /** erfc(x) = e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))) for x ≥ 2, evaluated bottom-up. */
    private static double erfcContinuedFraction(double x) {
        double fraction = x;
        for (int n = 200; n >= 1; n--) fraction = x + (n / 2.0) / fraction;
        return Math.exp(-x * x) / (SQRT_PI * fraction);
    }
}
