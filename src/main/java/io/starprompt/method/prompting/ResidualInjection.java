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
 * STAR-Prompt's residual injection (ALGORITHM.md §4.4): each layer's selected row, a [D] vector per
 * sample, is added to the value vector of every token of that layer's attention.
 */
public final class ResidualInjection implements PromptInjection {
    private final Backend be;
    private final int width;

    /**
     * Injection into a ViT of width D on be.
     *
     * @param be the backend
     * @param width D
     */
    public ResidualInjection(Backend be, int width) {
        if (width < 1) throw new IllegalArgumentException("residual prompts: width " + width);
        this.be = be;
        this.width = width;
    }

    @Override
    public int rowWidth() {
        return width;
    }

    /**
     * The first D columns of an orthogonal C × 3D matrix: rows are therefore not unit-norm and
     * the orthogonality loss is active from the start, as in the reference.
     */
    @Override
    public double[] initialRows(int classes, Random rnd) {
        double[] wide = Orthogonal.rows(classes, 3 * width, rnd);
        double[] rows = new double[classes * width];
        for (int c = 0; c < classes; c++) System.arraycopy(wide, c * 3 * width, rows, c * width, width);
        return rows;
    }

    @Override
    public Prompts prompts(Tensor selectedRows) {
        return Prompts.residual(layerViews(selectedRows));
    }

    @Override
    public void rowGradients(PromptGradients grads, Tensor dSelectedRows) {
        List<Tensor> layers = layerViews(dSelectedRows);
        for (int l = 0; l < layers.size(); l++) be.copy(grads.residual(l), layers.get(l));
    }

    /** L_o2 of every layer's pool [C, D] on the rows themselves. */
    @Override
    public double addOrthogonalityLoss(Tensor pool, int seen, int past, float weight, Tensor dPool) {
        return OrthogonalityLoss.addPooled(be, pool, 1, seen, past, weight, dPool);
    }

    /** Each layer's rows [B, D] of rows [L, B, D], as views. */
    private static List<Tensor> layerViews(Tensor rows) {
        List<Tensor> out = new ArrayList<>();
        for (int l = 0; l < rows.dim(0); l++) out.add(rows.rows(l, 1).reshape(rows.dim(1), rows.dim(2)));
        return out;
    }
}
