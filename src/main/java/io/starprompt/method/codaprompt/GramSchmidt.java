package io.starprompt.method.codaprompt;

import java.util.Random;

/**
 * The re-draw of a task's components (methods/coda-prompt.md §2): classical Gram–Schmidt of
 * fresh Gaussian vectors against the raw earlier rows (trained rows of past tasks, and the new
 * rows drawn before, not yet normalised), then the new rows normalised. Earlier rows are read,
 * never changed.
 */
final class GramSchmidt {
    /** A projection onto a row whose squared norm is below this is refused and the vector drawn again. */
    static final double MIN_SQUARED_NORM = 1e-8;
    /** Draws per row before giving up (only rows of near-zero norm among the earlier ones cause a redraw). */
    private static final int MAX_DRAWS = 100;

    private GramSchmidt() {}

    /**
     * Re-draws rows [from, to) of a row-major [rows, width] matrix in place.
     *
     * @param m the matrix, row-major
     * @param width its row width
     * @param from first row to re-draw
     * @param to end of the rows to re-draw
     * @param rnd the randomness
     * @throws IllegalStateException if an earlier row has (near) zero norm, so that no draw projects
     */
    static void redraw(double[] m, int width, int from, int to, Random rnd) {
        for (int k = from; k < to; k++) drawRow(m, width, k, rnd);
        for (int k = from; k < to; k++) normalise(m, width, k);
    }

    private static void drawRow(double[] m, int width, int k, Random rnd) {
        for (int attempt = 0; attempt < MAX_DRAWS; attempt++) {
            double[] v = new double[width];
            for (int i = 0; i < width; i++) v[i] = rnd.nextGaussian();
            double[] u = v.clone();
            boolean ok = true;
            for (int j = 0; j < k && ok; j++) {
                double uu = dot(m, j * width, m, j * width, width);
                if (uu < MIN_SQUARED_NORM) {
                    ok = false;
                    break;
                }
                double c = dot(m, j * width, v, 0, width) / uu;
                for (int i = 0; i < width; i++) u[i] -= c * m[j * width + i];
            }
            if (ok) {
                System.arraycopy(u, 0, m, k * width, width);
                return;
            }
        }
        throw new IllegalStateException("coda-prompt: Gram–Schmidt of component " + k + " failed: an earlier row has"
                + " a squared norm below " + MIN_SQUARED_NORM);
    }

    private static void normalise(double[] m, int width, int k) {
        double n = Math.sqrt(dot(m, k * width, m, k * width, width));
        for (int i = 0; i < width; i++) m[k * width + i] /= n;
    }

    private static double dot(double[] a, int ao, double[] b, int bo, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) s += a[ao + i] * b[bo + i];
        return s;
    }
}
