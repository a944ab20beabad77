package io.starprompt.model.safetensors;

import java.util.Arrays;
import java.util.Objects;

/**
 * One tensor entry of a safetensors header.
 *
 * @param name  the tensor's key in the header
 * @param dtype its element type
 * @param shape its dimensions, outermost first (empty for a scalar); the array is copied in and out
 * @param begin first byte of its data, relative to the start of the data section
 * @param end   one past its last byte, relative to the start of the data section
 */
public record TensorInfo(String name, SafetensorsDType dtype, long[] shape, long begin, long end) {

    /**
     * Copies the shape so that the record stays immutable.
     *
     * @param name the tensor's name
     * @param dtype its element type
     * @param shape its dimensions
     * @param begin the start of its data, relative to the data section
     * @param end the end of its data (exclusive)
     */
    public TensorInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        shape = shape.clone();
    }

    /**
     * A copy of the dimensions.
     *
     * @return the dimensions
     */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /**
     * Number of dimensions.
     *
     * @return the rank
     */
    public int rank() {
        return shape.length;
    }

    /**
     * Number of elements (1 for a scalar); the header check guarantees it does not overflow.
     *
     * @return the number of elements
     */
    public long numel() {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    /**
     * Size of the data in bytes, {@code end - begin}.
     *
     * @return the bytes
     */
    public long byteLength() {
        return end - begin;
    }

    /**
     * Whether the shape equals {@code expected}.
     *
     * @param expected the dimensions
     * @return whether they are the tensor's
     */
    public boolean hasShape(long... expected) {
        return Arrays.equals(shape, expected);
    }

    /** Equal when all fields are; the shape is compared by content (records compare arrays by identity). */
    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype
                && Arrays.equals(shape, t.shape) && begin == t.begin && end == t.end;
    }

    /** A hash consistent with {@link #equals}. */
    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape), begin, end);
    }

    /** For example {@code "cls_token F32 [1, 1, 64] bytes [0, 256)"}. */
    @Override
    public String toString() {
        return name + " " + dtype + " " + Arrays.toString(shape) + " bytes [" + begin + ", " + end + ")";
    }
}
