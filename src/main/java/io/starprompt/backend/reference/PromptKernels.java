package io.starprompt.backend.reference;

/**
 * Plain float64 loops of the input-prompt ops (methods/l2p.md §3, §4, §5, §6): cosine top-N
 * prompt match and its backward, input-prompt concatenation and its backward, and the mean over
 * a range of tokens. The oracle the CPU and CUDA kernels are compared against.
 */
final class PromptKernels {
    /** Squared norms at or below this are clamped before the square root (methods/l2p.md §3). */
    static final double MIN_NORM_SQUARED = 1e-12;

    private PromptKernels() {}

    // ------------------------------------------------------------------ cosine top-N match

    /**
     * scores[b, j] = cos(q_b, k_j) with clamped norms; selected[b] = the topN best j of row b in
     * decreasing score, ties towards the lower index; with batchwise, every row gets the topN ids
     * most frequent among all rows' choices (ties towards the lower id).
     */
    static void cosineMatch(float[] q, float[] k, int batch, int pool, int dim, int topN, boolean batchwise,
            float[] scores, int[] selected) {
        double[] keyScale = new double[pool];
        for (int j = 0; j < pool; j++) keyScale[j] = 1 / clampedNorm(k, j * dim, dim);
        for (int b = 0; b < batch; b++) {
            double queryScale = 1 / clampedNorm(q, b * dim, dim);
            for (int j = 0; j < pool; j++) {
                scores[b * pool + j] = (float) (dot(q, b * dim, k, j * dim, dim) * queryScale * keyScale[j]);
            }
            int[] best = topIndices(rowAsDoubles(scores, b * pool, pool), topN);
            System.arraycopy(best, 0, selected, b * topN, topN);
        }
        if (batchwise) batchVote(selected, batch, pool, topN);
    }

    /** The n ids most often chosen over all rows, written to every row. */
    private static void batchVote(int[] selected, int batch, int pool, int topN) {
        double[] counts = new double[pool];
        for (int id : selected) counts[id]++;
        int[] winners = topIndices(counts, topN);
        for (int b = 0; b < batch; b++) System.arraycopy(winners, 0, selected, b * topN, topN);
    }

    /**
     * The n largest entries' indices in decreasing order, ties towards the lower index: n passes,
     * each taking the first strictly better untaken entry (so a NaN, never better, is taken last).
     */
    static int[] topIndices(double[] values, int n) {
        boolean[] taken = new boolean[values.length];
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            int best = -1;
            for (int j = 0; j < values.length; j++) {
                if (!taken[j] && (best < 0 || values[j] > values[best])) best = j;
            }
            taken[best] = true;
            out[i] = best;
        }
        return out;
    }

    private static double[] rowAsDoubles(float[] x, int offset, int n) {
        double[] out = new double[n];
        for (int i = 0; i < n; i++) out[i] = x[offset + i];
        return out;
    }

    /**
     * Gradients of R = Σ_b Σ_n w[b,n] · cos(q_b, k_{sel[b,n]}): dKeys overwritten, dQueries
     * (may be null) overwritten. Below the norm clamp the normaliser is constant, so only the
     * direct term remains.
     */
    static void cosineMatchBackward(float[] q, float[] k, int[] selected, float[] weights, int batch, int pool,
            int dim, int topN, float[] dKeys, float[] dQueries) {
        double[] dk = new double[pool * dim], dq = new double[batch * dim];
        for (int b = 0; b < batch; b++) {
            for (int n = 0; n < topN; n++) {
                int j = selected[b * topN + n];
                double w = weights[b * topN + n];
                double qq = dot(q, b * dim, q, b * dim, dim), kk = dot(k, j * dim, k, j * dim, dim);
                double nq = Math.sqrt(Math.max(qq, MIN_NORM_SQUARED)), nk = Math.sqrt(Math.max(kk, MIN_NORM_SQUARED));
                double s = dot(q, b * dim, k, j * dim, dim) / (nq * nk);
                double keyProjection = kk > MIN_NORM_SQUARED ? s : 0, queryProjection = qq > MIN_NORM_SQUARED ? s : 0;
                for (int d = 0; d < dim; d++) {
                    double qh = q[b * dim + d] / nq, kh = k[j * dim + d] / nk;
                    dk[j * dim + d] += w * (qh - keyProjection * kh) / nk;
                    dq[b * dim + d] += w * (kh - queryProjection * qh) / nq;
                }
            }
        }
        store(dk, dKeys);
        if (dQueries != null) store(dq, dQueries);
    }

    private static double clampedNorm(float[] x, int offset, int dim) {
        return Math.sqrt(Math.max(dot(x, offset, x, offset, dim), MIN_NORM_SQUARED));
    }

    private static double dot(float[] x, int xo, float[] y, int yo, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) s += (double) x[xo + i] * y[yo + i];
        return s;
    }

    private static void store(double[] from, float[] to) {
        for (int i = 0; i < from.length; i++) to[i] = (float) from[i];
    }

    // ------------------------------------------------------------------ input-prompt concatenation

    /**
     * out[b] = [tokens[b, 0]; pool[sel[b, 0]] + shift; …; pool[sel[b, N−1]] + shift; tokens[b, 1 …]]
     * for tokens [B, T, D], pool [M, L, D], shift [D] (null: none), out [B, T + N·L, D].
     */
    static void promptConcat(float[] tokens, float[] pool, int[] selected, float[] shift, float[] out, int batch,
            int t, int length, int topN, int dim) {
        int s = t + topN * length;
        for (int b = 0; b < batch; b++) {
            for (int row = 0; row < s; row++) {
                int dst = (b * s + row) * dim;
                int prompt = row - 1;
                if (row == 0 || prompt >= topN * length) {
                    int src = (b * t + (row == 0 ? 0 : row - topN * length)) * dim;
                    System.arraycopy(tokens, src, out, dst, dim);
                    continue;
                }
                int j = selected[b * topN + prompt / length];
                int src = (j * length + prompt % length) * dim;
                for (int d = 0; d < dim; d++) out[dst + d] = (float) ((double) pool[src + d] + (shift == null ? 0 : shift[d]));
            }
        }
    }

    /** Adjoint of {@link #promptConcat}: dPool (overwritten) sums the rows each prompt occupied; dTokens (may be null) is overwritten. */
    static void promptConcatBackward(float[] dOut, int[] selected, float[] dPool, float[] dTokens, int batch,
            int t, int pool, int length, int topN, int dim) {
        int s = t + topN * length;
        double[] dp = new double[pool * length * dim];
        for (int b = 0; b < batch; b++) {
            for (int row = 1; row <= topN * length; row++) {
                int prompt = row - 1, j = selected[b * topN + prompt / length];
                int dst = (j * length + prompt % length) * dim, src = (b * s + row) * dim;
                for (int d = 0; d < dim; d++) dp[dst + d] += dOut[src + d];
            }
            if (dTokens == null) continue;
            System.arraycopy(dOut, b * s * dim, dTokens, b * t * dim, dim);
            System.arraycopy(dOut, (b * s + 1 + topN * length) * dim, dTokens, (b * t + 1) * dim, (t - 1) * dim);
        }
        store(dp, dPool);
    }

    // ------------------------------------------------------------------ mean over a token range

    /** out[b] = (1/count) Σ_{i = from}^{from + count − 1} x[b, i] for x [B, S, D]. */
    static void tokenRangeMean(float[] x, float[] out, int batch, int tokens, int from, int count, int dim) {
        for (int b = 0; b < batch; b++) {
            for (int d = 0; d < dim; d++) {
                double sum = 0;
                for (int i = from; i < from + count; i++) sum += x[(b * tokens + i) * dim + d];
                out[b * dim + d] = (float) (sum / count);
            }
        }
    }

    /** dx[b, i] = dOut[b] / count inside the range, 0 outside (dx overwritten). */
    static void tokenRangeMeanBackward(float[] dOut, float[] dx, int batch, int tokens, int from, int count,
            int dim) {
        java.util.Arrays.fill(dx, 0f);
        for (int b = 0; b < batch; b++) {
            for (int i = from; i < from + count; i++) {
                for (int d = 0; d < dim; d++) dx[(b * tokens + i) * dim + d] = (float) ((double) dOut[b * dim + d] / count);
            }
        }
    }
}
