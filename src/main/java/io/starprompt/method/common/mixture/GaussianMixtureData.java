package io.starprompt.method.common.mixture;

/**
 * One class's training matrix X [n, d] in float64, validated once and held in the two layouts the
 * fit needs.
 *
 * <p>By rows for the M-step (per row an axpy over d) and by columns for every per-row reduction over
 * d (E-step and k-means distances): accumulating {@code acc[i] += f(x[j][i])} over the rows i of
 * one column turns a reduction, which Java cannot reorder into SIMD lanes, into an element-wise
 * loop that it can. The per-row summation order over j stays 0…d−1, so the result equals the
 * straightforward row loop.
 *
 * <p>Both layouts are arrays of arrays on purpose: JDK 17's auto-vectoriser gives up on loops that
 * address two arrays at different loop-invariant offsets (measured: 0.77 vs 0.15 ns per element),
 * so every hot loop indexes whole rows from 0.
 */
final class GaussianMixtureData {
    private final int n;
    private final int d;
    private final double[][] rows;
    private final double[][] columns;
    private final double min;
    private final double max;

    private GaussianMixtureData(int n, int d, double[][] rows) {
        this.n = n;
        this.d = d;
        this.rows = rows;
        this.columns = transpose(rows, n, d);
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (double[] row : rows) {
            for (double v : row) {
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
        }
        this.min = lo;
        this.max = hi;
    }

    /** Copies and validates x (see {@link #requireShape}); rows must all have the same length. */
    static GaussianMixtureData of(double[][] x) {
        if (x == null) throw new IllegalArgumentException("gaussian mixture: data is null");
        int n = x.length;
        requireShape(n, n == 0 ? 0 : rowLength(x, 0));
        int d = x[0].length;
        double[][] rows = new double[n][d];
        for (int i = 0; i < n; i++) {
            if (rowLength(x, i) != d) {
                throw new IllegalArgumentException("gaussian mixture: row " + i + " has " + x[i].length
                        + " columns, expected d = " + d);
            }
            for (int j = 0; j < d; j++) rows[i][j] = requireFinite(x[i][j], i, j);
        }
        return new GaussianMixtureData(n, d, rows);
    }

    /** Copies and validates a row-major float matrix [n, d], widening to float64. */
    static GaussianMixtureData of(float[] x, int n, int d) {
        if (x == null) throw new IllegalArgumentException("gaussian mixture: data is null");
        requireShape(n, d);
        if ((long) n * d != x.length) {
            throw new IllegalArgumentException("gaussian mixture: " + x.length + " values do not form n × d = "
                    + n + " × " + d);
        }
        double[][] rows = new double[n][d];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) rows[i][j] = requireFinite(x[i * d + j], i, j);
        }
        return new GaussianMixtureData(n, d, rows);
    }

    private static int rowLength(double[][] x, int i) {
        if (x[i] == null) throw new IllegalArgumentException("gaussian mixture: row " + i + " is null");
        return x[i].length;
    }

    private static void requireShape(int n, int d) {
        if (n <= 0) throw new IllegalArgumentException("gaussian mixture: no data rows (n = " + n + ")");
        if (d <= 0) throw new IllegalArgumentException("gaussian mixture: rows have no features (d = " + d + ")");
        if ((long) n * d > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("gaussian mixture: n × d = " + n + " × " + d + " is too large");
        }
    }

    private static double requireFinite(double v, int row, int column) {
        if (!Double.isFinite(v)) {
            throw new IllegalArgumentException("gaussian mixture: non-finite value " + v + " at row " + row
                    + ", column " + column);
        }
        return v;
    }

    private static double[][] transpose(double[][] a, int n, int d) {
        double[][] t = new double[d][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) t[j][i] = a[i][j];
        }
        return t;
    }

    int n() {
        return n;
    }

    int d() {
        return d;
    }

    /** Rows [n][d]; shared, do not modify. */
    double[][] rows() {
        return rows;
    }

    /** Columns [d][n]; shared, do not modify. */
    double[][] columns() {
        return columns;
    }

    /** Global minimum over all entries (one scalar, ALGORITHM.md §3.6(a)). */
    double min() {
        return min;
    }

    /**
     * max − min of all entries, or 1 when every entry is equal: the reference would divide by zero
     * there; with 1 the rescaled data is all zeros and the centres map back to the constant exactly.
     */
    double range() {
        double r = max - min;
        return r > 0 ? r : 1.0;
    }

    /** Columns [d][n] rescaled by the global min/max to [0, 1], for k-means (a fresh copy). */
    double[][] scaledColumns() {
        double lo = min, r = range();
        double[][] s = new double[d][n];
        for (int j = 0; j < d; j++) {
            for (int i = 0; i < n; i++) s[j][i] = (columns[j][i] - lo) / r;
        }
        return s;
    }
}
