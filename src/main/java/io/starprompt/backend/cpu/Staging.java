package io.starprompt.backend.cpu;

import static io.starprompt.nativeapi.NativeLib.check;
import static io.starprompt.nativeapi.StarPromptNative.sp_cpu_convert;

import io.starprompt.backend.Backend;
import io.starprompt.tensor.DType;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.FloatPointer;

/**
 * The bf16 storage form of the CPU kernels, which compute in f32: for one native call, each bf16
 * operand is widened into f32 scratch (exact) and each bf16 output is rounded back to nearest even
 * when the staging closes. f32 operands pass straight through, so an all-f32 call runs exactly as
 * it would without staging.
 */
final class Staging implements AutoCloseable {
    private final Backend be;
    private final List<Tensor> scratch = new ArrayList<>();
    private final List<Tensor> outputs = new ArrayList<>();
    private final List<FloatPointer> outputScratch = new ArrayList<>();

    /** Staging whose scratch comes from the backend's caching allocator (warm pages, no page faults per op). */
    Staging(Backend be) {
        this.be = be;
    }

    /** An input: its f32 pointer, or a widened copy of a bf16 tensor; null stays null. */
    FloatPointer in(Tensor t) {
        if (t == null || t.dtype() == DType.F32) return t == null ? null : t.floatPointer();
        FloatPointer f = allocate(t);
        check(sp_cpu_convert(t.pointer(), DType.BF16.nativeCode(), f, DType.F32.nativeCode(), t.numel()), "convert");
        return f;
    }

    /** An output the kernel overwrites: f32 scratch for a bf16 tensor, rounded into it on close. */
    FloatPointer out(Tensor t) {
        if (t == null || t.dtype() == DType.F32) return t == null ? null : t.floatPointer();
        return writtenBack(t, allocate(t));
    }

    /** An output the kernel reads and updates (accumulations, in-place ops). */
    FloatPointer inOut(Tensor t) {
        if (t == null || t.dtype() == DType.F32) return t == null ? null : t.floatPointer();
        return writtenBack(t, in(t));
    }

    private FloatPointer writtenBack(Tensor t, FloatPointer f) {
        outputs.add(t);
        outputScratch.add(f);
        return f;
    }

    private FloatPointer allocate(Tensor t) {
        Tensor f = TensorScope.detach(be.empty(DType.F32, t.numel()));
        scratch.add(f);
        return f.floatPointer();
    }

    /** Rounds the bf16 outputs back into their tensors and frees the scratch. */
    @Override
    public void close() {
        try {
            for (int i = 0; i < outputs.size(); i++) {
                Tensor t = outputs.get(i);
                check(sp_cpu_convert(outputScratch.get(i), DType.F32.nativeCode(), t.pointer(), DType.BF16.nativeCode(),
                        t.numel()), "convert");
            }
        } finally {
            scratch.forEach(Tensor::close);
        }
    }
}
