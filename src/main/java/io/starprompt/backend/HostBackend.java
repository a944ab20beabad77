package io.starprompt.backend;

import io.starprompt.tensor.BFloat16;
import io.starprompt.tensor.DType;
import io.starprompt.tensor.Device;
import io.starprompt.tensor.RawPointer;
import io.starprompt.tensor.Storage;
import io.starprompt.tensor.Tensor;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.ShortPointer;

/**
 * Memory management shared by the backends whose tensors live in host memory (f32, bf16, i32):
 * blocks come from malloc through a {@link CachingAllocator}, so a repeated step reuses warm pages.
 *
 * <p>bf16 is a storage format here: every op with a bf16 form computes in f32 (or wider) and
 * rounds to nearest even where it stores into a bf16 tensor. Writing floats into a bf16 tensor
 * rounds them the same way, which is how the reference backend gets its bf16 forms: its kernels
 * read and write tensors only through {@link #doReadFloats} and {@link #doWrite(Tensor, float[])}.
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

    /** Host backends store f32, bf16 and i32. */
    @Override
    public boolean supports(DType dtype) {
        return true;
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
        if (t.dtype() != DType.BF16) {
            t.floatPointer().put(data);
            return;
        }
        short[] bits = new short[data.length];
        for (int i = 0; i < data.length; i++) bits[i] = BFloat16.fromFloat(data[i]);
        new ShortPointer(t.pointer()).capacity(bits.length).put(bits);
    }

    @Override
    protected void doWrite(Tensor t, int[] data) {
        t.intPointer().put(data);
    }

    @Override
    protected float[] doReadFloats(Tensor t) {
        float[] out = new float[Math.toIntExact(t.numel())];
        if (t.dtype() != DType.BF16) {
            t.floatPointer().get(out);
            return out;
        }
        short[] bits = new short[out.length];
        new ShortPointer(t.pointer()).capacity(bits.length).get(bits);
        for (int i = 0; i < out.length; i++) out[i] = BFloat16.toFloat(bits[i]);
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

    /** f32 ↔ bf16 through the host arrays (rounding as {@link #doWrite(Tensor, float[])} does). */
    @Override
    protected void doConvert(Tensor src, Tensor dst) {
        doWrite(dst, doReadFloats(src));
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
