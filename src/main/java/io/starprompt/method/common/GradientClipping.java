package io.starprompt.method.common;

import io.starprompt.backend.Backend;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.List;

/**
 * Clipping by the global L2 norm over several gradients, as torch's {@code clip_grad_norm_}
 * (methods/l2p.md §8): with ‖g‖ the norm of all the gradients together, every gradient is
 * multiplied by min(1, maxNorm / (‖g‖ + 1e-6)). The squared norms are reduced on the backend
 * (one GEMM each, accumulated into one scalar), so only that scalar travels to the host.
 */
public final class GradientClipping {
    /** Added to the norm before dividing, as torch does. */
    public static final double NORM_EPS = 1e-6;

    private GradientClipping() {}

    /**
     * Scales the gradients in place when their global norm exceeds maxNorm.
     *
     * @param be the backend the gradients live on
     * @param grads the gradients (f32, any shapes)
     * @param maxNorm the largest global norm let through, &gt; 0
     * @return the global norm before clipping
     * @throws IllegalArgumentException if maxNorm is not positive or a gradient is null
     */
    public static double clip(Backend be, List<Tensor> grads, double maxNorm) {
        if (!(maxNorm > 0)) throw new IllegalArgumentException("gradient clipping: maxNorm = " + maxNorm + " must be > 0");
        double norm = globalNorm(be, grads);
        double factor = maxNorm / (norm + NORM_EPS);
        if (factor < 1) {
            for (Tensor g : grads) scale(be, g, (float) factor);
        }
        return norm;
    }

    /**
     * The L2 norm of all the gradients together.
     *
     * @param be the backend the gradients live on
     * @param grads the gradients
     * @return sqrt(Σ ‖g_i‖²)
     */
    public static double globalNorm(Backend be, List<Tensor> grads) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor sum = be.zeros(1, 1);
            for (Tensor g : grads) {
                if (g == null) throw new IllegalArgumentException("gradient clipping: a gradient is null");
                if (g.numel() == 0) continue;
                Tensor row = g.reshape(1, g.numel());
                be.gemm(row, false, row, true, sum, 1f, 1f);
            }
            return Math.sqrt(be.toFloatArray(sum)[0]);
        }
    }

    /** g ← factor·g, as g + (factor − 1)·copy(g): axpy's operands must not alias. */
    private static void scale(Backend be, Tensor g, float factor) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor copy = be.empty(g.shape());
            be.copy(g, copy);
            be.axpy(g, copy, factor - 1f);
        }
    }
}
