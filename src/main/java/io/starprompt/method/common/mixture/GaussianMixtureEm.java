package io.starprompt.method.common.mixture;

import io.starprompt.method.common.mixture.GaussianMixture.Density;
import io.starprompt.method.common.mixture.GaussianMixture.Options;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The EM fit of ALGORITHM.md §3.6(b)–(d), package-private; {@link GaussianMixture#fit} is the public face.
 *
 * <p>Per EM step the component log-densities are evaluated once: the score after step t uses the
 * same parameters as the E-step of step t+1, so the weighted log-probabilities are kept and reused
 * (the reference evaluates them twice with identical results).
 */
final class GaussianMixtureEm {
    /** Whole-fit attempts while the final score is −∞ (the reference's {@code tries < 10}). */
    static final int MAX_ATTEMPTS = 10;

    private static final double LOG_2PI = Math.log(2 * Math.PI);

    private GaussianMixtureEm() {}

    /** Mixture parameters: weights [k], means and variances [k, d] row-major. */
    record Params(double[] weights, double[] means, double[] variances) {}

    /** The outcome of one fit: its parameters, final training score and loop statistics. */
    record Result(Params params, double score, int iterations, boolean converged, int attempts) {}

    /**
     * Runs up to {@link #MAX_ATTEMPTS} attempts; returns the first whose final score is finite.
     *
     * @throws IllegalStateException when every attempt ends with a non-finite score
     */
    static Result fit(GaussianMixtureData data, Options opts, SplittableRandom rnd) {
        Result last = null;
        for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
            last = attempt(data, opts, rnd, attempt);
            if (Double.isFinite(last.score())) return last;
        }
        throw new IllegalStateException("gaussian mixture: log-likelihood still non-finite (" + last.score()
                + ") after " + MAX_ATTEMPTS + " attempts (n = " + data.n() + ", d = " + data.d()
                + ", K = " + opts.components() + "); the data's squares probably overflow float64");
    }

    /**
     * One attempt, the loop of §3.6(d): up to maxIterations + 1 EM steps, stopping once the score
     * gain Δ is below δ (also when the score drops). A non-finite score re-initialises the
     * parameters and resets the score to −∞, as the reference's {@code __init__} does; Δ is then
     * −∞ (the attempt ends and is retried) unless the previous score was −∞ too, where the
     * reference maps the NaN Δ to +∞ and continues from the fresh parameters. The reference's
     * "revert to the old parameters" is a no-op (it holds the same tensor), so the final parameters
     * are those after the last EM step.
     */
    static Result attempt(GaussianMixtureData data, Options opts, SplittableRandom rnd, int attemptNumber) {
        int n = data.n(), k = opts.components();
        double[] weighted = new double[n * k];
        double[] lse = new double[n];
        double[] resp = new double[n * k];

        Params params = initialParams(data, opts, rnd);
        evaluate(data, params, opts.density(), weighted, lse);
        double score = Double.NEGATIVE_INFINITY;
        double gain = Double.POSITIVE_INFINITY;
        int steps = 0;
        while (steps <= opts.maxIterations() && gain >= opts.delta()) {
            double previous = score;
            responsibilities(weighted, lse, n, k, resp);
            params = mStep(data.rows(), n, data.d(), resp, k, opts.epsilon());
            score = evaluate(data, params, opts.density(), weighted, lse);
            if (!Double.isFinite(score)) {
                params = initialParams(data, opts, rnd);
                evaluate(data, params, opts.density(), weighted, lse);
                score = Double.NEGATIVE_INFINITY;
            }
            steps++;
            gain = score - previous;
            if (Double.isNaN(gain)) gain = Double.POSITIVE_INFINITY;
        }
        return new Result(params, score, steps, gain < opts.delta(), attemptNumber);
    }

    /** k-means means, unit variances, uniform weights (§3.6(a)). */
    static Params initialParams(GaussianMixtureData data, Options opts, SplittableRandom rnd) {
        int k = opts.components(), d = data.d();
        double[] means = KMeansInit.initialMeans(data, k, opts.restarts(), rnd);
        double[] variances = new double[k * d];
        Arrays.fill(variances, 1.0);
        double[] weights = new double[k];
        Arrays.fill(weights, 1.0 / k);
        return new Params(weights, means, variances);
    }

    /**
     * Fills weighted[i, c] = log p̃(x_i | c) + log π_c and lse[i] = logsumexp_c weighted[i, c];
     * returns the score mean_i lse[i].
     */
    static double evaluate(GaussianMixtureData data, Params p, Density density, double[] weighted, double[] lse) {
        int n = data.n(), d = data.d(), k = p.weights().length;
        double[][] cols = data.columns();
        double[] precision = precisions(p.variances(), density);
        double[] logNorm = logNormalisers(p.variances(), k, d, density);
        double[] quad = new double[n];
        for (int c = 0; c < k; c++) {
            quadraticForms(cols, n, d, p.means(), precision, c, quad);
            double offset = logNorm[c] + Math.log(p.weights()[c]);
            for (int i = 0; i < n; i++) weighted[i * k + c] = offset - 0.5 * quad[i];
        }
        double total = 0;
        for (int i = 0; i < n; i++) {
            lse[i] = logSumExp(weighted, i * k, k);
            total += lse[i];
        }
        return total / n;
    }

    /**
     * quad[i] = Σ_j (x_ij − μ_cj)² · precision_cj, accumulated column by column so the inner loop
     * runs over rows and vectorises (see {@link GaussianMixtureData}).
     */
    private static void quadraticForms(double[][] cols, int n, int d, double[] means, double[] precision, int c,
            double[] quad) {
        Arrays.fill(quad, 0.0);
        for (int j = 0; j < d; j++) {
            double m = means[c * d + j];
            double q = precision[c * d + j];
            double[] col = cols[j];
            for (int i = 0; i < n; i++) {
                double t = col[i] - m;
                quad[i] += t * t * q;
            }
        }
    }

    /**
     * The factor dividing (x − μ)²: 1/σ for the reference density (its quirk, §3.6(b)), 1/var for
     * the textbook one.
     */
    static double[] precisions(double[] variances, Density density) {
        double[] q = new double[variances.length];
        for (int i = 0; i < q.length; i++) {
            q[i] = density == Density.REFERENCE ? 1.0 / Math.sqrt(variances[i]) : 1.0 / variances[i];
        }
        return q;
    }

    /**
     * Per component −½[d·log 2π + Σ_j log σ_j] (reference) or −½[d·log 2π + Σ_j log var_j]
     * (textbook); log σ is computed as ½·log var.
     */
    static double[] logNormalisers(double[] variances, int k, int d, Density density) {
        double scale = density == Density.REFERENCE ? 0.5 : 1.0;
        double[] out = new double[k];
        for (int c = 0; c < k; c++) {
            double logDet = 0;
            for (int j = 0; j < d; j++) logDet += scale * Math.log(variances[c * d + j]);
            out[c] = -0.5 * (d * LOG_2PI + logDet);
        }
        return out;
    }

    /** Stable log Σ exp over a[from, from + len); −∞ when all terms are −∞, NaN if any is NaN. */
    static double logSumExp(double[] a, int from, int len) {
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < len; c++) max = Math.max(max, a[from + c]);
        if (Double.isInfinite(max)) return max;
        double s = 0;
        for (int c = 0; c < len; c++) s += Math.exp(a[from + c] - max);
        return max + Math.log(s);
    }

    /** r[i, c] = exp(weighted[i, c] − lse[i]) (softmax over components). */
    static void responsibilities(double[] weighted, double[] lse, int n, int k, double[] resp) {
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < k; c++) resp[i * k + c] = Math.exp(weighted[i * k + c] - lse[i]);
        }
    }

    /**
     * The M-step exactly as §3.6(c): S_c = Σ_i r_ic + ε; μ_c = Σ_i r_ic x_i / S_c;
     * var_c = Σ_i r_ic x_i² / S_c − 2 μ_c · Σ_i r_ic x_i / S_c + μ_c² + ε; π_c = S_c / n
     * (π is therefore not renormalised: Σ π = 1 + Kε/n, as in the reference).
     *
     * <p>In exact arithmetic var ≥ ε (Cauchy–Schwarz, since S_c > Σ r); a value that rounding
     * pushes below ε is raised to ε so the variances stay positive.
     *
     * @param x    data rows [n][d]
     * @param resp row-major responsibilities [n, k]
     */
    static Params mStep(double[][] x, int n, int d, double[] resp, int k, double eps) {
        // One pass over the rows feeds all K accumulators, so each row is read once.
        double[] mass = new double[k];
        double[][] sumX = new double[k][d];
        double[][] sumX2 = new double[k][d];
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < k; c++) {
                double r = resp[i * k + c];
                mass[c] += r;
                // Hard responsibilities underflow to exactly 0 in high d; skipping them adds nothing.
                if (r != 0) accumulateRow(x[i], r, sumX[c], sumX2[c]);
            }
        }
        double[] weights = new double[k];
        double[] means = new double[k * d];
        double[] variances = new double[k * d];
        for (int c = 0; c < k; c++) {
            double s = mass[c] + eps;
            for (int j = 0; j < d; j++) {
                double ex = sumX[c][j] / s;
                double ex2 = sumX2[c][j] / s;
                double mu = ex;
                double var = ex2 - 2 * mu * ex + mu * mu + eps;
                means[c * d + j] = mu;
                variances[c * d + j] = var < eps ? eps : var;
            }
            weights[c] = s / n;
        }
        return new Params(weights, means, variances);
    }

    /** sumX += r·x and sumX2 += r·x² element-wise (all three arrays indexed from 0 so the loop vectorises). */
    private static void accumulateRow(double[] x, double r, double[] sumX, double[] sumX2) {
        for (int j = 0; j < x.length; j++) {
            double v = x[j];
            double rv = r * v;
            sumX[j] += rv;
            sumX2[j] += rv * v;
        }
    }
}
