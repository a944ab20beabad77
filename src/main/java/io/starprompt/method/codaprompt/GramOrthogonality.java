package io.starprompt.method.codaprompt;

import io.starprompt.backend.Backend;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;

/**
 * CODA-Prompt's orthogonality loss (methods/coda-prompt.md §6) of one parameter [L, M, W] over its
 * first f rows: O = (1/f²)·Σ_{i,j&lt;f} (⟨B_i, B_j⟩ − δ_ij)², summed over layers, with gradient
 * (4/f²)·Σ_j (⟨B_i, B_j⟩ − δ_ij)·B_j to the current rows i ∈ [s, f) only (earlier rows are
 * constants). The Gram matrix is one GEMM per layer; only its f² entries come to the host.
 */
final class GramOrthogonality {
    private GramOrthogonality() {}

    /**
     * Adds weight·∂O/∂B to grad (rows [s, f) of every layer) and returns weight·O.
     *
     * @param be the backend
     * @param param B [L, M, W]
     * @param from s, the first current row
     * @param used f
     * @param weight μ
     * @param grad the gradient of B, added to
     * @return weight·O summed over the layers
     */
    static double add(Backend be, Tensor param, int from, int used, float weight, Tensor grad) {
        int rows = (int) param.dim(1), width = (int) param.dim(2);
        double loss = 0;
        try (TensorScope scope = TensorScope.open()) {
            Tensor gram = be.empty(used, used);
            for (int l = 0; l < param.dim(0); l++) {
                Tensor x = param.rows(l, 1).reshape(rows, width).rows(0, used);
                be.gemm(x, false, x, true, gram, 1f, 0f);
                float[] e = be.toFloatArray(gram);
                for (int i = 0; i < used; i++) {
                    e[i * used + i] -= 1f;
                    for (int j = 0; j < used; j++) loss += (double) e[i * used + j] * e[i * used + j];
                }
                if (from == used) continue;
                float[] current = java.util.Arrays.copyOfRange(e, from * used, used * used);
                Tensor residual = be.fromArray(current, used - from, used);
                Tensor dRows = grad.rows(l, 1).reshape(rows, width).rows(from, used - from);
                be.gemm(residual, false, x, false, dRows, 4f * weight / ((float) used * used), 1f);
            }
        }
        return weight * loss / ((double) used * used);
    }
}
