package io.starprompt.method.common.mixture;

import java.util.SplittableRandom;

/**
 * k-means initialisation of the mixture means, ALGORITHM.md §3.6(a) (gmm-torch's {@code get_kmeans_mu}).
 *
 * <ol>
 *   <li>Rescale the whole matrix by one global scalar min/max to [0, 1].
 *   <li>{@code restarts} random restarts: K distinct rows as centres, assign every row to its nearest
 *       centre (Euclidean, ties to the lowest index), cost = Σ_k mean distance of cluster k's rows to
 *       its centre. A restart with an empty cluster has an undefined (NaN) cost in the reference and
 *       is never selected; the first strictly lowest cost wins.
 *   <li>Lloyd iterations from the winner until the largest centre shift is ≤ 1e-3.
 *   <li>Map the centres back to data units.
 * </ol>
 *
 * <p>Two departures, both only where the reference would crash or return NaN centres: when every
 * restart has an empty cluster (fewer than K distinct rows) the first restart is used, and a
 * cluster that becomes empty during Lloyd keeps its previous centre. Lloyd is also capped at
 * {@link #MAX_LLOYD_ITERATIONS} so that rounding-induced assignment cycles cannot loop forever.
 */
final class KMeansInit {
    /** Lloyd stops once the largest centre shift (in rescaled units) is at most this. */
    static final double SHIFT_TOLERANCE = 1e-3;
    /** Safety cap on Lloyd iterations; the reference has none. */
    static final int MAX_LLOYD_ITERATIONS = 1000;

    private KMeansInit() {}

    /**
     * Returns the initial means [k, d] (row-major, data units).
     *
     * @param rnd consumed for the restarts' row choices; the caller's stream continues afterwards
     */
    static double[] initialMeans(GaussianMixtureData data, int k, int restarts, SplittableRandom rnd) {
        int n = data.n(), d = data.d();
        double[][] xs = data.scaledColumns();
        double[][] dist2 = new double[k][n];
        int[] cluster = new int[n];

        double[] best = null, first = null;
        double bestCost = Double.POSITIVE_INFINITY;
        for (int r = 0; r < restarts; r++) {
            double[] centres = distinctRows(xs, n, d, k, rnd);
            if (first == null) first = centres;
            squaredDistances(xs, d, centres, k, dist2);
            assignNearest(dist2, n, k, cluster);
            double cost = restartCost(dist2, cluster, n, k);
            // NaN (empty cluster) compares false, as in the reference's `cost < min_cost`.
            if (cost < bestCost) {
                bestCost = cost;
                best = centres;
            }
        }
        double[] centres = lloyd(xs, n, d, best != null ? best : first, k, dist2, cluster);
        return mapBack(centres, data.min(), data.range());
    }

    /** K distinct row indices by a partial Fisher–Yates shuffle; returns those rows as centres [k, d]. */
    static double[] distinctRows(double[][] xs, int n, int d, int k, SplittableRandom rnd) {
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) idx[i] = i;
        double[] centres = new double[k * d];
        for (int c = 0; c < k; c++) {
            int pick = c + rnd.nextInt(n - c);
            int row = idx[pick];
            idx[pick] = idx[c];
            idx[c] = row;
            for (int j = 0; j < d; j++) centres[c * d + j] = xs[j][row];
        }
        return centres;
    }

    /** dist2[c][i] = ‖x_i − centre_c‖² for data by columns xs [d][n]. */
    static void squaredDistances(double[][] xs, int d, double[] centres, int k, double[][] dist2) {
        for (int c = 0; c < k; c++) {
            double[] acc = dist2[c];
            java.util.Arrays.fill(acc, 0.0);
            for (int j = 0; j < d; j++) {
                double m = centres[c * d + j];
                double[] col = xs[j];
                for (int i = 0; i < acc.length; i++) {
                    double t = col[i] - m;
                    acc[i] += t * t;
                }
            }
        }
    }

    /** Nearest centre per row; ties go to the lowest index (torch.argmin's first occurrence). */
    static void assignNearest(double[][] dist2, int n, int k, int[] cluster) {
        for (int i = 0; i < n; i++) {
            int arg = 0;
            double best = dist2[0][i];
            for (int c = 1; c < k; c++) {
                if (dist2[c][i] < best) {
                    best = dist2[c][i];
                    arg = c;
                }
            }
            cluster[i] = arg;
        }
    }

    /** Σ_c mean_{i ∈ c} ‖x_i − centre_c‖, or NaN when some cluster is empty. */
    static double restartCost(double[][] dist2, int[] cluster, int n, int k) {
        double[] sum = new double[k];
        int[] count = new int[k];
        for (int i = 0; i < n; i++) {
            int c = cluster[i];
            sum[c] += Math.sqrt(dist2[c][i]);
            count[c]++;
        }
        double cost = 0;
        for (int c = 0; c < k; c++) cost += count[c] == 0 ? Double.NaN : sum[c] / count[c];
        return cost;
    }

    /** Lloyd iterations on a copy of the centres; returns the final centres. */
    private static double[] lloyd(double[][] xs, int n, int d, double[] start, int k, double[][] dist2,
            int[] cluster) {
        double[] centres = start.clone();
        double shift = Double.POSITIVE_INFINITY;
        for (int it = 0; shift > SHIFT_TOLERANCE && it < MAX_LLOYD_ITERATIONS; it++) {
            squaredDistances(xs, d, centres, k, dist2);
            assignNearest(dist2, n, k, cluster);
            double[] next = clusterMeans(xs, n, d, cluster, k, centres);
            shift = largestShift(centres, next, k, d);
            centres = next;
        }
        return centres;
    }

    /** Mean of each cluster's rows; an empty cluster keeps its previous centre. */
    private static double[] clusterMeans(double[][] xs, int n, int d, int[] cluster, int k, double[] previous) {
        double[] sums = new double[k * d];
        int[] count = new int[k];
        for (int i = 0; i < n; i++) count[cluster[i]]++;
        for (int j = 0; j < d; j++) {
            double[] col = xs[j];
            for (int i = 0; i < n; i++) sums[cluster[i] * d + j] += col[i];
        }
        for (int c = 0; c < k; c++) {
            for (int j = 0; j < d; j++) {
                int at = c * d + j;
                sums[at] = count[c] == 0 ? previous[at] : sums[at] / count[c];
            }
        }
        return sums;
    }

    private static double largestShift(double[] a, double[] b, int k, int d) {
        double worst = 0;
        for (int c = 0; c < k; c++) {
            double s = 0;
            for (int j = 0; j < d; j++) {
                double t = a[c * d + j] - b[c * d + j];
                s += t * t;
            }
            worst = Math.max(worst, Math.sqrt(s));
        }
        return worst;
    }

    private static double[] mapBack(double[] centres, double min, double range) {
        double[] mu = new double[centres.length];
        for (int i = 0; i < mu.length; i++) mu[i] = centres[i] * range + min;
        return mu;
    }
}
