package io.starprompt.nativeapi;

/**
 * Loads the native library once and turns native status codes into Java exceptions.
 * Loading never requires CUDA: CUDA entry points report SP_ERR_NO_CUDA when unusable.
 */
public final class NativeLib {
    private static volatile Throwable loadFailure;
    private static volatile boolean loaded;

    private NativeLib() {}

    /** Loads libstarprompt (idempotent); throws UnsatisfiedLinkError with the cause if it cannot. */
    public static synchronized void load() {
        if (loaded) return;
        if (loadFailure != null) throw linkError(loadFailure);
        try {
            org.bytedeco.javacpp.Loader.load(StarPromptNative.class);
            loaded = true;
        } catch (Throwable t) {
            loadFailure = t;
            throw linkError(t);
        }
    }

    private static UnsatisfiedLinkError linkError(Throwable cause) {
        UnsatisfiedLinkError e = new UnsatisfiedLinkError("starprompt native library could not be loaded: " + cause);
        e.initCause(cause);
        return e;
    }

    /**
     * Version string of the native library, e.g. "starprompt-native 0.1.0 (cpu+cuda)".
     *
     * @return the version string
     */
    public static String version() {
        load();
        return StarPromptNative.sp_version().getString();
    }

    /**
     * Throws if a native call returned a non-zero status; op names the Java-side operation.
     *
     * @throws IllegalArgumentException     for SP_ERR_ARG
     * @throws DeviceOutOfMemoryException   for SP_ERR_ALLOC (memory ran out inside the operation)
     * @throws NativeException              for any other error
     */
    public static void check(int status, String op) {
        if (status == StarPromptNative.SP_OK) return;
        String msg = op + ": " + StarPromptNative.sp_last_error().getString();
        switch (status) {
            case StarPromptNative.SP_ERR_ARG:
                throw new IllegalArgumentException(msg);
            case StarPromptNative.SP_ERR_ALLOC:
                throw DeviceOutOfMemoryException.inOperation(msg);
            default:
                throw new NativeException(status, msg);
        }
    }
}
