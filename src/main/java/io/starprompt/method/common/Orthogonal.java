package io.starprompt.method.common;

import java.util.Random;

/** Random matrices with orthonormal rows, the initialisation of the second-stage parameters. */
public final class Orthogonal {
    private Orthogonal() {}

    /**
     * A rows × cols matrix, row-major, that is as orthogonal as its shape allows (as PyTorch's
     * {@code orthogonal_}): orthonormal rows when rows ≤ cols, else orthonormal columns (more
     * classes than the query width, as with small test models). Gaussian entries, then
     * Gram–Schmidt in float64 (twice, for stability).
     *
     * @param rows the rows
     * @param cols the columns
     * @param rnd the randomness
     * @return the matrix
     */
    public static double[] rows(int rows, int cols, Random rnd) {
        if (rows > cols) return transpose(orthonormalRows(cols, rows, rnd), cols, rows);
        return orthonormalRows(rows, cols, rnd);
    }

    private static double[] transpose(double[] m, int rows, int cols) {
        double[] t = new double[m.length];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) t[j * rows + i] = m[i * cols + j];
        }
        return t;
    }

    private static double[] orthonormalRows(int rows, int cols, Random rnd) {
        double[] m = new double[rows * cols];
        for (int i = 0; i < m.length; i++) m[i] = rnd.nextGaussian();
        for (int i = 0; i < rows; i++) {
            for (int pass = 0; pass < 2; pass++) {
                for (int j = 0; j < i; j++) subtractProjection(m, i, j, cols);
            }
            normalise(m, i, cols);
        }
        return m;
    }

    private static void subtractProjection(double[] m, int row, int onto, int cols) {
        double dot = 0;
        for (int k = 0; k < cols; k++) dot += m[row * cols + k] * m[onto * cols + k];
        for (int k = 0; k < cols; k++) m[row * cols + k] -= dot * m[onto * cols + k];
    }

    private static void normalise(double[] m, int row, int cols) {
        double n = 0;
        for (int k = 0; k < cols; k++) n += m[row * cols + k] * m[row * cols + k];
        double inv = 1 / Math.sqrt(n);
        for (int k = 0; k < cols; k++) m[row * cols + k] *= inv;
    }
}
