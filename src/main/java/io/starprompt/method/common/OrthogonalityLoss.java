package io.starprompt.method.common;

import io.starprompt.backend.Backend;
import io.starprompt.tensor.Tensor;

/**
 * The second-stage orthogonality regulariser of one layer's prompt pool P [C, D] (ALGORITHM.md §4.6):
 * mean over current rows i of (‖P_i‖² − 1)² plus mean over current i and past j of ⟨P_i, P_j⟩²,
 * with past rows detached. Zero when there are no past classes (task 0).
 *
 * <p>Computed on the host in float64: the pool is at most C × D = 200 × 768 per layer, so the
 * O(C²D) work is small next to a ViT step and exactness is easy to audit.
 */
public final class OrthogonalityLoss {
    private OrthogonalityLoss() {}

    /**
     * Returns the loss and writes its gradient with respect to P into grad (same layout; rows
     * outside [past, seen) get zero).
     *
     * @param p    row-major pool [rows, dim]
     * @param rows the rows of p
     * @param dim the row width
     * @param seen rows below this index take part; current rows are [past, seen)
     * @param past frozen rows [0, past)
     * @param grad the gradient, overwritten
     * @return the loss
     */
    public static double secondStage(float[] p, int rows, int dim, int seen, int past, float[] grad) {
        if (p.length != (long) rows * dim || grad.length != p.length) {
            throw new IllegalArgumentException("orthogonality loss: pool has " + p.length + " values, grad "
                    + grad.length + ", expected " + rows + " × " + dim);
        }
        if (past < 0 || past > seen || seen > rows) {
            throw new IllegalArgumentException("orthogonality loss: need 0 ≤ past (" + past + ") ≤ seen (" + seen
                    + ") ≤ rows (" + rows + ")");
        }
        java.util.Arrays.fill(grad, 0f);
        int cur = seen - past;
        if (past == 0 || cur == 0) return 0;
        double normTerm = 0, crossTerm = 0;
        double[] g = new double[dim];
        for (int i = past; i < seen; i++) {
            java.util.Arrays.fill(g, 0);
            double sq = dot(p, i, p, i, dim) - 1;
            normTerm += sq * sq;
            // d/dP_i of (‖P_i‖² − 1)² / cur = 4 (‖P_i‖² − 1) P_i / cur
            axpy(g, 4 * sq / cur, p, i, dim);
            for (int j = 0; j < past; j++) {
                double c = dot(p, i, p, j, dim);
                crossTerm += c * c;
                // d/dP_i of ⟨P_i, P_j⟩² / (cur·past) = 2 ⟨P_i, P_j⟩ P_j / (cur·past)
                axpy(g, 2 * c / ((double) cur * past), p, j, dim);
            }
            for (int k = 0; k < dim; k++) grad[i * dim + k] = (float) g[k];
        }
        return normTerm / cur + crossTerm / ((double) cur * past);
    }

    private static double dot(float[] a, int rowA, float[] b, int rowB, int dim) {
        double s = 0;
        for (int k = 0; k < dim; k++) s += (double) a[rowA * dim + k] * b[rowB * dim + k];
        return s;
    }

    private static void axpy(double[] y, double alpha, float[] x, int row, int dim) {
        for (int k = 0; k < dim; k++) y[k] += alpha * x[row * dim + k];
    }

    /**
     * The loss of a whole pool [L, C, W] whose rows are cut into {@code blocks} equal column
     * blocks (1 for residual prompts, 2 for the key and value halves of prefix prompts): the sum
     * over blocks of {@link #secondStage} of each block [C, W / blocks], averaged over layers and
     * times weight. Adds its gradient to dPool and returns its value (0 while past = 0).
     *
     * @param be the backend
     * @param pool the pool [L, C, W]
     * @param blocks the column blocks per row
     * @param seen rows below this take part
     * @param past frozen rows [0, past)
     * @param weight the loss weight
     * @param dPool the pool's gradient, added to
     * @return weight times the loss
     */
    public static double addPooled(Backend be, Tensor pool, int blocks, int seen, int past, float weight, Tensor dPool) {
        if (past == 0 || weight == 0) return 0;
        int layers = (int) pool.dim(0), classes = (int) pool.dim(1), width = (int) pool.dim(2);
        if (blocks < 1 || width % blocks != 0) {
            throw new IllegalArgumentException("orthogonality loss: rows of " + width + " cannot be cut into " + blocks + " blocks");
        }
        int block = width / blocks;
        float[] p = be.toFloatArray(pool);
        float[] grad = new float[p.length];
        float[] part = new float[classes * block], partGrad = new float[classes * block];
        double total = 0;
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < blocks; h++) {
                for (int c = 0; c < classes; c++) {
                    System.arraycopy(p, (l * classes + c) * width + h * block, part, c * block, block);
                }
                total += secondStage(part, classes, block, seen, past, partGrad);
                for (int c = 0; c < classes; c++) {
                    int base = (l * classes + c) * width + h * block;
                    for (int k = 0; k < block; k++) grad[base + k] = partGrad[c * block + k] * weight / layers;
                }
            }
        }
        try (Tensor g = be.fromArray(grad, pool.shape())) {
            be.axpy(dPool, g, 1f);
        }
        return weight * total / layers;
    }
}
