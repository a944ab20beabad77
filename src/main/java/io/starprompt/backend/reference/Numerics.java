package io.starprompt.backend.reference;

/** The float64 helpers more than one family of reference kernels uses. */
final class Numerics {
    private Numerics() {}

    static double square(double x) {
        return x * x;
    }

    /** log Σ_j exp(s_j) over the entries that are not −∞; −∞ when there are none. */
    static double logSumExp(double[] scores) {
        double max = Double.NEGATIVE_INFINITY;
        for (double s : scores) max = Math.max(max, s);
        if (max == Double.NEGATIVE_INFINITY) return Double.NEGATIVE_INFINITY;
        double sum = 0.0;
        for (double s : scores) sum += Math.exp(s - max);
        return max + Math.log(sum);
    }

    /** exp(s_j − lse) per entry (zeros when the row has no finite score). */
    static double[] softmaxFromLse(double[] scores, double logSumExp) {
        double[] probs = new double[scores.length];
        if (logSumExp == Double.NEGATIVE_INFINITY) return probs;
        for (int j = 0; j < scores.length; j++) probs[j] = Math.exp(scores[j] - logSumExp);
        return probs;
    }

    static void softmaxInPlace(double[] row) {
        double[] probs = softmaxFromLse(row, logSumExp(row));
        System.arraycopy(probs, 0, row, 0, row.length);
    }

    /** Softmax Jacobian-vector product: y∘(dy − ⟨dy, y⟩). */
    static double[] softmaxBackwardRow(double[] y, double[] dy) {
        double dot = 0.0;
        for (int j = 0; j < y.length; j++) dot += dy[j] * y[j];
        double[] dx = new double[y.length];
        for (int j = 0; j < y.length; j++) dx[j] = y[j] * (dy[j] - dot);
        return dx;
    }

    static double[][] scaled(double[][] x, double factor) {
        for (double[] row : x) {
            for (int j = 0; j < row.length; j++) row[j] *= factor;
        }
        return x;
    }

    /** target[i] = (float) (target[i] + sums[i]). */
    static void addInto(float[] target, double[] sums) {
        for (int i = 0; i < target.length; i++) target[i] = (float) ((double) target[i] + sums[i]);
    }

    static IllegalArgumentException bad(String op, String what) {
        return new IllegalArgumentException(op + ": " + what);
    }

    static void requireIndices(String op, String name, int[] idx, int lo, int hi) {
        for (int i = 0; i < idx.length; i++) {
            if (idx[i] < lo || idx[i] >= hi) {
                throw bad(op, name + "[" + i + "] = " + idx[i] + " is outside [" + lo + ", " + hi + ")");
            }
        }
    }
}
