package io.starprompt.backend.reference;

/**
 * Float64 reference kernels: the oracle every optimised kernel is tested against.
 *
 * <p>One public static method per {@code sp_cpu_*} operation of {@code native/include/starprompt.h},
 * with the same argument order and semantics, on whole Java arrays: {@code float[]} tensors are dense,
 * row-major and contiguous, {@code int[]} holds index arrays. Every sum is accumulated in
 * {@code double}; results are rounded to {@code float} only when stored. Loops are deliberately
 * plain: clarity over speed.
 *
 * <p>Outputs are fully overwritten unless the method name says "add" (or the Javadoc says "accumulated").
 * Argument errors (sizes inconsistent with array lengths, indices out of range, missing arrays)
 * throw {@link IllegalArgumentException} naming the method and the offending values, before anything
 * is written. Array lengths must equal the sizes exactly, except for {@link #gemm}, whose operands
 * only need to cover the strided extent.
 */
public final class ReferenceKernels {
    /** Fixed factor of the retrieval cosine (STAR-Prompt §4.3). */
    public static final double RETRIEVAL_SCALE = 5.0;
    /** Floor of the norm in the retrieval cosine. */
    public static final double NORM_FLOOR = 1e-12;
    /** Slope of QuickGELU: y = x sigmoid(1.702 x). */
    public static final double QUICK_GELU_ALPHA = 1.702;

    private static final double SQRT_PI = Math.sqrt(Math.PI);
    private static final double SQRT_2 = Math.sqrt(2.0);
    private static final double INV_SQRT_2PI = 1.0 / Math.sqrt(2.0 * Math.PI);

    private ReferenceKernels() {}

    // ===================================================================== dense algebra

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
        String op = "gemm";
        requireNonNegative(op, "m", m);
        requireNonNegative(op, "n", n);
        requireNonNegative(op, "k", k);
        requireNonNegative(op, "batch", batch);
        requireNonNegative(op, "strideA", strideA);
        requireNonNegative(op, "strideB", strideB);
        requireNonNegative(op, "strideC", strideC);
        if (batch > 1 && strideC < (long) m * n) {
            throw bad(op, "strideC = " + strideC + " < m*n = " + m + "*" + n + " makes the " + batch
                    + " output items overlap");
        }
        requireExtent(op, "a", a, strideA, (long) m * k, batch);
        requireExtent(op, "b", b, strideB, (long) k * n, batch);
        requireExtent(op, "c", c, strideC, (long) m * n, batch);

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
        String op = "addBias";
        requireNonNegative(op, "rows", rows);
        requireNonNegative(op, "cols", cols);
        requireLength(op, "x", x, rows * cols, "rows*cols = " + rows + "*" + cols);
        requireLength(op, "bias", bias, cols, "cols");
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
        String op = "axpy";
        requireNonNegative(op, "n", n);
        requireLength(op, "y", y, n, "n");
        requireLength(op, "x", x, n, "n");
        for (int i = 0; i < n; i++) {
            y[i] = (float) ((double) y[i] + (double) alpha * x[i]);
        }
    }

    // ===================================================================== layer norm

    /**
     * LayerNorm over the last dimension of the rows×cols matrix x: y = (x − mean)·rstd·gamma + beta,
     * with the biased variance and rstd = 1/sqrt(var + eps); mean and rstd [rows] are saved. y may be x.
     *
     * @param x input [rows, cols]
     * @param gamma scale [cols]
     * @param beta shift [cols]
     * @param eps added to the variance
     * @param y output [rows, cols]
     * @param mean the means [rows]
     * @param rstd the reciprocal standard deviations [rows]
     * @param rows the number of rows
     * @param cols the normalised dimension
     */
    public static void layerNormForward(float[] x, float[] gamma, float[] beta, float eps, float[] y, float[] mean,
            float[] rstd, long rows, long cols) {
        String op = "layerNormForward";
        requireNonNegative(op, "rows", rows);
        requirePositive(op, "cols", cols);
        String rc = "rows*cols = " + rows + "*" + cols;
        requireLength(op, "x", x, rows * cols, rc);
        requireLength(op, "gamma", gamma, cols, "cols");
        requireLength(op, "beta", beta, cols, "cols");
        requireLength(op, "y", y, rows * cols, rc);
        requireLength(op, "mean", mean, rows, "rows");
        requireLength(op, "rstd", rstd, rows, "rows");
        for (int r = 0; r < rows; r++) {
            int base = (int) (r * cols);
            double mu = 0.0;
            for (int j = 0; j < cols; j++) mu += x[base + j];
            mu /= cols;
            double var = 0.0;
            for (int j = 0; j < cols; j++) var += square(x[base + j] - mu);
            var /= cols;
            double invStd = 1.0 / Math.sqrt(var + eps);
            for (int j = 0; j < cols; j++) {
                y[base + j] = (float) ((x[base + j] - mu) * invStd * gamma[j] + beta[j]);
            }
            mean[r] = (float) mu;
            rstd[r] = (float) invStd;
        }
    }

    /**
     * LayerNorm backward from the saved mean and rstd: dx is overwritten with
     * rstd·(dxhat − mean(dxhat) − xhat·mean(dxhat·xhat)), dxhat = dy·gamma; dgamma += Σ_rows dy·xhat and
     * dbeta += Σ_rows dy are accumulated when non-null.
     *
     * @param dy gradient of the output [rows, cols]
     * @param x the forward's input
     * @param gamma the forward's scale
     * @param mean the forward's means
     * @param rstd the forward's reciprocal standard deviations
     * @param dx gradient of the input, overwritten
     * @param dgamma gradient of gamma, accumulated into, or null
     * @param dbeta gradient of beta, accumulated into, or null
     * @param rows the number of rows
     * @param cols the normalised dimension
     */
    public static void layerNormBackward(float[] dy, float[] x, float[] gamma, float[] mean, float[] rstd,
            float[] dx, float[] dgamma, float[] dbeta, long rows, long cols) {
        String op = "layerNormBackward";
        requireNonNegative(op, "rows", rows);
        requirePositive(op, "cols", cols);
        String rc = "rows*cols = " + rows + "*" + cols;
        requireLength(op, "dy", dy, rows * cols, rc);
        requireLength(op, "x", x, rows * cols, rc);
        requireLength(op, "gamma", gamma, cols, "cols");
        requireLength(op, "mean", mean, rows, "rows");
        requireLength(op, "rstd", rstd, rows, "rows");
        requireLength(op, "dx", dx, rows * cols, rc);
        requireLengthIfPresent(op, "dgamma", dgamma, cols, "cols");
        requireLengthIfPresent(op, "dbeta", dbeta, cols, "cols");

        double[] dgammaSum = new double[(int) cols];
        double[] dbetaSum = new double[(int) cols];
        double[] xhat = new double[(int) cols];
        double[] dxhat = new double[(int) cols];
        for (int r = 0; r < rows; r++) {
            int base = (int) (r * cols);
            double meanDxhat = 0.0;
            double meanDxhatXhat = 0.0;
            for (int j = 0; j < cols; j++) {
                xhat[j] = ((double) x[base + j] - mean[r]) * rstd[r];
                dxhat[j] = (double) dy[base + j] * gamma[j];
                meanDxhat += dxhat[j];
                meanDxhatXhat += dxhat[j] * xhat[j];
                dgammaSum[j] += (double) dy[base + j] * xhat[j];
                dbetaSum[j] += dy[base + j];
            }
            meanDxhat /= cols;
            meanDxhatXhat /= cols;
            for (int j = 0; j < cols; j++) {
                dx[base + j] = (float) (rstd[r] * (dxhat[j] - meanDxhat - xhat[j] * meanDxhatXhat));
            }
        }
        if (dgamma != null) addInto(dgamma, dgammaSum);
        if (dbeta != null) addInto(dbeta, dbetaSum);
    }

    // ===================================================================== activations

    /**
     * GELU with erf: y = x/2·(1 + erf(x/√2)) elementwise over n elements. y may be x.
     *
     * @param x input
     * @param y output
     * @param n the number of elements
     */
    public static void geluForward(float[] x, float[] y, long n) {
        String op = "geluForward";
        requireElementwise(op, n, "x", x, "y", y);
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
        String op = "geluBackward";
        requireElementwise(op, n, "x", x, "dy", dy, "dx", dx);
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
        String op = "quickGeluForward";
        requireElementwise(op, n, "x", x, "y", y);
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
        String op = "quickGeluBackward";
        requireElementwise(op, n, "x", x, "dy", dy, "dx", dx);
        for (int i = 0; i < n; i++) {
            double xi = x[i];
            double s = sigmoid(QUICK_GELU_ALPHA * xi);
            dx[i] = (float) (dy[i] * (s + QUICK_GELU_ALPHA * xi * s * (1.0 - s)));
        }
    }

    // ===================================================================== softmax

    /**
     * Row softmax over the last dimension of the rows×cols matrix x (max-subtracted); y may be x.
     *
     * @param x input [rows, cols]
     * @param y output [rows, cols]
     * @param rows the number of rows
     * @param cols the row length
     */
    public static void softmaxForward(float[] x, float[] y, long rows, long cols) {
        String op = "softmaxForward";
        requireNonNegative(op, "rows", rows);
        requirePositive(op, "cols", cols);
        String rc = "rows*cols = " + rows + "*" + cols;
        requireLength(op, "x", x, rows * cols, rc);
        requireLength(op, "y", y, rows * cols, rc);
        double[] row = new double[(int) cols];
        for (int r = 0; r < rows; r++) {
            int base = (int) (r * cols);
            for (int j = 0; j < cols; j++) row[j] = x[base + j];
            softmaxInPlace(row);
            for (int j = 0; j < cols; j++) y[base + j] = (float) row[j];
        }
    }

    /**
     * Row softmax backward: dx = y·(dy − ⟨dy, y⟩) per row. dx may be dy.
     *
     * @param y the forward's output [rows, cols]
     * @param dy gradient of the output
     * @param dx gradient of the input, overwritten
     * @param rows the number of rows
     * @param cols the row length
     */
    public static void softmaxBackward(float[] y, float[] dy, float[] dx, long rows, long cols) {
        String op = "softmaxBackward";
        requireNonNegative(op, "rows", rows);
        requirePositive(op, "cols", cols);
        String rc = "rows*cols = " + rows + "*" + cols;
        requireLength(op, "y", y, rows * cols, rc);
        requireLength(op, "dy", dy, rows * cols, rc);
        requireLength(op, "dx", dx, rows * cols, rc);
        for (int r = 0; r < rows; r++) {
            int base = (int) (r * cols);
            double dot = 0.0;
            for (int j = 0; j < cols; j++) dot += (double) dy[base + j] * y[base + j];
            for (int j = 0; j < cols; j++) {
                dx[base + j] = (float) (y[base + j] * ((double) dy[base + j] - dot));
            }
        }
    }

    // ===================================================================== attention

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
        String op = "attentionForward";
        AttentionShape s = AttentionShape.of(op, batch, nq, nk, lp, heads, headDim);
        s.checkInputs(op, q, k, v, pk, pv, r);
        requireLength(op, "out", out, s.queryElements(), s.queryFormula());
        requireLengthIfPresent(op, "lse", lse, (long) batch * heads * nq, "batch*heads*nq = " + batch + "*"
                + heads + "*" + nq);

        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                double[][] qh = s.queryRows(q, b, h);
                double[][] kh = s.logicalRows(pk, k, b, h);
                double[][] vh = s.logicalRows(pv, v, b, h);
                double[][] scores = s.scaledScores(qh, kh, scale, causal);
                for (int i = 0; i < nq; i++) {
                    double logSumExp = logSumExp(scores[i]);
                    if (lse != null) lse[(b * heads + h) * nq + i] = (float) logSumExp;
                    double[] probs = softmaxFromLse(scores[i], logSumExp);
                    for (int e = 0; e < headDim; e++) {
                        double acc = 0.0;
                        for (int j = 0; j < s.keyRows; j++) acc += probs[j] * vh[j][e];
                        if (r != null) acc += r[b * s.width + h * headDim + e];
                        out[s.queryIndex(b, i, h, e)] = (float) acc;
                    }
                }
            }
        }
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
        String op = "attentionBackward";
        AttentionShape s = AttentionShape.of(op, batch, nq, nk, lp, heads, headDim);
        s.checkInputs(op, q, k, v, pk, pv, r);
        requireLengthIfPresent(op, "out", out, s.queryElements(), s.queryFormula());
        requireLengthIfPresent(op, "lse", lse, (long) batch * heads * nq, "batch*heads*nq = " + batch + "*"
                + heads + "*" + nq);
        requireLength(op, "dout", dout, s.queryElements(), s.queryFormula());
        requireLength(op, "dq", dq, s.queryElements(), s.queryFormula());
        requireLength(op, "dk", dk, s.keyElements(), s.keyFormula());
        requireLength(op, "dv", dv, s.keyElements(), s.keyFormula());
        requireGradientMatchesInput(op, "dpk", dpk, "pk", pk, s.prefixElements(), s.prefixFormula());
        requireGradientMatchesInput(op, "dpv", dpv, "pv", pv, s.prefixElements(), s.prefixFormula());
        requireGradientMatchesInput(op, "dr", dr, "r", r, (long) batch * s.width, "batch*heads*headDim");

        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                double[][] qh = s.queryRows(q, b, h);
                double[][] kh = s.logicalRows(pk, k, b, h);
                double[][] vh = s.logicalRows(pv, v, b, h);
                double[][] dOut = s.queryRows(dout, b, h);
                double[][] probs = s.scaledScores(qh, kh, scale, causal);
                for (int i = 0; i < nq; i++) probs[i] = softmaxFromLse(probs[i], logSumExp(probs[i]));

                double[][] dProbs = multiplyTransposed(dOut, vh);             // dP = dO Vᵀ   [Nq, Lk]
                double[][] dScores = softmaxRowsBackward(probs, dProbs);      // dS           [Nq, Lk]
                double[][] dQh = scaled(multiply(dScores, kh), scale);        // dQ = s dS K  [Nq, hd]
                double[][] dKh = scaled(multiply(transpose(dScores), qh), scale); // dK = s dSᵀ Q [Lk, hd]
                double[][] dVh = multiply(transpose(probs), dOut);            // dV = Pᵀ dO   [Lk, hd]

                s.storeQueryRows(dq, b, h, dQh);
                s.storeLogicalRows(dpk, dk, b, h, dKh);
                s.storeLogicalRows(dpv, dv, b, h, dVh);
            }
        }
        if (dr != null) tokenSumUnchecked(dout, dr, batch, nq, s.width);
    }

    // ===================================================================== embeddings and token ops

    /**
     * out[i, :] = table[ids[i], :] for n ids into a [vocab, dim] table; ids outside [0, vocab) are errors.
     *
     * @param table the table [vocab, dim]
     * @param ids the rows to read
     * @param out the gathered rows [n, dim]
     * @param n the number of ids
     * @param dim the row width
     * @param vocab the table's rows
     */
    public static void embeddingGather(float[] table, int[] ids, float[] out, long n, long dim, long vocab) {
        String op = "embeddingGather";
        checkEmbedding(op, table, ids, out, "out", n, dim, vocab);
        for (int i = 0; i < n; i++) {
            for (int e = 0; e < dim; e++) out[(int) (i * dim + e)] = table[(int) (ids[i] * dim + e)];
        }
    }

    /**
     * dtable[ids[i], :] += dout[i, :] for n ids into a [vocab, dim] table (repeated ids add up).
     *
     * @param dout gradient of the gathered rows [n, dim]
     * @param ids the rows they were read from
     * @param dtable gradient of the table [vocab, dim], accumulated into
     * @param n the number of ids
     * @param dim the row width
     * @param vocab the table's rows
     */
    public static void embeddingScatterAdd(float[] dout, int[] ids, float[] dtable, long n, long dim, long vocab) {
        String op = "embeddingScatterAdd";
        checkEmbedding(op, dtable, ids, dout, "dout", n, dim, vocab);
        double[] sums = new double[dtable.length];
        for (int i = 0; i < n; i++) {
            for (int e = 0; e < dim; e++) sums[(int) (ids[i] * dim + e)] += dout[(int) (i * dim + e)];
        }
        addInto(dtable, sums);
    }

    /**
     * out[b, :] = Σ_n x[b, n, :] for x [batch, tokens, dim].
     *
     * @param x input [batch, tokens, dim]
     * @param out the sums [batch, dim]
     * @param batch the batch size
     * @param tokens the tokens per item
     * @param dim the row width
     */
    public static void tokenSum(float[] x, float[] out, int batch, int tokens, long dim) {
        String op = "tokenSum";
        checkTokenShape(op, batch, tokens, dim);
        requireLength(op, "x", x, batch * (long) tokens * dim, "batch*tokens*dim");
        requireLength(op, "out", out, batch * dim, "batch*dim");
        tokenSumUnchecked(x, out, batch, tokens, dim);
    }

    /**
     * out[b, :] = x[b, idx[b], :] for x [batch, tokens, dim]; idx outside [0, tokens) is an error.
     *
     * @param x input [batch, tokens, dim]
     * @param idx one token per batch item
     * @param out the picked rows [batch, dim]
     * @param batch the batch size
     * @param tokens the tokens per item
     * @param dim the row width
     */
    public static void tokenGather(float[] x, int[] idx, float[] out, int batch, int tokens, long dim) {
        String op = "tokenGather";
        checkTokenShape(op, batch, tokens, dim);
        requireLength(op, "x", x, batch * (long) tokens * dim, "batch*tokens*dim");
        requireLength(op, "idx", idx, batch, "batch");
        requireIndices(op, "idx", idx, 0, tokens);
        requireLength(op, "out", out, batch * dim, "batch*dim");
        for (int b = 0; b < batch; b++) {
            long src = ((long) b * tokens + idx[b]) * dim;
            for (int e = 0; e < dim; e++) out[(int) (b * dim + e)] = x[(int) (src + e)];
        }
    }

    /**
     * dx[b, idx[b], :] += dout[b, :] for dx [batch, tokens, dim]; idx outside [0, tokens) is an error.
     *
     * @param dout gradient of the picked rows [batch, dim]
     * @param idx the token each row was picked from
     * @param dx gradient of the input [batch, tokens, dim], accumulated into
     * @param batch the batch size
     * @param tokens the tokens per item
     * @param dim the row width
     */
    public static void tokenScatterAdd(float[] dout, int[] idx, float[] dx, int batch, int tokens, long dim) {
        String op = "tokenScatterAdd";
        checkTokenShape(op, batch, tokens, dim);
        requireLength(op, "dout", dout, batch * dim, "batch*dim");
        requireLength(op, "idx", idx, batch, "batch");
        requireIndices(op, "idx", idx, 0, tokens);
        requireLength(op, "dx", dx, batch * (long) tokens * dim, "batch*tokens*dim");
        for (int b = 0; b < batch; b++) {
            long dst = ((long) b * tokens + idx[b]) * dim;
            for (int e = 0; e < dim; e++) {
                int i = (int) (dst + e);
                dx[i] = (float) ((double) dx[i] + dout[(int) (b * dim + e)]);
            }
        }
    }

    // ===================================================================== loss

    /**
     * Mean cross-entropy over the batch of logits [batch, classes] with only classes [lo, hi) taking part
     * (the others act as logit −∞); labels must lie in [lo, hi). Returns the loss; dlogits (nullable) is
     * overwritten with the gradient of the mean loss, (softmax − onehot)/batch inside [lo, hi), zero outside.
     *
     * @param logits scores [batch, classes]
     * @param labels one label per row, in [lo, hi)
     * @param batch the number of rows
     * @param classes the number of columns
     * @param lo first class taking part
     * @param hi end of the classes taking part (exclusive)
     * @param dlogits gradient of the mean loss, overwritten, or null
     * @return the mean loss
     */
    public static float crossEntropy(float[] logits, int[] labels, int batch, int classes, int lo, int hi,
            float[] dlogits) {
        String op = "crossEntropy";
        requirePositive(op, "batch", batch);
        requirePositive(op, "classes", classes);
        if (lo < 0 || lo >= hi || hi > classes) {
            throw bad(op, "class range [lo, hi) = [" + lo + ", " + hi + ") is empty or outside [0, classes = "
                    + classes + ")");
        }
        String bc = "batch*classes = " + batch + "*" + classes;
        requireLength(op, "logits", logits, (long) batch * classes, bc);
        requireLength(op, "labels", labels, batch, "batch");
        requireIndices(op, "labels", labels, lo, hi);
        requireLengthIfPresent(op, "dlogits", dlogits, (long) batch * classes, bc);

        double total = 0.0;
        double[] active = new double[hi - lo];
        for (int b = 0; b < batch; b++) {
            int base = b * classes;
            for (int c = lo; c < hi; c++) active[c - lo] = logits[base + c];
            double logSumExp = logSumExp(active);
            total += logSumExp - active[labels[b] - lo];
            if (dlogits != null) {
                for (int c = 0; c < classes; c++) {
                    double grad = 0.0;
                    if (c >= lo && c < hi) {
                        grad = Math.exp(active[c - lo] - logSumExp) - (c == labels[b] ? 1.0 : 0.0);
                    }
                    dlogits[base + c] = (float) (grad / batch);
                }
            }
        }
        return (float) (total / batch);
    }

    // ===================================================================== optimisers

    /**
     * One torch.optim.Adam step (step t ≥ 1): g = grad + wd·param; m = β1·m + (1−β1)·g;
     * v = β2·v + (1−β2)·g²; param −= lr·(m/(1−β1ᵗ)) / (sqrt(v/(1−β2ᵗ)) + eps). param, m, v are updated in place.
     *
     * @param param the parameter, updated in place
     * @param grad its gradient
     * @param m first moment, updated in place
     * @param v second moment, updated in place
     * @param n the number of elements
     * @param lr the learning rate
     * @param beta1 decay of the first moment
     * @param beta2 decay of the second moment
     * @param eps added to the denominator
     * @param weightDecay the L2 factor added to the gradient
     * @param step t, from 1
     */
    public static void adamStep(float[] param, float[] grad, float[] m, float[] v, long n, float lr, float beta1,
            float beta2, float eps, float weightDecay, int step) {
        String op = "adamStep";
        requireNonNegative(op, "n", n);
        if (step < 1) throw bad(op, "step = " + step + " must be >= 1");
        requireElementwise(op, n, "param", param, "grad", grad, "m", m, "v", v);
        double biasCorrection1 = 1.0 - Math.pow(beta1, step);
        double biasCorrection2 = 1.0 - Math.pow(beta2, step);
        for (int i = 0; i < n; i++) {
            double g = (double) grad[i] + (double) weightDecay * param[i];
            double mi = (double) beta1 * m[i] + (1.0 - beta1) * g;
            double vi = (double) beta2 * v[i] + (1.0 - beta2) * g * g;
            double mHat = mi / biasCorrection1;
            double vHat = vi / biasCorrection2;
            param[i] = (float) (param[i] - (double) lr * mHat / (Math.sqrt(vHat) + eps));
            m[i] = (float) mi;
            v[i] = (float) vi;
        }
    }

    /**
     * One SGD step without momentum: param −= lr·(grad + weightDecay·param).
     *
     * @param param the parameter, updated in place
     * @param grad its gradient
     * @param n the number of elements
     * @param lr the learning rate
     * @param weightDecay the L2 factor added to the gradient
     */
    public static void sgdStep(float[] param, float[] grad, long n, float lr, float weightDecay) {
        String op = "sgdStep";
        requireElementwise(op, n, "param", param, "grad", grad);
        for (int i = 0; i < n; i++) {
            double g = (double) grad[i] + (double) weightDecay * param[i];
            param[i] = (float) (param[i] - (double) lr * g);
        }
    }

    // ===================================================================== retrieval

    /**
     * STAR-Prompt key–query retrieval for all layers: for layer l, sample b, class c &lt; seen,
     * σ = softmax(a[l,c,:]), u = q[b]∘σ, sims[l,b,c] = 5·⟨u, keys[c]⟩/max(|u|, 1e-12); sel[l,b] = argmax_c
     * (computed on the double similarities, lowest index on ties); sp[l,b,:] = w·p[l,sel,:] with
     * w = sims[l,b,sel] when modulate, else 1. Shapes: q [batch,d], keys [seen,d], a [layers,classes,d],
     * p [layers,classes,dp], sims [layers,batch,seen], sel [layers,batch], sp [layers,batch,dp].
     *
     * @param q queries [batch, d]
     * @param keys unit keys [seen, d]
     * @param a modulation logits [layers, classes, d]
     * @param p prompt pools [layers, classes, dp]
     * @param batch the number of queries
     * @param seen the classes taking part
     * @param classes C, the rows of a and p per layer
     * @param d the query width
     * @param dp the prompt width
     * @param layers the number of layers
     * @param modulate whether the prompt is scaled by its similarity
     * @param sims similarities [layers, batch, seen], overwritten
     * @param sel selected classes [layers, batch], overwritten
     * @param sp selected, weighted prompts [layers, batch, dp], overwritten
     */
    public static void retrievalForward(float[] q, float[] keys, float[] a, float[] p, int batch, int seen,
            int classes, int d, int dp, int layers, boolean modulate, float[] sims, int[] sel, float[] sp) {
        String op = "retrievalForward";
        checkRetrievalInputs(op, q, keys, a, p, batch, seen, classes, d, dp, layers);
        requireLength(op, "sims", sims, (long) layers * batch * seen, "layers*batch*seen");
        requireLength(op, "sel", sel, (long) layers * batch, "layers*batch");
        requireLength(op, "sp", sp, (long) layers * batch * dp, "layers*batch*dp");

        for (int l = 0; l < layers; l++) {
            double[][] sigma = modulationSoftmax(a, l, seen, classes, d);
            for (int b = 0; b < batch; b++) {
                int best = 0;
                double bestSim = Double.NEGATIVE_INFINITY;
                for (int c = 0; c < seen; c++) {
                    double sim = similarity(q, b, keys, c, sigma[c], d);
                    sims[(l * batch + b) * seen + c] = (float) sim;
                    if (sim > bestSim) {
                        bestSim = sim;
                        best = c;
                    }
                }
                sel[l * batch + b] = best;
                double w = modulate ? bestSim : 1.0;
                int promptRow = (l * classes + best) * dp;
                for (int e = 0; e < dp; e++) sp[(l * batch + b) * dp + e] = (float) (w * p[promptRow + e]);
            }
        }
    }

    /**
     * Retrieval backward given dsp [layers,batch,dp]: da [layers,classes,d] and dpGrad [layers,classes,dp]
     * are overwritten; only rows of selected current classes (past ≤ sel &lt; seen) are non-zero:
     * dpGrad[l,c] = Σ_{b: sel=c} w_b·dsp[l,b], and with modulate dA[l,c] = σ∘(G − ⟨G,σ⟩),
     * G = Σ_{b: sel=c} ⟨dsp[l,b], p[l,c]⟩·∂s_b/∂σ. Similarities are recomputed in double; sims (nullable)
     * is only length-checked. sel entries must lie in [0, seen).
     *
     * @param q queries [batch, d]
     * @param keys unit keys [seen, d]
     * @param a modulation logits [layers, classes, d]
     * @param p prompt pools [layers, classes, dp]
     * @param sims the forward's similarities, or null
     * @param sel the forward's selection [layers, batch]
     * @param dsp gradient of the selected prompts [layers, batch, dp]
     * @param batch the number of queries
     * @param seen the classes taking part
     * @param classes C
     * @param past classes below this get no gradient
     * @param d the query width
     * @param dp the prompt width
     * @param layers the number of layers
     * @param modulate whether the forward scaled the prompts by their similarity
     * @param da gradient of a, overwritten
     * @param dpGrad gradient of p, overwritten
     */
    public static void retrievalBackward(float[] q, float[] keys, float[] a, float[] p, float[] sims, int[] sel,
            float[] dsp, int batch, int seen, int classes, int past, int d, int dp, int layers, boolean modulate,
            float[] da, float[] dpGrad) {
        String op = "retrievalBackward";
        checkRetrievalInputs(op, q, keys, a, p, batch, seen, classes, d, dp, layers);
        if (past < 0 || past > seen) throw bad(op, "past = " + past + " is outside [0, seen = " + seen + "]");
        requireLengthIfPresent(op, "sims", sims, (long) layers * batch * seen, "layers*batch*seen");
        requireLength(op, "sel", sel, (long) layers * batch, "layers*batch");
        requireIndices(op, "sel", sel, 0, seen);
        requireLength(op, "dsp", dsp, (long) layers * batch * dp, "layers*batch*dp");
        requireLength(op, "da", da, (long) layers * classes * d, "layers*classes*d");
        requireLength(op, "dpGrad", dpGrad, (long) layers * classes * dp, "layers*classes*dp");

        double[] daSum = new double[da.length];
        double[] dpSum = new double[dpGrad.length];
        for (int l = 0; l < layers; l++) {
            double[][] sigma = modulationSoftmax(a, l, seen, classes, d);
            double[][] gSigma = new double[seen][d];   // G_c = Σ_b g_b ∂s_b/∂σ_c
            for (int b = 0; b < batch; b++) {
                int c = sel[l * batch + b];
                if (c < past) continue;                // frozen (past) class: detached
                double sim = similarity(q, b, keys, c, sigma[c], d);
                double w = modulate ? sim : 1.0;
                int dspRow = (l * batch + b) * dp;
                int promptRow = (l * classes + c) * dp;
                double g = 0.0;                         // dL/dw
                for (int e = 0; e < dp; e++) {
                    dpSum[promptRow + e] += w * dsp[dspRow + e];
                    g += (double) dsp[dspRow + e] * p[promptRow + e];
                }
                if (modulate) {
                    double[] dsDsigma = similarityGradientWrtSigma(q, b, keys, c, sigma[c], d);
                    for (int e = 0; e < d; e++) gSigma[c][e] += g * dsDsigma[e];
                }
            }
            if (modulate) {
                for (int c = past; c < seen; c++) {
                    double[] dA = softmaxBackwardRow(sigma[c], gSigma[c]);
                    int aRow = (l * classes + c) * d;
                    for (int e = 0; e < d; e++) daSum[aRow + e] = dA[e];
                }
            }
        }
        store(da, daSum);
        store(dpGrad, dpSum);
    }

    // ===================================================================== private: math

    private static double square(double x) {
        return x * x;
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

    /** log Σ_j exp(s_j) over the entries that are not −∞; −∞ when there are none. */
    private static double logSumExp(double[] scores) {
        double max = Double.NEGATIVE_INFINITY;
        for (double s : scores) max = Math.max(max, s);
        if (max == Double.NEGATIVE_INFINITY) return Double.NEGATIVE_INFINITY;
        double sum = 0.0;
        for (double s : scores) sum += Math.exp(s - max);
        return max + Math.log(sum);
    }

    /** exp(s_j − lse) per entry (zeros when the row has no finite score). */
    private static double[] softmaxFromLse(double[] scores, double logSumExp) {
        double[] probs = new double[scores.length];
        if (logSumExp == Double.NEGATIVE_INFINITY) return probs;
        for (int j = 0; j < scores.length; j++) probs[j] = Math.exp(scores[j] - logSumExp);
        return probs;
    }

    private static void softmaxInPlace(double[] row) {
        double[] probs = softmaxFromLse(row, logSumExp(row));
        System.arraycopy(probs, 0, row, 0, row.length);
    }

    /** Softmax Jacobian-vector product: y∘(dy − ⟨dy, y⟩). */
    private static double[] softmaxBackwardRow(double[] y, double[] dy) {
        double dot = 0.0;
        for (int j = 0; j < y.length; j++) dot += dy[j] * y[j];
        double[] dx = new double[y.length];
        for (int j = 0; j < y.length; j++) dx[j] = y[j] * (dy[j] - dot);
        return dx;
    }

    private static double[][] softmaxRowsBackward(double[][] probs, double[][] dProbs) {
        double[][] dScores = new double[probs.length][];
        for (int i = 0; i < probs.length; i++) dScores[i] = softmaxBackwardRow(probs[i], dProbs[i]);
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

    private static double[][] scaled(double[][] x, double factor) {
        for (double[] row : x) {
            for (int j = 0; j < row.length; j++) row[j] *= factor;
        }
        return x;
    }

    /** softmax(a[l, c, :]) for each class c < seen, in double. */
    private static double[][] modulationSoftmax(float[] a, int l, int seen, int classes, int d) {
        double[][] sigma = new double[seen][d];
        for (int c = 0; c < seen; c++) {
            int row = (l * classes + c) * d;
            for (int e = 0; e < d; e++) sigma[c][e] = a[row + e];
            softmaxInPlace(sigma[c]);
        }
        return sigma;
    }

    /** s = 5·⟨u, keys[c]⟩ / max(|u|, 1e-12), u = q[b]∘σ. */
    private static double similarity(float[] q, int b, float[] keys, int c, double[] sigma, int d) {
        double dot = 0.0;
        double normSquared = 0.0;
        for (int e = 0; e < d; e++) {
            double u = q[b * d + e] * sigma[e];
            dot += u * keys[c * d + e];
            normSquared += u * u;
        }
        return RETRIEVAL_SCALE * dot / Math.max(Math.sqrt(normSquared), NORM_FLOOR);
    }

    /**
     * ∂s/∂σ = q∘∂s/∂u with ∂s/∂u = 5·(k/|u| − ⟨u,k⟩·u/|u|³); when |u| is below the floor the
     * denominator is the constant 1e-12 and ∂s/∂u = 5·k/1e-12.
     */
    private static double[] similarityGradientWrtSigma(float[] q, int b, float[] keys, int c, double[] sigma,
            int d) {
        double[] u = new double[d];
        double dot = 0.0;
        double normSquared = 0.0;
        for (int e = 0; e < d; e++) {
            u[e] = q[b * d + e] * sigma[e];
            dot += u[e] * keys[c * d + e];
            normSquared += u[e] * u[e];
        }
        double norm = Math.sqrt(normSquared);
        double[] grad = new double[d];
        for (int e = 0; e < d; e++) {
            double key = keys[c * d + e];
            double dsDu = norm > NORM_FLOOR
                    ? RETRIEVAL_SCALE * (key / norm - dot * u[e] / (norm * norm * norm))
                    : RETRIEVAL_SCALE * key / NORM_FLOOR;
            grad[e] = q[b * d + e] * dsDu;
        }
        return grad;
    }

    private static void tokenSumUnchecked(float[] x, float[] out, int batch, int tokens, long dim) {
        for (int b = 0; b < batch; b++) {
            for (long e = 0; e < dim; e++) {
                double acc = 0.0;
                for (int t = 0; t < tokens; t++) acc += x[(int) (((long) b * tokens + t) * dim + e)];
                out[(int) (b * dim + e)] = (float) acc;
            }
        }
    }

    /** target[i] = (float) (target[i] + sums[i]). */
    private static void addInto(float[] target, double[] sums) {
        for (int i = 0; i < target.length; i++) target[i] = (float) ((double) target[i] + sums[i]);
    }

    private static void store(float[] target, double[] values) {
        for (int i = 0; i < target.length; i++) target[i] = (float) values[i];
    }

    // ===================================================================== private: attention geometry

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

        private AttentionShape(int batch, int nq, int nk, int lp, int heads, int headDim) {
            this.batch = batch;
            this.nq = nq;
            this.nk = nk;
            this.lp = lp;
            this.heads = heads;
            this.headDim = headDim;
            this.width = heads * headDim;
            this.keyRows = lp + nk;
        }

        static AttentionShape of(String op, int batch, int nq, int nk, int lp, int heads, int headDim) {
            requireNonNegative(op, "batch", batch);
            requireNonNegative(op, "nq", nq);
            requireNonNegative(op, "nk", nk);
            requireNonNegative(op, "lp", lp);
            requirePositive(op, "heads", heads);
            requirePositive(op, "headDim", headDim);
            return new AttentionShape(batch, nq, nk, lp, heads, headDim);
        }

        long queryElements() {
            return (long) batch * nq * width;
        }

        long keyElements() {
            return (long) batch * nk * width;
        }

        long prefixElements() {
            return (long) batch * lp * width;
        }

        String queryFormula() {
            return "batch*nq*heads*headDim = " + batch + "*" + nq + "*" + heads + "*" + headDim;
        }

        String keyFormula() {
            return "batch*nk*heads*headDim = " + batch + "*" + nk + "*" + heads + "*" + headDim;
        }

        String prefixFormula() {
            return "batch*lp*heads*headDim = " + batch + "*" + lp + "*" + heads + "*" + headDim;
        }

        void checkInputs(String op, float[] q, float[] k, float[] v, float[] pk, float[] pv, float[] r) {
            requireLength(op, "q", q, queryElements(), queryFormula());
            requireLength(op, "k", k, keyElements(), keyFormula());
            requireLength(op, "v", v, keyElements(), keyFormula());
            if (lp > 0 && (pk == null || pv == null)) {
                throw bad(op, "lp = " + lp + " needs both pk and pv, got pk " + presence(pk) + ", pv "
                        + presence(pv));
            }
            requireLengthIfPresent(op, "pk", pk, prefixElements(), prefixFormula());
            requireLengthIfPresent(op, "pv", pv, prefixElements(), prefixFormula());
            requireLengthIfPresent(op, "r", r, (long) batch * width, "batch*heads*headDim = " + batch + "*"
                    + heads + "*" + headDim);
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

    // ===================================================================== private: argument checks

    private static IllegalArgumentException bad(String op, String what) {
        return new IllegalArgumentException(op + ": " + what);
    }

    private static String presence(Object array) {
        return array == null ? "null" : "present";
    }

    private static void requireNonNegative(String op, String name, long value) {
        if (value < 0) throw bad(op, name + " = " + value + " must be >= 0");
    }

    private static void requirePositive(String op, String name, long value) {
        if (value < 1) throw bad(op, name + " = " + value + " must be >= 1");
    }

    private static void requireLength(String op, String name, float[] array, long expected, String formula) {
        if (array == null) throw bad(op, name + " is null, expected " + expected + " elements (" + formula + ")");
        if (array.length != expected) {
            throw bad(op, name + " has length " + array.length + ", expected " + expected + " (" + formula + ")");
        }
    }

    private static void requireLength(String op, String name, int[] array, long expected, String formula) {
        if (array == null) throw bad(op, name + " is null, expected " + expected + " entries (" + formula + ")");
        if (array.length != expected) {
            throw bad(op, name + " has length " + array.length + ", expected " + expected + " (" + formula + ")");
        }
    }

    private static void requireLengthIfPresent(String op, String name, float[] array, long expected,
            String formula) {
        if (array != null) requireLength(op, name, array, expected, formula);
    }

    /** A gradient output is null exactly when its input is, and then has the input's size. */
    private static void requireGradientMatchesInput(String op, String gradName, float[] grad, String inputName,
            float[] input, long expected, String formula) {
        if ((grad == null) != (input == null)) {
            throw bad(op, gradName + " is " + presence(grad) + " but " + inputName + " is " + presence(input)
                    + " (a gradient must be null exactly when its input is)");
        }
        requireLengthIfPresent(op, gradName, grad, expected, formula);
    }

    /** n ≥ 0 and every named array has exactly n elements. */
    private static void requireElementwise(String op, long n, Object... namesAndArrays) {
        requireNonNegative(op, "n", n);
        for (int i = 0; i < namesAndArrays.length; i += 2) {
            requireLength(op, (String) namesAndArrays[i], (float[]) namesAndArrays[i + 1], n, "n");
        }
    }

    /** The strided extent (batch − 1)·stride + itemSize fits in the array. */
    private static void requireExtent(String op, String name, float[] array, long stride, long itemSize,
            int batch) {
        long needed = batch == 0 ? 0 : (batch - 1) * stride + itemSize;
        if (array == null) throw bad(op, name + " is null");
        if (array.length < needed) {
            throw bad(op, name + " has length " + array.length + ", needs at least " + needed
                    + " ((batch-1)*stride + item = (" + batch + "-1)*" + stride + " + " + itemSize + ")");
        }
    }

    private static void requireIndices(String op, String name, int[] idx, int lo, int hi) {
        for (int i = 0; i < idx.length; i++) {
            if (idx[i] < lo || idx[i] >= hi) {
                throw bad(op, name + "[" + i + "] = " + idx[i] + " is outside [" + lo + ", " + hi + ")");
            }
        }
    }

    private static void checkEmbedding(String op, float[] table, int[] ids, float[] rows, String rowsName, long n,
            long dim, long vocab) {
        requireNonNegative(op, "n", n);
        requireNonNegative(op, "dim", dim);
        requireNonNegative(op, "vocab", vocab);
        String tableName = op.equals("embeddingGather") ? "table" : "dtable";
        requireLength(op, tableName, table, vocab * dim, "vocab*dim = " + vocab + "*" + dim);
        requireLength(op, "ids", ids, n, "n");
        requireLength(op, rowsName, rows, n * dim, "n*dim = " + n + "*" + dim);
        requireIndices(op, "ids", ids, 0, (int) Math.min(vocab, Integer.MAX_VALUE));
    }

    private static void checkTokenShape(String op, int batch, int tokens, long dim) {
        requireNonNegative(op, "batch", batch);
        requirePositive(op, "tokens", tokens);
        requireNonNegative(op, "dim", dim);
    }

    private static void checkRetrievalInputs(String op, float[] q, float[] keys, float[] a, float[] p, int batch,
            int seen, int classes, int d, int dp, int layers) {
        requireNonNegative(op, "batch", batch);
        requirePositive(op, "classes", classes);
        requirePositive(op, "d", d);
        requireNonNegative(op, "dp", dp);
        requireNonNegative(op, "layers", layers);
        if (seen < 1 || seen > classes) {
            throw bad(op, "seen = " + seen + " is outside [1, classes = " + classes + "]");
        }
        requireLength(op, "q", q, (long) batch * d, "batch*d = " + batch + "*" + d);
        requireLength(op, "keys", keys, (long) seen * d, "seen*d = " + seen + "*" + d);
        requireLength(op, "a", a, (long) layers * classes * d, "layers*classes*d = " + layers + "*" + classes
                + "*" + d);
        requireLength(op, "p", p, (long) layers * classes * dp, "layers*classes*dp = " + layers + "*" + classes
                + "*" + dp);
    }

    /**
     * The patch permutation of the patch embedding: patches [B, 1 + G², C·p·p] row 1 + gy·G + gx,
     * column (c·p + ky)·p + kx equals images[b, c, gy·p + ky, gx·p + kx]; row 0 is zero. With
     * toImages the copy runs the other way (images overwritten, row 0 ignored).
     *
     * @param images images [batch, channels, size, size]
     * @param patches patches [batch, 1 + G², channels·patch²]
     * @param batch the number of images
     * @param channels the channels per image
     * @param size the image side
     * @param patch the patch side
     * @param toImages whether to copy patches into images (the adjoint) instead
     */
    public static void patchify(float[] images, float[] patches, int batch, int channels, int size, int patch,
            boolean toImages) {
        int grid = size / patch, tokens = 1 + grid * grid, dim = channels * patch * patch;
        if (patch <= 0 || size % patch != 0 || images.length != batch * channels * size * size
                || patches.length != batch * tokens * dim) {
            throw new IllegalArgumentException("patchify: sizes do not match batch=" + batch + " channels=" + channels
                    + " size=" + size + " patch=" + patch);
        }
        if (!toImages) java.util.Arrays.fill(patches, 0f);
        for (int b = 0; b < batch; b++) {
            for (int cell = 0; cell < grid * grid; cell++) {
                for (int c = 0; c < channels; c++) {
                    for (int ky = 0; ky < patch; ky++) {
                        for (int kx = 0; kx < patch; kx++) {
                            int col = ((b * tokens + 1 + cell) * channels + c) * patch * patch + ky * patch + kx;
                            int pix = ((b * channels + c) * size + cell / grid * patch + ky) * size
                                    + cell % grid * patch + kx;
                            if (toImages) images[pix] = patches[col];
                            else patches[col] = images[pix];
                        }
                    }
                }
            }
        }
    }
}
