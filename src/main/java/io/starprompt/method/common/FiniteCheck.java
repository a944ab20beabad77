package io.starprompt.method.common;

import io.starprompt.backend.Backend;
import io.starprompt.method.TrainingDivergedException;
import io.starprompt.tensor.DType;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.Arrays;
import java.util.List;

/**
 * The per-step check that stops a diverging run before its parameters are spoiled: a loss or a
 * gradient holding NaN or infinity is a {@link TrainingDivergedException} naming the tensor, and
 * the trainers call this before the optimiser step that would use it.
 *
 * <p>The loss is already a number on the host, so its check is free. A gradient is checked on
 * the device through sums: a NaN or infinity in a tensor makes the sum of its column (or the
 * whole sum) NaN or infinite, as IEEE arithmetic propagates them. Each gradient of at least
 * {@value #DIRECT_ELEMENTS} elements is viewed as [rows, last dimension] and summed over its rows
 * by one GEMM with a row of ones; smaller ones are copied as they are; everything lands in one
 * buffer that is read back at once — one small transfer per step (the width of a few rows),
 * instead of the gradients themselves. Only when a sum is not finite is the tensor read in full,
 * to report the element; a sum that overflowed although every element is finite passes (no
 * false alarm: the elements are what the optimiser uses).
 */
public final class FiniteCheck {
    /** Gradients up to this many elements are read directly rather than summed. */
    static final int DIRECT_ELEMENTS = 4096;

    private FiniteCheck() {}

    /**
     * Checks a loss value.
     *
     * @param loss the value
     * @throws TrainingDivergedException naming "the loss" if it is NaN or infinite
     */
    public static void loss(double loss) {
        if (!Double.isFinite(loss)) throw TrainingDivergedException.found("the loss", describe(loss));
    }

    /**
     * Checks gradients before an optimiser step with them.
     *
     * @param be    the backend that holds them
     * @param names what each gradient is, in words ("the gradient of the prompts P")
     * @param grads the F32 gradients, in the order of the names
     * @throws TrainingDivergedException naming the first gradient (in the given order) that holds
     *     NaN or infinity, with the value and the element
     */
    public static void gradients(Backend be, List<String> names, List<Tensor> grads) {
        if (names.size() != grads.size()) {
            throw new IllegalArgumentException("finite check: " + names.size() + " names for " + grads.size() + " gradients");
        }
        int[] offsets = new int[grads.size() + 1];
        long maxRows = 1;
        for (int i = 0; i < grads.size(); i++) {
            Tensor g = grads.get(i);
            if (g.dtype() != DType.F32) throw new IllegalArgumentException("finite check: " + names.get(i) + " is " + g.dtype());
            offsets[i + 1] = Math.addExact(offsets[i], Math.toIntExact(summedLength(g)));
            if (summedLength(g) != g.numel()) maxRows = Math.max(maxRows, g.numel() / g.dim(-1));
        }
        float[] sums;
        try (TensorScope scope = TensorScope.open()) {
            Tensor out = be.empty(Math.max(offsets[grads.size()], 1));
            float[] onesHost = new float[Math.toIntExact(maxRows)];
            Arrays.fill(onesHost, 1f);
            Tensor ones = null;
            for (int i = 0; i < grads.size(); i++) {
                Tensor g = grads.get(i);
                int n = offsets[i + 1] - offsets[i];
                if (n == 0) continue;
                Tensor slot = out.rows(offsets[i], n);
                if (n == g.numel()) {
                    be.copy(g.reshape(g.numel()), slot);
                } else {
                    long rows = g.numel() / n;
                    if (ones == null) ones = be.fromArray(onesHost, 1, onesHost.length);
                    Tensor onesRow = ones.reshape(onesHost.length).rows(0, rows).reshape(1, rows);
                    be.gemm(onesRow, false, g.reshape(rows, n), false, slot.reshape(1, n), 1f, 0f);
                }
            }
            sums = be.toFloatArray(out);
        }
        for (int i = 0; i < grads.size(); i++) {
            for (int k = offsets[i]; k < offsets[i + 1]; k++) {
                if (!Float.isFinite(sums[k])) {
                    String where = locate(be, grads.get(i));
                    if (where != null) throw TrainingDivergedException.found(names.get(i), where);
                    break; // the sum overflowed, every element is finite
                }
            }
        }
    }

    /** How many values a gradient contributes to the buffer: all of a small one, a row's width of a large one. */
    private static long summedLength(Tensor g) {
        long n = g.numel();
        if (n <= DIRECT_ELEMENTS || g.rank() < 2) return n;
        long cols = g.dim(-1);
        return cols > DIRECT_ELEMENTS || cols == n ? n : cols;
    }

    /** The first NaN or infinity of a tensor, read in full, in words; null if every element is finite. */
    private static String locate(Backend be, Tensor g) {
        float[] v = be.toFloatArray(g);
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                return describe(v[i]) + " (element " + index(i, g.shape()) + " of " + Tensor.shapeString(g.shape()) + ")";
            }
        }
        return null;
    }

    /** "NaN", "+Inf" or "-Inf". */
    static String describe(double v) {
        return Double.isNaN(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf";
    }

    private static String index(long flat, long[] shape) {
        long[] idx = new long[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            idx[d] = shape[d] == 0 ? 0 : flat % shape[d];
            flat = shape[d] == 0 ? 0 : flat / shape[d];
        }
        return Arrays.toString(idx);
    }
}
