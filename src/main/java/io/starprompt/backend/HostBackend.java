package io.starprompt.backend;

import io.starprompt.tensor.DType;
import io.starprompt.tensor.Device;
import io.starprompt.tensor.Storage;
import io.starprompt.tensor.Tensor;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;

/** Memory management shared by the backends whose tensors live in host memory (f32, i32). */
public abstract class HostBackend extends Backend {
    protected HostBackend(String name, KernelRegistry kernels) {
        super(name, Device.CPU, kernels);
    }

    @Override
    protected Tensor allocate(DType dtype, long[] shape) {
        long bytes = Math.multiplyExact(Tensor.numel(shape), (long) dtype.bytes());
        return Tensor.owning(Storage.hostMalloc(bytes), dtype, shape);
    }

    @Override
    protected void doWrite(Tensor t, float[] data) {
        t.floatPointer().put(data);
    }

    @Override
    protected void doWrite(Tensor t, int[] data) {
        t.intPointer().put(data);
    }

    @Override
    protected float[] doReadFloats(Tensor t) {
        float[] out = new float[Math.toIntExact(t.numel())];
        t.floatPointer().get(out);
        return out;
    }

    @Override
    protected int[] doReadInts(Tensor t) {
        int[] out = new int[Math.toIntExact(t.numel())];
        t.intPointer().get(out);
        return out;
    }

    @Override
    protected void doCopy(Tensor src, Tensor dst) {
        Pointer.memcpy(dst.pointer(), src.pointer(), src.bytes());
    }

    @Override
    protected void doZero(Tensor t) {
        Pointer.memset(t.pointer(), 0, t.bytes());
    }

    /** Host-memory i32 copy of an index array, to be closed by the caller. */
    protected static IntPointer ints(int[] values) {
        return new IntPointer(values);
    }

    /** The tensor's f32 pointer, or null for an absent optional tensor. */
    protected static FloatPointer fp(Tensor t) {
        return t == null ? null : t.floatPointer();
    }
}
