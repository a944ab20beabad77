package io.starprompt.tensor;

/** Element types. BF16 is supported on CUDA tensors only; I32 holds indices. */
public enum DType {
    F32(4, 0),
    BF16(2, 1),
    I32(4, -1);

    private final int bytes;
    private final int nativeCode;

    DType(int bytes, int nativeCode) {
        this.bytes = bytes;
        this.nativeCode = nativeCode;
    }

    /** Size of one element in bytes. */
    public int bytes() {
        return bytes;
    }

    /** The SP_F32 / SP_BF16 code of the native API. */
    public int nativeCode() {
        if (nativeCode < 0) throw new IllegalArgumentException(this + " has no native floating-point code");
        return nativeCode;
    }
}
