package io.starprompt.backend;

import io.starprompt.tensor.DType;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.FloatPointer;

/**
 * The bf16 storage form of a kernel that computes in f32 only: for one kernel call, each bf16
 * operand is widened into f32 scratch (exact) and each bf16 output is rounded back to nearest even
 * when the staging closes. f32 operands pass straight through, so an all-f32 call runs exactly as
 * it would without staging. The CPU backend stages every op this way; the CUDA backend only the
 * forms its kernels lack (mixed-dtype matrix products and attention). Scratch comes from the
 * backend's caching allocator, and conversions are queued like any other op of the backend.
 */
public final class Staging implements AutoCloseable {
    private final Backend be;
    private final List<Tensor> scratch = new ArrayList<>();
    private final List<Tensor> outputs = new ArrayList<>();
    private final List<Tensor> outputScratch = new ArrayList<>();

    /**
     * Staging on that backend's memory and conversion kernel.
     *
     * @param be the backend whose kernel call is staged
     */
    public Staging(Backend be) {
        this.be = be;
    }

    /**
     * An input as an f32 tensor: itself, or a widened copy of a bf16 tensor; null stays null.
     *
     * @param t the operand, or null
     * @return an f32 tensor of t's shape and values, or null
     */
    public Tensor input(Tensor t) {
        if (t == null || t.dtype() == DType.F32) return t;
        Tensor f = allocate(t);
        be.doConvert(t, f);
        return f;
    }

    /**
     * An output the kernel overwrites: f32 scratch for a bf16 tensor, rounded into it on close.
     *
     * @param t the output, or null
     * @return t itself when f32, else its f32 scratch; null stays null
     */
    public Tensor output(Tensor t) {
        if (t == null || t.dtype() == DType.F32) return t;
        return writtenBack(t, allocate(t));
    }

    /**
     * An output the kernel reads and updates (accumulations, in-place ops).
     *
     * @param t the output, or null
     * @return t itself when f32, else a widened copy rounded back on close; null stays null
     */
    public Tensor inputOutput(Tensor t) {
        if (t == null || t.dtype() == DType.F32) return t;
        return writtenBack(t, input(t));
    }

    /**
     * {@link #input} as a pointer for a native call.
     *
     * @param t the operand, or null
     * @return its f32 pointer, or null
     */
    public FloatPointer in(Tensor t) {
        return pointer(input(t));
    }

    /**
     * {@link #output} as a pointer for a native call.
     *
     * @param t the output, or null
     * @return its f32 pointer, or null
     */
    public FloatPointer out(Tensor t) {
        return pointer(output(t));
    }

    /**
     * {@link #inputOutput} as a pointer for a native call.
     *
     * @param t the output, or null
     * @return its f32 pointer, or null
     */
    public FloatPointer inOut(Tensor t) {
        return pointer(inputOutput(t));
    }

    private static FloatPointer pointer(Tensor t) {
        return t == null ? null : t.floatPointer();
    }

    private Tensor writtenBack(Tensor t, Tensor f) {
        outputs.add(t);
        outputScratch.add(f);
        return f;
    }

    private Tensor allocate(Tensor t) {
        Tensor f = TensorScope.detach(be.empty(DType.F32, t.shape()));
        scratch.add(f);
        return f;
    }

    /** Rounds the bf16 outputs back into their tensors and frees the scratch. */
    @Override
    public void close() {
        try {
            for (int i = 0; i < outputs.size(); i++) be.doConvert(outputScratch.get(i), outputs.get(i));
        } finally {
            scratch.forEach(Tensor::close);
        }
    }
}
