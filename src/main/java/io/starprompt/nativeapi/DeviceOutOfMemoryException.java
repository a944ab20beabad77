package io.starprompt.nativeapi;

import java.util.Locale;

/**
 * A backend ran out of the memory its tensors live in — CUDA device memory, or host memory for the
 * CPU backends — after returning its cache of freed blocks and trying again. An exception, not an
 * {@link OutOfMemoryError}: the Java heap is fine, nothing was left half-allocated, and the caller
 * may free tensors or retry with a smaller batch. The message names the device, the requested
 * size, what open tensors hold, and that hint.
 */
public final class DeviceOutOfMemoryException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** What a person can do about it, at the end of every message. */
    public static final String HINT = "try a smaller batch size";

    private final String device;
    private final long requestedBytes;
    private final long bytesInUse;

    private DeviceOutOfMemoryException(String device, long requestedBytes, long bytesInUse, String message) {
        super(message);
        this.device = device;
        this.requestedBytes = requestedBytes;
        this.bytesInUse = bytesInUse;
    }

    /**
     * An allocation the device refused.
     *
     * @param device         the memory, in words ("CUDA", "host")
     * @param requestedBytes the size asked for
     * @param bytesInUse     what open tensors hold at that moment
     * @return the exception
     */
    public static DeviceOutOfMemoryException allocation(String device, long requestedBytes, long bytesInUse) {
        return new DeviceOutOfMemoryException(device, requestedBytes, bytesInUse, device + " out of memory: allocating "
                + size(requestedBytes) + " failed with " + size(bytesInUse) + " in use by open tensors; " + HINT);
    }

    /**
     * Out of memory inside a native operation (a library's workspace, say), where only the
     * operation's own report is known.
     *
     * @param report the native library's message, naming the operation
     * @return the exception (requested size and bytes in use unknown: -1)
     */
    public static DeviceOutOfMemoryException inOperation(String report) {
        return new DeviceOutOfMemoryException(null, -1, -1, report + "; " + HINT);
    }

    /** "1610612736 bytes (1.50 GiB)". */
    static String size(long bytes) {
        if (bytes < 1024) return bytes + " bytes";
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return bytes + " bytes (" + String.format(Locale.ROOT, "%.2f %s", v, units[u]) + ")";
    }

    /** The memory that ran out ("CUDA", "host"), or null when a native operation reported it. */
    public String device() {
        return device;
    }

    /** The size of the refused request in bytes, or -1 when not known. */
    public long requestedBytes() {
        return requestedBytes;
    }

    /** Bytes held by open tensors when the request failed, or -1 when not known. */
    public long bytesInUse() {
        return bytesInUse;
    }
}
