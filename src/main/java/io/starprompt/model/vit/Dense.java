package io.starprompt.model.vit;

import io.starprompt.backend.Backend;
import io.starprompt.tensor.Tensor;

/**
 * nn.Linear with frozen weight [out, in] on the last dimension of a token tensor. Outputs and
 * input gradients are stored in the dtype of the tensor they come from (x, dy), whatever the
 * weight's: a bf16 tower's activations stay bf16, and its f32 features come out of f32 inputs.
 */
public final class Dense {
    private Dense() {}

    /**
     * y [..., out] ← x [..., in] · wᵀ + b (b nullable); a new tensor in the current scope.
     *
     * @param be the backend
     * @param x input [..., in]
     * @param w weight [out, in]
     * @param b bias [out], or null
     * @return the output
     */
    public static Tensor forward(Backend be, Tensor x, Tensor w, Tensor b) {
        long in = w.dim(1), out = w.dim(0), rows = x.numel() / in;
        long[] shape = x.shape();
        shape[shape.length - 1] = out;
        Tensor y = be.empty(x.dtype(), shape);
        be.gemm(x.reshape(rows, in), false, w, true, y.reshape(rows, out), 1f, 0f);
        if (b != null) be.addBias(y, b);
        return y;
    }

    /**
     * dx [..., in] ← dy [..., out] · w, or dx += that when accumulate (weights are frozen: no dW, db).
     *
     * @param be the backend
     * @param dy gradient of the output
     * @param w the weight
     * @param dx gradient of the input
     * @param accumulate whether to add to dx instead of overwriting it
     */
    public static void backwardInto(Backend be, Tensor dy, Tensor w, Tensor dx, boolean accumulate) {
        long in = w.dim(1), out = w.dim(0), rows = dy.numel() / out;
        be.gemm(dy.reshape(rows, out), false, w, false, dx.reshape(rows, in), 1f, accumulate ? 1f : 0f);
    }

    /**
     * dx [..., in] ← dy [..., out] · w; a new tensor in the current scope.
     *
     * @param be the backend
     * @param dy gradient of the output
     * @param w the weight
     * @return the gradient of the input
     */
    public static Tensor backward(Backend be, Tensor dy, Tensor w) {
        long[] shape = dy.shape();
        shape[shape.length - 1] = w.dim(1);
        Tensor dx = be.empty(dy.dtype(), shape);
        backwardInto(be, dy, w, dx, false);
        return dx;
    }
}
