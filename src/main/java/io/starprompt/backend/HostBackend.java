package io.starprompt.backend;

import io.starprompt.tensor.DType;
import io.starprompt.tensor.Device;
import io.starprompt.tensor.RawPointer;
import io.starprompt.tensor.Storage;
import io.starprompt.tensor.Tensor;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;

/**
 * Memory management shared by the backends whose tensors live in host memory (f32, i32): blocks
 * come from malloc through a {@link CachingAllocator}, so a repeated step reuses warm pages.
 */
public abstract class HostBackend extends Backend {
    private final CachingAllocator memory = new CachingAllocator("host", HostBackend::hostMalloc,
            address -> Pointer.free(new RawPointer(address)));

    /**
     * A host backend of that name and kernel variants.
     *
     * @param name the backend's name
     * @param kernels its kernel variants
     */
    protected HostBackend(String name, KernelRegistry kernels) {
        super(name, Device.CPU, kernels);
    }

    @Override
    protected Tensor allocate(DType dtype, long[] shape) {
        long bytes = Math.multiplyExact(Tensor.numel(shape), (long) dtype.bytes());
        return Tensor.owning(new Storage(memory.allocate(bytes), bytes, Device.CPU, memory::recycle), dtype, shape);
    }

    private static long hostMalloc(long bytes) {
        Pointer p = Pointer.malloc(bytes);
        return p == null ? 0 : p.address();
    }

    /** Returns the host memory cached for reuse to the system; tensors stay valid. */
    public void releaseCachedMemory() {
        memory.release();
    }

    /** Live and cached bytes of this backend's host memory, and how many blocks came from malloc. */
    @Override
    public MemoryStats memoryStats() {
        return memory.stats();
    }

    /** Frees the cached memory; tensors still open are freed when they are closed. */
    @Override
    protected void release() {
        memory.close();
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

    /**
     * Host-memory i32 copy of an index array, to be closed by the caller.
     *
     * @param values the indices
     * @return a native copy
     */
    protected static IntPointer ints(int[] values) {
        return new IntPointer(values);
    }

    /**
     * The tensor's f32 pointer, or null for an absent optional tensor.
     *
     * @param t the tensor, or null
     * @return its pointer, or null
     */
    protected static FloatPointer fp(Tensor t) {
        return t == null ? null : t.floatPointer();
    }
}
