package io.starprompt.tensor;

/**
 * A block of native memory (host or device) and the way to free it. Owned by exactly one
 * tensor; views of that tensor share it and become unusable once it is freed.
 */
public final class Storage {
    /** Frees an address allocated by a backend. */
    @FunctionalInterface
    public interface Deallocator {
        /**
         * Frees the memory at that address.
         *
         * @param address the address
         */
        void free(long address);
    }

    private final long address;
    private final long bytes;
    private final Device device;
    private final Deallocator deallocator;
    private volatile boolean freed;

    /**
     * Memory at an address, freed by the deallocator when its owner is closed.
     *
     * @param address the address
     * @param bytes the size
     * @param device where it lives
     * @param deallocator what frees it
     */
    public Storage(long address, long bytes, Device device, Deallocator deallocator) {
        if (address == 0 && bytes > 0) throw new IllegalArgumentException("null storage address for " + bytes + " bytes");
        this.address = address;
        this.bytes = bytes;
        this.device = device;
        this.deallocator = deallocator;
    }

    /**
     * The address.
     *
     * @return the address
     */
    public long address() {
        return address;
    }

    /**
     * The size.
     *
     * @return bytes
     */
    public long bytes() {
        return bytes;
    }

    /**
     * Where the memory lives.
     *
     * @return the device
     */
    public Device device() {
        return device;
    }

    /**
     * Whether the memory was freed.
     *
     * @return true once freed
     */
    public boolean isFreed() {
        return freed;
    }

    synchronized void free() {
        if (freed) return;
        freed = true;
        deallocator.free(address);
    }
}
