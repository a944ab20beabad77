package io.starprompt.backend.reference;

/**
 * Embedding rows, token reductions and gathers, and the patch permutation
 * (native/cpu/embedding.cpp, patchify.cpp).
 *
 * <p>Part of the float64 reference kernels (see the package description): sums in {@code double},
 * results rounded to {@code float} when stored. The arguments are taken as {@link
 * io.starprompt.backend.Backend} validated them (sizes consistent with the array lengths, indices
 * in range); call through a {@link ReferenceBackend} for checked arguments.
 */
public final class EmbeddingKernels {

    private EmbeddingKernels() {}

    /**
     * out[i, :] = table[ids[i], :] for n ids into a [vocab, dim] table; every id in [0, vocab).
     *
     * @param table the table [vocab, dim]
     * @param ids the rows to read
     * @param out the gathered rows [n, dim]
     * @param n the number of ids
     * @param dim the row width
     * @param vocab the table's rows
     */
    public static void embeddingGather(float[] table, int[] ids, float[] out, long n, long dim, long vocab) {
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
        double[] sums = new double[dtable.length];
        for (int i = 0; i < n; i++) {
            for (int e = 0; e < dim; e++) sums[(int) (ids[i] * dim + e)] += dout[(int) (i * dim + e)];
        }
        Numerics.addInto(dtable, sums);
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
        for (int b = 0; b < batch; b++) {
            for (long e = 0; e < dim; e++) {
                double acc = 0.0;
                for (int t = 0; t < tokens; t++) acc += x[(int) (((long) b * tokens + t) * dim + e)];
                out[(int) (b * dim + e)] = (float) acc;
            }
        }
    }

    /**
     * out[b, :] = x[b, idx[b], :] for x [batch, tokens, dim]; every idx in [0, tokens).
     *
     * @param x input [batch, tokens, dim]
     * @param idx one token per batch item
     * @param out the picked rows [batch, dim]
     * @param batch the batch size
     * @param tokens the tokens per item
     * @param dim the row width
     */
    public static void tokenGather(float[] x, int[] idx, float[] out, int batch, int tokens, long dim) {
        for (int b = 0; b < batch; b++) {
            long src = ((long) b * tokens + idx[b]) * dim;
            for (int e = 0; e < dim; e++) out[(int) (b * dim + e)] = x[(int) (src + e)];
        }
    }

    /**
     * dx[b, idx[b], :] += dout[b, :] for dx [batch, tokens, dim]; every idx in [0, tokens).
     *
     * @param dout gradient of the picked rows [batch, dim]
     * @param idx the token each row was picked from
     * @param dx gradient of the input [batch, tokens, dim], accumulated into
     * @param batch the batch size
     * @param tokens the tokens per item
     * @param dim the row width
     */
    public static void tokenScatterAdd(float[] dout, int[] idx, float[] dx, int batch, int tokens, long dim) {
        for (int b = 0; b < batch; b++) {
            long dst = ((long) b * tokens + idx[b]) * dim;
            for (int e = 0; e < dim; e++) {
                int i = (int) (dst + e);
                dx[i] = (float) ((double) dx[i] + dout[(int) (b * dim + e)]);
            }
        }
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
