package io.starprompt.tensor;

import java.util.Arrays;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;

/**
 * A dense, row-major, contiguous n-dimensional array in native memory (host or CUDA device).
 *
 * <p>A tensor either owns its {@link Storage} (created by a backend) or is a view of another
 * tensor's storage ({@link #reshape}, {@link #rows}). Closing the owner frees the memory at
 * once; the garbage collector never does. Using a tensor whose memory was freed raises
 * {@link IllegalStateException}. Owners created inside a {@link TensorScope} are closed with it.
 */
public final class Tensor implements AutoCloseable {
    private final long[] shape;
    private final DType dtype;
    private final Storage storage;
    private final long offset;
    private final boolean owner;

    private Tensor(Storage storage, DType dtype, long offset, boolean owner, long[] shape) {
        this.storage = storage;
        this.dtype = dtype;
        this.offset = offset;
        this.owner = owner;
        this.shape = shape;
    }

    /**
     * Wraps freshly allocated storage; the tensor owns it and registers with the current scope.
     *
     * @param storage the memory
     * @param dtype the element type
     * @param shape the dimensions
     * @return the tensor
     */
    public static Tensor owning(Storage storage, DType dtype, long... shape) {
        long[] s = checkShape(shape);
        long need = numel(s) * dtype.bytes();
        if (need > storage.bytes()) {
            throw new IllegalArgumentException("storage of " + storage.bytes() + " bytes cannot hold "
                    + dtype + " " + shapeString(s));
        }
        Tensor t = new Tensor(storage, dtype, 0, true, s);
        TensorScope.register(t);
        return t;
    }

    private static long[] checkShape(long[] shape) {
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + shapeString(shape));
        }
        return shape.clone();
    }

    /**
     * The number of elements of a shape.
     *
     * @param shape the dimensions
     * @return their product
     */
    public static long numel(long... shape) {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    /**
     * A shape as text, e.g. "[4, 197, 768]".
     *
     * @param shape the dimensions
     * @return the text
     */
    public static String shapeString(long... shape) {
        return Arrays.toString(shape);
    }

    /**
     * The dimensions.
     *
     * @return a copy
     */
    public long[] shape() {
        return shape.clone();
    }

    /**
     * The number of dimensions.
     *
     * @return the rank
     */
    public int rank() {
        return shape.length;
    }

    /**
     * Size of dimension i; negative i counts from the end.
     *
     * @param i the dimension
     * @return its size
     */
    public long dim(int i) {
        int k = i < 0 ? shape.length + i : i;
        if (k < 0 || k >= shape.length) {
            throw new IllegalArgumentException("dimension " + i + " out of range for shape " + shapeString(shape));
        }
        return shape[k];
    }

    /**
     * The number of elements.
     *
     * @return the product of the dimensions
     */
    public long numel() {
        return numel(shape);
    }

    /**
     * The element type.
     *
     * @return the dtype
     */
    public DType dtype() {
        return dtype;
    }

    /**
     * Where the memory lives.
     *
     * @return the device
     */
    public Device device() {
        return storage.device();
    }

    /**
     * The size of the data.
     *
     * @return bytes
     */
    public long bytes() {
        return numel() * dtype.bytes();
    }

    /**
     * Whether the memory was freed (this tensor or the one it is a view of was closed).
     *
     * @return true once freed
     */
    public boolean isClosed() {
        return storage.isFreed();
    }

    /**
     * A view with another shape of the same number of elements.
     *
     * @param newShape the dimensions of the view
     * @return the view
     */
    public Tensor reshape(long... newShape) {
        long[] s = checkShape(newShape);
        if (numel(s) != numel()) {
            throw new IllegalArgumentException("cannot reshape " + shapeString(shape) + " to " + shapeString(s));
        }
        ensureOpen("reshape");
        return new Tensor(storage, dtype, offset, false, s);
    }

    /**
     * A view of rows [start, start + count) along dimension 0.
     *
     * @param start the first row
     * @param count how many rows
     * @return the view
     */
    public Tensor rows(long start, long count) {
        ensureOpen("rows");
        if (rank() == 0 || start < 0 || count < 0 || start + count > shape[0]) {
            throw new IllegalArgumentException("rows(" + start + ", " + count + ") out of range for " + shapeString(shape));
        }
        long[] s = shape.clone();
        s[0] = count;
        long rowElems = numel() / Math.max(shape[0], 1);
        return new Tensor(storage, dtype, offset + start * rowElems, false, s);
    }

    /**
     * Throws IllegalStateException naming the operation if the memory was freed.
     *
     * @param op the operation, for the message
     */
    public void ensureOpen(String op) {
        if (storage.isFreed()) throw new IllegalStateException(op + ": tensor " + this + " is closed");
    }

    /**
     * Raw address of the first element (host or device).
     *
     * @return the address
     */
    public long address() {
        ensureOpen("address");
        return storage.address() + offset * dtype.bytes();
    }

    /**
     * The memory as a JavaCPP pointer (host or device address).
     *
     * @return the pointer
     */
    public Pointer pointer() {
        return new RawPointer(address());
    }

    /**
     * The memory as a float pointer, for host f32 tensors.
     *
     * @return the pointer
     */
    public FloatPointer floatPointer() {
        if (dtype != DType.F32) throw new IllegalArgumentException("tensor " + this + " is not f32");
        FloatPointer p = new FloatPointer(pointer());
        p.capacity(numel()).limit(numel());
        return p;
    }

    /**
     * The memory as an int pointer, for host i32 tensors.
     *
     * @return the pointer
     */
    public IntPointer intPointer() {
        if (dtype != DType.I32) throw new IllegalArgumentException("tensor " + this + " is not i32");
        IntPointer p = new IntPointer(pointer());
        p.capacity(numel()).limit(numel());
        return p;
    }

    /** Frees the memory if this tensor owns it; closing a view does nothing. Idempotent. */
    @Override
    public void close() {
        if (owner) {
            storage.free();
            TensorScope.unregister(this);
        }
    }

    boolean isOwner() {
        return owner;
    }

    @Override
    public String toString() {
        return "Tensor[" + dtype.name().toLowerCase() + " " + device().name().toLowerCase() + " "
                + shapeString(shape) + (storage.isFreed() ? " closed" : "") + "]";
    }
}
