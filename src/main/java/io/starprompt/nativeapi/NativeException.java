package io.starprompt.nativeapi;

/** A native kernel failed for a reason other than a bad argument (CUDA error, no CUDA). */
public final class NativeException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    /** The SP_ERR_* status code. */
    private final int status;

    /**
     * A failure of the native library.
     *
     * @param status the SP_ERR_* code
     * @param message what failed, from sp_last_error
     */
    public NativeException(int status, String message) {
        super(message);
        this.status = status;
    }

    /**
     * The SP_ERR_* code returned by the native library.
     *
     * @return the code
     */
    public int status() {
        return status;
    }
}
