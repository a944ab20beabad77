package io.starprompt.tensor;

/**
 * Element types. BF16 is a storage format: host backends keep bf16 tensors for every op the towers
 * use and compute in f32 (rounding to nearest even on store), CUDA for attention; I32 holds indices.
 */
public enum DType {
    /** IEEE single-precision floats. */
    F32(4, 0),
    /** bfloat16: the top half of an f32 (8 significant bits). */
    BF16(2, 1),
    /** 32-bit signed integers (indices, labels). */
    I32(4, -1);

    private final int bytes;
    private final int nativeCode;

    DType(int bytes, int nativeCode) {
        this.bytes = bytes;
        this.nativeCode = nativeCode;
    }

    /**
     * Size of one element in bytes.
     *
     * @return the bytes per element
     */
    public int bytes() {
        return bytes;
    }

    /**
     * The SP_F32 / SP_BF16 code of the native API.
     *
     * @return the code, or -1 for a type the native kernels do not take as data
     */
    public int nativeCode() {
        if (nativeCode < 0) throw new IllegalArgumentException(this + " has no native floating-point code");
        return nativeCode;
    }
}
