package io.starprompt.backend.reference;

/**
 * Layer norm and row softmax, forward and backward (native/cpu/layernorm.cpp, softmax.cpp).
 *
 * <p>Part of the float64 reference kernels (see the package description): sums in {@code double},
 * results rounded to {@code float} when stored. The arguments are taken as {@link
 * io.starprompt.backend.Backend} validated them (sizes consistent with the array lengths, indices
 * in range); call through a {@link ReferenceBackend} for checked arguments.
 */
public final class NormKernels {

    private NormKernels() {}

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
        for (int r = 0; r < rows; r++) {
            int base = (int) (r * cols);
            double mu = 0.0;
            for (int j = 0; j < cols; j++) mu += x[base + j];
            mu /= cols;
            double var = 0.0;
            for (int j = 0; j < cols; j++) var += Numerics.square(x[base + j] - mu);
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
        if (dgamma != null) Numerics.addInto(dgamma, dgammaSum);
        if (dbeta != null) Numerics.addInto(dbeta, dbetaSum);
    }

    /**
     * Row softmax over the last dimension of the rows×cols matrix x (max-subtracted); y may be x.
     *
     * @param x input [rows, cols]
     * @param y output [rows, cols]
     * @param rows the number of rows
     * @param cols the row length
     */
    public static void softmaxForward(float[] x, float[] y, long rows, long cols) {
        double[] row = new double[(int) cols];
        for (int r = 0; r < rows; r++) {
            int base = (int) (r * cols);
            for (int j = 0; j < cols; j++) row[j] = x[base + j];
            Numerics.softmaxInPlace(row);
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
        for (int r = 0; r < rows; r++) {
            int base = (int) (r * cols);
            double dot = 0.0;
            for (int j = 0; j < cols; j++) dot += (double) dy[base + j] * y[base + j];
            for (int j = 0; j < cols; j++) {
                dx[base + j] = (float) (y[base + j] * ((double) dy[base + j] - dot));
            }
        }
    }
}
