package io.starprompt.method.prompting;

import io.starprompt.method.common.Orthogonal;
import io.starprompt.method.common.OrthogonalityLoss;

import io.starprompt.backend.Backend;
import io.starprompt.model.vit.PromptGradients;
import io.starprompt.model.vit.Prompts;
import io.starprompt.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Prefix tuning (ALGORITHM.md §4.5): a row holds L_p key vectors then L_p value vectors [2·L_p·D];
 * per sample and layer its halves are prepended to the attention's keys and values (in head
 * space). The orthogonality loss applies to the key half and the value half separately (each
 * flattened to C × L_p·D) and sums them.
 */
public final class PrefixInjection implements PromptInjection {
    private final Backend be;
    private final int width;
    private final int length;

    /**
     * Injection of {@code length} (L_p) prefix tokens into a ViT of width D on be.
     *
     * @param be the backend
     * @param width D
     * @param length L_p
     */
    public PrefixInjection(Backend be, int width, int length) {
        if (width < 1 || length < 1) throw new IllegalArgumentException("prefix prompts: width " + width + ", length " + length);
        this.be = be;
        this.width = width;
        this.length = length;
    }

    /**
     * L_p, the prefix tokens per layer.
     *
     * @return L_p
     */
    public int length() {
        return length;
    }

    @Override
    public int rowWidth() {
        return 2 * length * width;
    }

    /** An orthogonal C × 2L_pD matrix. */
    @Override
    public double[] initialRows(int classes, Random rnd) {
        int dp = rowWidth();
        if (classes > dp) {
            throw new IllegalArgumentException("prefix prompts: " + classes + " classes exceed the " + dp
                    + " columns an orthogonal init needs");
        }
        return Orthogonal.rows(classes, dp, rnd);
    }

    /** Splits each layer's selected rows [B, 2L_pD] into key and value prompts [B, L_p, D]. */
    @Override
    public Prompts prompts(Tensor selectedRows) {
        int layers = (int) selectedRows.dim(0);
        List<Tensor> keys = new ArrayList<>(), values = new ArrayList<>();
        place(selectedRows, consecutive(0, layers), keys, values);
        return Prompts.prefix(keys, values);
    }

    /** Writes each layer's prefix key and value gradients back into the rows [L, B, 2L_pD]. */
    @Override
    public void rowGradients(PromptGradients grads, Tensor dSelectedRows) {
        rowGradients(grads, consecutive(0, (int) dSelectedRows.dim(0)), dSelectedRows);
    }

    /**
     * The layers first, first + 1, …, first + count − 1.
     *
     * @param first the first layer
     * @param count how many
     * @return the layer indices
     */
    public static int[] consecutive(int first, int count) {
        int[] layers = new int[count];
        for (int i = 0; i < count; i++) layers[i] = first + i;
        return layers;
    }

    /**
     * Splits rows [n, B, 2L_pD] into key and value prompts [B, L_p, D] (new tensors in the current
     * scope) and puts those of row group i at index layers[i] of keys and values, which grow with
     * nulls as needed: the lists of a {@link Prompts#prefix} over prompted and plain layers.
     *
     * @param rows the rows of the prompted layers [n, B, 2L_pD]
     * @param layers the ViT layer of each row group (n of them)
     * @param keys per-layer prefix keys, filled in
     * @param values per-layer prefix values, filled in
     */
    public void place(Tensor rows, int[] layers, List<Tensor> keys, List<Tensor> values) {
        checkRows(rows, layers);
        int batch = (int) rows.dim(1), lpd = length * width;
        for (int i = 0; i < layers.length; i++) {
            Tensor halves = rows.rows(i, 1).reshape(2L * batch, lpd);
            Tensor k = be.empty(batch, length, width), v = be.empty(batch, length, width);
            Tensor kr = k.reshape(batch, lpd), vr = v.reshape(batch, lpd);
            for (int b = 0; b < batch; b++) {
                be.copy(halves.rows(2L * b, 1), kr.rows(b, 1));
                be.copy(halves.rows(2L * b + 1, 1), vr.rows(b, 1));
            }
            while (keys.size() <= layers[i]) {
                keys.add(null);
                values.add(null);
            }
            keys.set(layers[i], k);
            values.set(layers[i], v);
        }
    }

    /**
     * Writes the prefix key and value gradients of layers[i] into row group i of dRows
     * [n, B, 2L_pD] (overwritten): the backward of {@link #place}.
     *
     * @param grads the ViT's prompt gradients
     * @param layers the ViT layer of each row group
     * @param dRows the rows' gradient, overwritten
     */
    public void rowGradients(PromptGradients grads, int[] layers, Tensor dRows) {
        checkRows(dRows, layers);
        int batch = (int) dRows.dim(1), lpd = length * width;
        for (int i = 0; i < layers.length; i++) {
            Tensor halves = dRows.rows(i, 1).reshape(2L * batch, lpd);
            Tensor kr = grads.prefixKeys(layers[i]).reshape(batch, lpd);
            Tensor vr = grads.prefixValues(layers[i]).reshape(batch, lpd);
            for (int b = 0; b < batch; b++) {
                be.copy(kr.rows(b, 1), halves.rows(2L * b, 1));
                be.copy(vr.rows(b, 1), halves.rows(2L * b + 1, 1));
            }
        }
    }

    private void checkRows(Tensor rows, int[] layers) {
        if (rows.rank() != 3 || rows.dim(0) != layers.length || rows.dim(2) != rowWidth()) {
            throw new IllegalArgumentException("prefix prompts: rows must be [" + layers.length + ", B, " + rowWidth()
                    + "], got " + rows);
        }
    }

    /** L^l = L(P_k^l) + L(P_v^l) on the two halves of every row, averaged over layers. */
    @Override
    public double addOrthogonalityLoss(Tensor pool, int seen, int past, float weight, Tensor dPool) {
        return OrthogonalityLoss.addPooled(be, pool, 2, seen, past, weight, dPool);
    }
}
