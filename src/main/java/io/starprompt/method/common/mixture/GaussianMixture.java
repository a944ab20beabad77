package io.starprompt.method.common.mixture;

import io.starprompt.method.CheckpointException;
import io.starprompt.method.MethodState;
import io.starprompt.util.RecordBuilder;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.DoublePredicate;
import java.util.random.RandomGenerator;

/**
 * A fitted diagonal Gaussian mixture for generative replay (ALGORITHM.md §3.5, §3.6, §4.8): one per class,
 * fitted once in float64 on that class's features and then only sampled from. Immutable.
 *
 * <h2>Fitting ({@link #fit})</h2>
 * k-means initialisation on globally min/max-rescaled data with {@code restarts} random restarts
 * ({@link KMeansInit}), var = 1 and π = 1/K to start, then EM as coded in the reference
 * ({@link GaussianMixtureEm}): up to maxIterations + 1 EM steps, stopping when the mean
 * log-likelihood gains less than δ; a non-finite score re-initialises; the whole fit is retried up to
 * 10 times while its final score is −∞. Deterministic for a given seed.
 *
 * <h2>Density</h2>
 * {@link Density#REFERENCE} (default) reproduces the reference's E-step, which is not a normalised
 * Gaussian: log p̃(x|k) = −½[d·log 2π + Σ_j (x_j − μ_kj)²/σ_kj + Σ_j log σ_kj] with σ = √var.
 * {@link Density#TEXTBOOK} uses Σ (x − μ)²/var and Σ log var. The density drives the
 * responsibilities during fitting and {@link #logLikelihood}; sampling always uses the true
 * standard deviation √var (§3.6(e)).
 *
 * <h2>Degenerate inputs</h2>
 * <ul>
 *   <li>n = 0, d = 0, ragged rows, or a NaN/±∞ entry: {@link IllegalArgumentException} (naming the
 *       row and column of the first non-finite entry).
 *   <li>n &lt; K: refused with an {@link IllegalArgumentException} naming n and K. The reference
 *       fails too (it cannot draw K distinct rows); silently fitting fewer components would change
 *       the replay distribution without anyone noticing.
 *   <li>Constant features: a constant column is fine (its variance is ε-floored by the M-step);
 *       when all entries are equal the k-means rescaling uses a range of 1 instead of dividing by
 *       zero and the fit returns K identical components at that point with variance ε.
 *   <li>Data whose squares overflow float64 cannot be fitted: every attempt's score is non-finite
 *       and {@link #fit} throws {@link IllegalStateException} after 10 attempts (never loops).
 * </ul>
 */
public final class GaussianMixture {
    /** Which per-component log density the E-step and {@link #logLikelihood} use. */
    public enum Density {
        /** The reference's coded formula: divides by σ and adds ½Σ log σ (§3.6(b)). */
        REFERENCE,
        /** The normalised diagonal Gaussian: divides by var and adds ½Σ log var. */
        TEXTBOOK
    }

    /**
     * Fit settings (ALGORITHM.md §3.6).
     *
     * @param components    K, mixture components (reference 5)
     * @param maxIterations n_iter: at most n_iter + 1 EM steps (configs use 200 or 500)
     * @param density       E-step density (reference: {@link Density#REFERENCE})
     * @param restarts      k-means random restarts (reference 50)
     * @param epsilon       ε added to the component mass and the variances (reference 1e-6)
     * @param delta         δ: stop once the score gain is below this (reference 1e-3); −∞ never
     *                      stops early
     */
    public record Options(int components, int maxIterations, Density density, int restarts, double epsilon,
            double delta) {
        /**
         * Validates every setting.
         *
         * @param components K
         * @param maxIterations the EM iteration limit
         * @param density the E-step density
         * @param restarts k-means restarts
         * @param epsilon ε, the variance floor
         * @param delta δ, the stopping threshold of the score gain
         */
        public Options {
            if (components < 1) throw new IllegalArgumentException("gaussian mixture: components must be ≥ 1, got " + components);
            if (maxIterations < 0) throw new IllegalArgumentException("gaussian mixture: maxIterations must be ≥ 0, got " + maxIterations);
            if (density == null) throw new IllegalArgumentException("gaussian mixture: density is null");
            if (restarts < 1) throw new IllegalArgumentException("gaussian mixture: restarts must be ≥ 1, got " + restarts);
            if (!(epsilon > 0) || Double.isInfinite(epsilon)) {
                throw new IllegalArgumentException("gaussian mixture: epsilon must be finite and > 0, got " + epsilon);
            }
            if (Double.isNaN(delta)) throw new IllegalArgumentException("gaussian mixture: delta is NaN");
        }

        /**
         * The reference settings (K = 5, reference density, 50 restarts, ε = 1e-6, δ = 1e-3).
         *
         * @param maxIterations the EM iteration limit
         * @return the settings
         */
        public static Options reference(int maxIterations) {
            return new Options(5, maxIterations, Density.REFERENCE, 50, 1e-6, 1e-3);
        }

        /**
         * {@link #reference} with 500 EM iterations (stage-2 and stand-alone stage-1 default).
         *
         * @return the settings
         */
        public static Options defaults() {
            return reference(500);
        }

        /**
         * A copy with K components.
         *
         * @param k K
         * @return the copy
         */
        public Options withComponents(int k) { return RecordBuilder.with(this, Options::components, k); }
        /**
         * A copy with another EM iteration limit.
         *
         * @param n the limit
         * @return the copy
         */
        public Options withMaxIterations(int n) { return RecordBuilder.with(this, Options::maxIterations, n); }
        /**
         * A copy with another density.
         *
         * @param d the density
         * @return the copy
         */
        public Options withDensity(Density d) { return RecordBuilder.with(this, Options::density, d); }
        /**
         * A copy with another number of k-means restarts.
         *
         * @param r the restarts
         * @return the copy
         */
        public Options withRestarts(int r) { return RecordBuilder.with(this, Options::restarts, r); }
        /**
         * A copy with another ε.
         *
         * @param eps ε
         * @return the copy
         */
        public Options withEpsilon(double eps) { return RecordBuilder.with(this, Options::epsilon, eps); }
        /**
         * A copy with another stopping threshold δ.
         *
         * @param dl δ
         * @return the copy
         */
        public Options withDelta(double dl) { return RecordBuilder.with(this, Options::delta, dl); }
    }

    private final int k;
    private final int d;
    private final double[] weights;
    private final double[] means;
    private final double[] variances;
    private final Density density;
    private final int iterations;
    private final boolean converged;
    private final int attempts;
    private final double trainingScore;
    // Derived once: sampling std and the density's per-dimension factors and per-component constants.
    private final double[] stds;
    private final double[] precisions;
    private final double[] logOffsets;

    private GaussianMixture(GaussianMixtureEm.Params p, int d, Density density, int iterations, boolean converged,
            int attempts, double trainingScore) {
        this.k = p.weights().length;
        this.d = d;
        this.weights = p.weights();
        this.means = p.means();
        this.variances = p.variances();
        this.density = density;
        this.iterations = iterations;
        this.converged = converged;
        this.attempts = attempts;
        this.trainingScore = trainingScore;
        this.stds = new double[variances.length];
        for (int i = 0; i < stds.length; i++) stds[i] = Math.sqrt(variances[i]);
        this.precisions = GaussianMixtureEm.precisions(variances, density);
        double[] logNorm = GaussianMixtureEm.logNormalisers(variances, k, d, density);
        this.logOffsets = new double[k];
        for (int c = 0; c < k; c++) logOffsets[c] = logNorm[c] + Math.log(weights[c]);
    }

    // ---------------------------------------------------------------- construction

    /**
     * Fits a mixture to x [n, d] (copied; float64).
     *
     * @param x the data [n][d]
     * @param opts the fit settings
     * @param seed seeds the k-means restarts (and any re-initialisation); equal seeds and inputs
     *             give bit-identical mixtures
     * @return the mixture
     * @throws IllegalArgumentException for the degenerate inputs listed in the class comment
     * @throws IllegalStateException    when 10 attempts all end with a non-finite score
     */
    public static GaussianMixture fit(double[][] x, Options opts, long seed) {
        return fit(GaussianMixtureData.of(x), opts, seed);
    }

    /**
     * As {@link #fit(double[][], Options, long)} for a row-major float matrix [n, d].
     *
     * @param x the data, row-major
     * @param n the rows
     * @param d the dimension
     * @param opts the fit settings
     * @param seed seeds the k-means restarts
     * @return the mixture
     */
    public static GaussianMixture fit(float[] x, int n, int d, Options opts, long seed) {
        return fit(GaussianMixtureData.of(x, n, d), opts, seed);
    }

    private static GaussianMixture fit(GaussianMixtureData data, Options opts, long seed) {
        if (opts == null) throw new IllegalArgumentException("gaussian mixture: options are null");
        if (data.n() < opts.components()) {
            throw new IllegalArgumentException("gaussian mixture: n = " + data.n() + " rows is fewer than K = "
                    + opts.components() + " components; k-means needs K distinct rows");
        }
        GaussianMixtureEm.Result r = GaussianMixtureEm.fit(data, opts, new SplittableRandom(seed));
        return new GaussianMixture(r.params(), data.d(), opts.density(), r.iterations(), r.converged(), r.attempts(),
                r.score());
    }

    /**
     * A hand-set mixture (tests, checkpoints). Arrays are copied.
     *
     * @param weights   [K], non-negative, positive sum (used as given in the density; normalised
     *                  for sampling, like torch's Multinomial)
     * @param means     [K][d]
     * @param variances [K][d], all &gt; 0
     * @param density the density
     * @return the mixture
     */
    public static GaussianMixture of(double[] weights, double[][] means, double[][] variances, Density density) {
        if (weights == null || means == null || variances == null || density == null) {
            throw new IllegalArgumentException("gaussian mixture: null argument");
        }
        int k = weights.length;
        if (k == 0 || means.length != k || variances.length != k) {
            throw new IllegalArgumentException("gaussian mixture: need K ≥ 1 weights, means and variances, got "
                    + k + ", " + means.length + ", " + variances.length);
        }
        double total = 0;
        for (double w : weights) {
            if (!(w >= 0) || Double.isInfinite(w)) throw new IllegalArgumentException("gaussian mixture: weight " + w);
            total += w;
        }
        if (!(total > 0)) throw new IllegalArgumentException("gaussian mixture: weights sum to " + total);
        int d = means[0].length;
        double[] mu = flatten(means, k, d, "means");
        double[] var = flatten(variances, k, d, "variances");
        for (double v : var) {
            if (!(v > 0)) throw new IllegalArgumentException("gaussian mixture: variance " + v + " is not > 0");
        }
        return new GaussianMixture(new GaussianMixtureEm.Params(weights.clone(), mu, var), d, density, 0, true, 0,
                Double.NaN);
    }

    /**
     * The ablation {@code gr_model=gaussian}: one Gaussian per class with the per-dimension mean and
     * unbiased (n − 1) standard deviation; samples N(mean, std²). Its density is the textbook one;
     * a constant column has std 0 (samples equal the mean, the density there is degenerate).
     *
     * @param x the data [n][d]
     * @return the Gaussian
     * @throws IllegalArgumentException for n &lt; 2 (no unbiased std) or the inputs {@link #fit} refuses
     */
    public static GaussianMixture singleGaussian(double[][] x) {
        return singleGaussian(GaussianMixtureData.of(x));
    }

    /**
     * As {@link #singleGaussian(double[][])} for a row-major float matrix [n, d].
     *
     * @param x the data, row-major
     * @param n the rows
     * @param d the dimension
     * @return the Gaussian
     */
    public static GaussianMixture singleGaussian(float[] x, int n, int d) {
        return singleGaussian(GaussianMixtureData.of(x, n, d));
    }

    private static GaussianMixture singleGaussian(GaussianMixtureData data) {
        int n = data.n(), d = data.d();
        if (n < 2) throw new IllegalArgumentException("gaussian: n = " + n + " rows, the unbiased std needs n ≥ 2");
        double[][] x = data.rows();
        double[] mean = new double[d];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) mean[j] += x[i][j];
        }
        for (int j = 0; j < d; j++) mean[j] /= n;
        // Two-pass variance (deviations from the mean), stable for features far from zero.
        double[] var = new double[d];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) {
                double t = x[i][j] - mean[j];
                var[j] += t * t;
            }
        }
        for (int j = 0; j < d; j++) var[j] /= n - 1;
        return new GaussianMixture(new GaussianMixtureEm.Params(new double[] {1.0}, mean, var), d, Density.TEXTBOOK,
                0, true, 0, Double.NaN);
    }

    // ---------------------------------------------------------------- state

    /**
     * Stores this mixture in a method state under {@code prefix}: weights [K], means and
     * variances [K, d] as float64, the density and the fit statistics as properties. Restoring
     * gives a mixture that samples and scores bit-identically.
     *
     * @param state the state to add to
     * @param prefix the names' prefix
     */
    public void saveTo(MethodState state, String prefix) {
        state.putDoubles(prefix + "weights", weights, k);
        state.putDoubles(prefix + "means", means, k, d);
        state.putDoubles(prefix + "variances", variances, k, d);
        state.put(prefix + "density", density.name());
        state.put(prefix + "fit", iterations + " " + converged + " " + attempts + " " + trainingScore);
    }

    /**
     * The mixture {@link #saveTo} stored under prefix, of dimension d.
     *
     * @param state the state to read
     * @param prefix the names' prefix
     * @param d the dimension
     * @return the mixture
     * @throws CheckpointException if an entry is missing, has another shape or holds values no
     *     mixture can have (negative or non-finite weights or variances, non-finite means)
     */
    public static GaussianMixture restoreFrom(MethodState state, String prefix, int d) {
        int k = Math.toIntExact(state.shape(prefix + "weights")[0]);
        double[] w = state.doubles(prefix + "weights", k);
        double[] mu = state.doubles(prefix + "means", k, d);
        double[] var = state.doubles(prefix + "variances", k, d);
        requireAll(w, v -> v >= 0 && v < Double.POSITIVE_INFINITY, prefix + "weights", "a weight");
        if (!(Arrays.stream(w).sum() > 0)) throw new CheckpointException(prefix + "weights sum to " + Arrays.stream(w).sum());
        requireAll(var, v -> v >= 0 && v < Double.POSITIVE_INFINITY, prefix + "variances", "a variance");
        requireAll(mu, Double::isFinite, prefix + "means", "finite");
        Density density;
        try {
            density = Density.valueOf(state.property(prefix + "density"));
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(prefix + "density: unknown '" + state.property(prefix + "density") + "'");
        }
        String[] fit = state.property(prefix + "fit").split(" ");
        try {
            return new GaussianMixture(new GaussianMixtureEm.Params(w, mu, var), d, density, Integer.parseInt(fit[0]),
                    Boolean.parseBoolean(fit[1]), Integer.parseInt(fit[2]), Double.parseDouble(fit[3]));
        } catch (RuntimeException e) {
            throw new CheckpointException(prefix + "fit: cannot read '" + state.property(prefix + "fit") + "'");
        }
    }

    private static void requireAll(double[] values, DoublePredicate ok, String what, String must) {
        for (double v : values) {
            if (!ok.test(v)) throw new CheckpointException(what + ": " + v + " is not " + must);
        }
    }

    private static double[] flatten(double[][] a, int k, int d, String what) {
        double[] out = new double[k * d];
        for (int c = 0; c < k; c++) {
            if (a[c] == null || a[c].length != d) {
                throw new IllegalArgumentException("gaussian mixture: " + what + "[" + c + "] must have d = " + d + " values");
            }
            for (int j = 0; j < d; j++) {
                if (!Double.isFinite(a[c][j])) {
                    throw new IllegalArgumentException("gaussian mixture: " + what + "[" + c + "][" + j + "] = " + a[c][j]);
                }
                out[c * d + j] = a[c][j];
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- accessors

    /**
     * K.
     *
     * @return K
     */
    public int components() {
        return k;
    }

    /**
     * d.
     *
     * @return d
     */
    public int dimension() {
        return d;
    }

    /**
     * π [K] (a copy); after a fit these are S_k / n and sum to 1 + Kε/n, as in the reference.
     *
     * @return the weights
     */
    public double[] weights() {
        return weights.clone();
    }

    /**
     * μ [K][d] (a copy).
     *
     * @return the means
     */
    public double[][] means() {
        return unflatten(means);
    }

    /**
     * Diagonal variances [K][d] (a copy), all ≥ ε after a fit.
     *
     * @return the variances
     */
    public double[][] variances() {
        return unflatten(variances);
    }

    /**
     * The density of the E-step and of {@link #logLikelihood}.
     *
     * @return the density
     */
    public Density density() {
        return density;
    }

    /**
     * EM steps of the successful attempt (1 … maxIterations + 1); 0 for hand-set or single Gaussians.
     *
     * @return the number of EM steps
     */
    public int iterations() {
        return iterations;
    }

    /**
     * Whether the loop stopped because the score gain fell below δ rather than at the step cap.
     *
     * @return whether it converged
     */
    public boolean converged() {
        return converged;
    }

    /**
     * Which attempt (1 … 10) succeeded; 0 for hand-set or single Gaussians.
     *
     * @return the attempt
     */
    public int attempts() {
        return attempts;
    }

    /**
     * The training score (mean log-likelihood under {@link #density()}) after the last EM step; NaN if not
     * fitted.
     *
     * @return the score
     */
    public double trainingScore() {
        return trainingScore;
    }

    private double[][] unflatten(double[] a) {
        double[][] out = new double[k][];
        for (int c = 0; c < k; c++) out[c] = Arrays.copyOfRange(a, c * d, (c + 1) * d);
        return out;
    }

    // ---------------------------------------------------------------- density

    /**
     * log Σ_k π_k p̃(x|k) under {@link #density()}.
     *
     * @param x a point [d]
     * @return its log-likelihood
     */
    public double logLikelihood(double[] x) {
        if (x == null || x.length != d) {
            throw new IllegalArgumentException("gaussian mixture: point has " + (x == null ? "no" : x.length)
                    + " values, expected d = " + d);
        }
        double[] terms = new double[k];
        for (int c = 0; c < k; c++) {
            double quad = 0;
            for (int j = 0; j < d; j++) {
                double t = x[j] - means[c * d + j];
                quad += t * t * precisions[c * d + j];
            }
            terms[c] = logOffsets[c] - 0.5 * quad;
        }
        return GaussianMixtureEm.logSumExp(terms, 0, k);
    }

    /**
     * Mean {@link #logLikelihood} over the rows of data (the reference's {@code __score}).
     *
     * @param data the points [n][d]
     * @return the mean log-likelihood
     */
    public double score(double[][] data) {
        if (data == null || data.length == 0) throw new IllegalArgumentException("gaussian mixture: no rows to score");
        double total = 0;
        for (double[] row : data) total += logLikelihood(row);
        return total / data.length;
    }

    // ---------------------------------------------------------------- sampling

    /**
     * n samples as rows [n][d]; see {@link #sampleInto}.
     *
     * @param n how many samples
     * @param rnd the randomness
     * @return the samples
     */
    public float[][] sample(int n, RandomGenerator rnd) {
        float[] flat = new float[Math.multiplyExact(n, d)];
        sampleInto(flat, 0, n, rnd);
        float[][] out = new float[n][];
        for (int i = 0; i < n; i++) out[i] = Arrays.copyOfRange(flat, i * d, (i + 1) * d);
        return out;
    }

    /**
     * Writes n samples row-major into out[offset … offset + n·d) (§3.6(e)): counts ~ Multinomial(n, π)
     * (π normalised), then for each component in order its count rows μ_k + z ⊙ √var_k, z ~ N(0, I).
     * The rows are therefore grouped by component; callers shuffle.
     *
     * @param out where to write
     * @param offset the first element to write
     * @param n how many samples
     * @param rnd the randomness
     */
    public void sampleInto(float[] out, int offset, int n, RandomGenerator rnd) {
        if (n < 0) throw new IllegalArgumentException("gaussian mixture: cannot draw " + n + " samples");
        if (rnd == null) throw new IllegalArgumentException("gaussian mixture: random generator is null");
        if (offset < 0 || (long) offset + (long) n * d > out.length) {
            throw new IllegalArgumentException("gaussian mixture: " + n + " samples × d = " + d + " do not fit at offset "
                    + offset + " of " + out.length);
        }
        int[] counts = multinomialCounts(n, rnd);
        int row = 0;
        for (int c = 0; c < k; c++) {
            for (int s = 0; s < counts[c]; s++, row++) {
                int base = offset + row * d;
                for (int j = 0; j < d; j++) {
                    out[base + j] = (float) (means[c * d + j] + rnd.nextGaussian() * stds[c * d + j]);
                }
            }
        }
    }

    /** Multinomial(n, π / Σπ) by n categorical draws (n is small: 256 per class per epoch). */
    private int[] multinomialCounts(int n, RandomGenerator rnd) {
        double total = 0;
        for (double w : weights) total += w;
        int[] counts = new int[k];
        for (int s = 0; s < n; s++) {
            double u = rnd.nextDouble() * total;
            int c = 0;
            double cumulative = weights[0];
            // Rounding can leave u ≥ the last cumulative sum; the last positive-weight component takes it.
            while (c < k - 1 && (u >= cumulative || weights[c] == 0)) {
                c++;
                cumulative += weights[c];
            }
            while (weights[c] == 0) c--;
            counts[c]++;
        }
        return counts;
    }

    @Override
    public String toString() {
        return "GaussianMixture[K=" + k + ", d=" + d + ", density=" + density + ", iterations=" + iterations
                + ", converged=" + converged + ", score=" + trainingScore + "]";
    }
}
