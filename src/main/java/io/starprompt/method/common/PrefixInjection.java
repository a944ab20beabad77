package io.starprompt.method.common;

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
        int batch = (int) selectedRows.dim(1), lpd = length * width;
        List<Tensor> keys = new ArrayList<>(), values = new ArrayList<>();
        for (int l = 0; l < selectedRows.dim(0); l++) {
            Tensor halves = selectedRows.rows(l, 1).reshape(2L * batch, lpd);
            Tensor k = be.empty(batch, length, width), v = be.empty(batch, length, width);
            Tensor kr = k.reshape(batch, lpd), vr = v.reshape(batch, lpd);
            for (int b = 0; b < batch; b++) {
                be.copy(halves.rows(2L * b, 1), kr.rows(b, 1));
                be.copy(halves.rows(2L * b + 1, 1), vr.rows(b, 1));
            }
            keys.add(k);
            values.add(v);
        }
        return Prompts.prefix(keys, values);
    }

    /** Writes each layer's prefix key and value gradients back into the rows [L, B, 2L_pD]. */
    @Override
    public void rowGradients(PromptGradients grads, Tensor dSelectedRows) {
        int batch = (int) dSelectedRows.dim(1), lpd = length * width;
        for (int l = 0; l < dSelectedRows.dim(0); l++) {
            Tensor halves = dSelectedRows.rows(l, 1).reshape(2L * batch, lpd);
            Tensor kr = grads.prefixKeys(l).reshape(batch, lpd), vr = grads.prefixValues(l).reshape(batch, lpd);
            for (int b = 0; b < batch; b++) {
                be.copy(kr.rows(b, 1), halves.rows(2L * b, 1));
                be.copy(vr.rows(b, 1), halves.rows(2L * b + 1, 1));
            }
        }
    }

    /** L^l = L(P_k^l) + L(P_v^l) on the two halves of every row, averaged over layers. */
    @Override
    public double addOrthogonalityLoss(Tensor pool, int seen, int past, float weight, Tensor dPool) {
        return OrthogonalityLoss.addPooled(be, pool, 2, seen, past, weight, dPool);
    }
}
