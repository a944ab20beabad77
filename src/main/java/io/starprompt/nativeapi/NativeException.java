package io.starprompt.nativeapi;

/** A native kernel failed for a reason other than a bad argument (CUDA error, no CUDA). */
public final class NativeException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int status;

    public NativeException(int status, String message) {
        super(message);
        this.status = status;
    }

    /** The SP_ERR_* code returned by the native library. */
    public int status() {
        return status;
    }
}
