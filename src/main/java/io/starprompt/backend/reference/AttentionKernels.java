package io.starprompt.backend.reference;

/**
 * Multi-head attention with optional prefix keys and values, value residual and causal mask,
 * forward and backward (native/cpu/attention_*.cpp).
 *
 * <p>Part of the float64 reference kernels (see the package description): sums in {@code double},
 * results rounded to {@code float} when stored. The arguments are taken as {@link
 * io.starprompt.backend.Backend} validated them (sizes consistent with the array lengths, indices
 * in range); call through a {@link ReferenceBackend} for checked arguments.
 */
public final class AttentionKernels {

    private AttentionKernels() {}

    /**
     * Multi-head attention: q [B,Nq,H·hd], k, v [B,Nk,H·hd], optional prefix pk, pv [B,Lp,H·hd] forming the
     * logical key/value sequence [pk; k], optional residual r [B,H·hd] added to every output row; per
     * (b, h) the full score matrix scale·QKᵀ is built in double, softmaxed over visible keys (causal:
     * query i sees main key j ≤ i, prefix always) and multiplied by V. lse [B,H,Nq] (nullable) receives
     * the log-sum-exp of each row's visible scaled scores (−∞ when a row sees no key, whose output is r).
     *
     * @param q queries [B, Nq, H·hd]
     * @param k keys [B, Nk, H·hd]
     * @param v values [B, Nk, H·hd]
     * @param pk prefix keys [B, Lp, H·hd], or null
     * @param pv prefix values [B, Lp, H·hd], or null
     * @param r residual [B, H·hd], or null
     * @param out output [B, Nq, H·hd]
     * @param lse log-sum-exp [B, H, Nq], or null
     * @param batch B
     * @param nq Nq
     * @param nk Nk
     * @param lp Lp (0 without prefixes)
     * @param heads H
     * @param headDim hd
     * @param scale the score scale
     * @param causal whether query i sees only main keys j ≤ i
     */
    public static void attentionForward(float[] q, float[] k, float[] v, float[] pk, float[] pv, float[] r,
            float[] out, float[] lse, int batch, int nq, int nk, int lp, int heads, int headDim, float scale,
            boolean causal) {
        AttentionShape s = new AttentionShape(batch, nq, nk, lp, heads, headDim);

        s.forEachHead(q, k, v, pk, pv, (b, h, qh, kh, vh) -> {
            double[][] scores = s.scaledScores(qh, kh, scale, causal);
            for (int i = 0; i < nq; i++) {
                double logSumExp = Numerics.logSumExp(scores[i]);
                if (lse != null) lse[(b * heads + h) * nq + i] = (float) logSumExp;
                double[] probs = Numerics.softmaxFromLse(scores[i], logSumExp);
                for (int e = 0; e < headDim; e++) {
                    double acc = 0.0;
                    for (int j = 0; j < s.keyRows; j++) acc += probs[j] * vh[j][e];
                    if (r != null) acc += r[b * s.width + h * headDim + e];
                    out[s.queryIndex(b, i, h, e)] = (float) acc;
                }
            }
        });
    }

    /**
     * Textbook attention backward, recomputing P in double from q and the logical keys: dV = Pᵀ·dO,
     * dP = dO·Vᵀ, dS = P∘(dP − rowsum(P∘dP)), dQ = scale·dS·K, dK = scale·dSᵀ·Q; the logical dK/dV rows
     * are split into dpk/dpv (first Lp rows) and dk/dv; dr[b,:] = Σ_queries dout[b,:]. All gradients are
     * overwritten; dpk/dpv/dr must be null exactly when pk/pv/r are. out and lse are not read (nullable).
     *
     * @param q queries [B, Nq, H·hd]
     * @param k keys [B, Nk, H·hd]
     * @param v values [B, Nk, H·hd]
     * @param pk prefix keys [B, Lp, H·hd], or null
     * @param pv prefix values [B, Lp, H·hd], or null
     * @param r residual [B, H·hd], or null
     * @param out the forward's output (not read)
     * @param lse the forward's log-sum-exp (not read)
     * @param dout gradient of the output [B, Nq, H·hd]
     * @param dq gradient of q, overwritten
     * @param dk gradient of k, overwritten
     * @param dv gradient of v, overwritten
     * @param dpk gradient of pk, overwritten, or null
     * @param dpv gradient of pv, overwritten, or null
     * @param dr gradient of r, overwritten, or null
     * @param batch B
     * @param nq Nq
     * @param nk Nk
     * @param lp Lp
     * @param heads H
     * @param headDim hd
     * @param scale the score scale
     * @param causal whether query i sees only main keys j ≤ i
     */
    public static void attentionBackward(float[] q, float[] k, float[] v, float[] pk, float[] pv, float[] r,
            float[] out, float[] lse, float[] dout, float[] dq, float[] dk, float[] dv, float[] dpk, float[] dpv,
            float[] dr, int batch, int nq, int nk, int lp, int heads, int headDim, float scale, boolean causal) {
        AttentionShape s = new AttentionShape(batch, nq, nk, lp, heads, headDim);

        s.forEachHead(q, k, v, pk, pv, (b, h, qh, kh, vh) -> {
            double[][] dOut = s.queryRows(dout, b, h);
            double[][] probs = s.scaledScores(qh, kh, scale, causal);
            for (int i = 0; i < nq; i++) probs[i] = Numerics.softmaxFromLse(probs[i], Numerics.logSumExp(probs[i]));

            double[][] dProbs = multiplyTransposed(dOut, vh);             // dP = dO Vᵀ   [Nq, Lk]
            double[][] dScores = softmaxRowsBackward(probs, dProbs);      // dS           [Nq, Lk]
            double[][] dQh = Numerics.scaled(multiply(dScores, kh), scale);        // dQ = s dS K  [Nq, hd]
            double[][] dKh = Numerics.scaled(multiply(transpose(dScores), qh), scale); // dK = s dSᵀ Q [Lk, hd]
            double[][] dVh = multiply(transpose(probs), dOut);            // dV = Pᵀ dO   [Lk, hd]

            s.storeQueryRows(dq, b, h, dQh);
            s.storeLogicalRows(dpk, dk, b, h, dKh);
            s.storeLogicalRows(dpv, dv, b, h, dVh);
        });
        if (dr != null) EmbeddingKernels.tokenSum(dout, dr, batch, nq, s.width);
    }

    private static double[][] softmaxRowsBackward(double[][] probs, double[][] dProbs) {
        double[][] dScores = new double[probs.length][];
        for (int i = 0; i < probs.length; i++) dScores[i] = Numerics.softmaxBackwardRow(probs[i], dProbs[i]);
        return dScores;
    }

    /** X·Y for X [r, s], Y [s, t]. */
    private static double[][] multiply(double[][] x, double[][] y) {
        int rows = x.length;
        int inner = y.length;
        int cols = inner == 0 ? 0 : y[0].length;
        double[][] z = new double[rows][cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                double acc = 0.0;
                for (int p = 0; p < inner; p++) acc += x[i][p] * y[p][j];
                z[i][j] = acc;
            }
        }
        return z;
    }

    /** X·Yᵀ for X [r, s], Y [t, s]. */
    private static double[][] multiplyTransposed(double[][] x, double[][] y) {
        return multiply(x, transpose(y));
    }

    private static double[][] transpose(double[][] x) {
        int rows = x.length;
        int cols = rows == 0 ? 0 : x[0].length;
        double[][] t = new double[cols][rows];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) t[j][i] = x[i][j];
        }
        return t;
    }

    /** Sizes of one attention call and the addressing of its [B, rows, H·hd] operands. */
    private static final class AttentionShape {
        final int batch;
        final int nq;
        final int nk;
        final int lp;
        final int heads;
        final int headDim;
        final int width;
        final int keyRows;

        AttentionShape(int batch, int nq, int nk, int lp, int heads, int headDim) {
            this.batch = batch;
            this.nq = nq;
            this.nk = nk;
            this.lp = lp;
            this.heads = heads;
            this.headDim = headDim;
            this.width = heads * headDim;
            this.keyRows = lp + nk;
        }

        /** The rows one (sample, head) pair attends with. */
        @FunctionalInterface
        interface HeadBody {
            void run(int b, int h, double[][] qh, double[][] kh, double[][] vh);
        }

        /** Runs body for every sample and head with its query rows and logical key and value rows. */
        void forEachHead(float[] q, float[] k, float[] v, float[] pk, float[] pv, HeadBody body) {
            for (int b = 0; b < batch; b++) {
                for (int h = 0; h < heads; h++) {
                    body.run(b, h, queryRows(q, b, h), logicalRows(pk, k, b, h), logicalRows(pv, v, b, h));
                }
            }
        }

        int queryIndex(int b, int i, int h, int e) {
            return (b * nq + i) * width + h * headDim + e;
        }

        /** Head h of sample b of a [B, Nq, H·hd] array, as [Nq][hd] doubles. */
        double[][] queryRows(float[] src, int b, int h) {
            double[][] rows = new double[nq][headDim];
            for (int i = 0; i < nq; i++) {
                for (int e = 0; e < headDim; e++) rows[i][e] = src[queryIndex(b, i, h, e)];
            }
            return rows;
        }

        void storeQueryRows(float[] dst, int b, int h, double[][] rows) {
            for (int i = 0; i < nq; i++) {
                for (int e = 0; e < headDim; e++) dst[queryIndex(b, i, h, e)] = (float) rows[i][e];
            }
        }

        /** Head h of sample b of the logical sequence [prefix; main], as [Lp + Nk][hd] doubles. */
        double[][] logicalRows(float[] prefix, float[] main, int b, int h) {
            double[][] rows = new double[keyRows][headDim];
            for (int j = 0; j < keyRows; j++) {
                for (int e = 0; e < headDim; e++) {
                    rows[j][e] = j < lp ? prefix[rowIndex(b, j, lp, h, e)] : main[rowIndex(b, j - lp, nk, h, e)];
                }
            }
            return rows;
        }

        /** Writes logical rows [Lp + Nk][hd] back: the first Lp into prefix, the rest into main. */
        void storeLogicalRows(float[] prefix, float[] main, int b, int h, double[][] rows) {
            for (int j = 0; j < keyRows; j++) {
                for (int e = 0; e < headDim; e++) {
                    if (j < lp) prefix[rowIndex(b, j, lp, h, e)] = (float) rows[j][e];
                    else main[rowIndex(b, j - lp, nk, h, e)] = (float) rows[j][e];
                }
            }
        }

        private int rowIndex(int b, int row, int rowsPerSample, int h, int e) {
            return (b * rowsPerSample + row) * width + h * headDim + e;
        }

        /** Logical key j is visible to query i: prefix always, main key j − Lp ≤ i when causal. */
        boolean visible(int i, int j, boolean causal) {
            return j < lp || !causal || j - lp <= i;
        }

        /** scale·⟨q_i, k_j⟩ for visible keys, −∞ for masked ones: [Nq][Lp + Nk]. */
        double[][] scaledScores(double[][] qh, double[][] kh, float scale, boolean causal) {
            double[][] scores = new double[nq][keyRows];
            for (int i = 0; i < nq; i++) {
                for (int j = 0; j < keyRows; j++) {
                    if (!visible(i, j, causal)) {
                        scores[i][j] = Double.NEGATIVE_INFINITY;
                        continue;
                    }
                    double dot = 0.0;
                    for (int e = 0; e < headDim; e++) dot += qh[i][e] * kh[j][e];
                    scores[i][j] = scale * dot;
                }
            }
            return scores;
        }
    }
}
