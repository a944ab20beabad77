package io.starprompt.backend;

import io.starprompt.nativeapi.DeviceOutOfMemoryException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.function.LongConsumer;
import java.util.function.LongUnaryOperator;

/**
 * Keeps freed blocks of a backend's memory for reuse by later allocations of the same (rounded)
 * size. A training step allocates the same shapes every time, so after the first step no
 * allocation reaches the system: on CUDA no cudaMalloc/cudaFree (cudaFree synchronises the
 * device), on the host no fresh pages to fault in. Reuse on CUDA is safe without events because
 * every use of a block is queued on the backend's single stream, in program order.
 */
public final class CachingAllocator {
    /** Sizes are rounded up to this many bytes (also keeps every block 512-byte aligned). */
    static final long GRANULE = 512;

    private final String device;
    private final LongUnaryOperator malloc;
    private final LongConsumer free;
    private final Map<Long, Deque<Long>> cached = new HashMap<>();
    private final Map<Long, Long> sizeOf = new HashMap<>();
    private long cachedBytes;
    private long liveBytes;
    private long systemAllocations;
    private boolean closed;

    /**
     * An allocator of device memory ("CUDA" in messages).
     *
     * @param malloc returns the address of a new block of the given bytes, or 0 when out of memory
     * @param free   returns a block to the device
     */
    public CachingAllocator(LongUnaryOperator malloc, LongConsumer free) {
        this("CUDA", malloc, free);
    }

    /**
     * An allocator of the named memory.
     *
     * @param device what the memory is, for out-of-memory messages ("CUDA", "host")
     * @param malloc returns the address of a new block of the given bytes, or 0 when out of memory
     *               (any exception it throws is passed on)
     * @param free   returns a block to the device
     */
    public CachingAllocator(String device, LongUnaryOperator malloc, LongConsumer free) {
        this.device = device;
        this.malloc = malloc;
        this.free = free;
    }

    static long rounded(long bytes) {
        return Math.max(GRANULE, (bytes + GRANULE - 1) / GRANULE * GRANULE);
    }

    /**
     * A block of at least bytes; a cached one of the same rounded size if there is one. When the
     * system refuses, the cache is returned to it and the request retried once.
     *
     * @param bytes the size wanted
     * @return the block's address
     * @throws DeviceOutOfMemoryException naming the device, the requested size and what is in use,
     *     with the hint to use a smaller batch; nothing is left half-allocated, so the caller may
     *     recover
     */
    public synchronized long allocate(long bytes) {
        long size = rounded(bytes);
        Deque<Long> free = cached.get(size);
        if (free != null && !free.isEmpty()) {
            cachedBytes -= size;
            liveBytes += size;
            return free.pop();
        }
        long address = malloc.applyAsLong(size);
        if (address == 0 && cachedBytes > 0) {
            release();
            address = malloc.applyAsLong(size);
        }
        if (address == 0) throw DeviceOutOfMemoryException.allocation(device, bytes, liveBytes);
        systemAllocations++;
        sizeOf.put(address, size);
        liveBytes += size;
        return address;
    }

    /**
     * Takes a block back for reuse (or frees it at once once the allocator is closed).
     *
     * @param address an address {@link #allocate} returned
     */
    public synchronized void recycle(long address) {
        Long size = sizeOf.get(address);
        if (size == null) throw new IllegalStateException("address " + address + " was not allocated here");
        liveBytes -= size;
        if (closed) {
            sizeOf.remove(address);
            free.accept(address);
            return;
        }
        cached.computeIfAbsent(size, s -> new ArrayDeque<>()).push(address);
        cachedBytes += size;
    }

    /** Returns every cached block to the system. */
    public synchronized void release() {
        cached.values().forEach(q -> q.forEach(a -> {
            sizeOf.remove(a);
            free.accept(a);
        }));
        cached.clear();
        cachedBytes = 0;
    }

    /** Releases the cache; blocks recycled from now on are freed at once. */
    public synchronized void close() {
        release();
        closed = true;
    }

    /**
     * Bytes held in the cache (not in use by any tensor).
     *
     * @return the cached bytes
     */
    public synchronized long cachedBytes() {
        return cachedBytes;
    }

    /**
     * Bytes of the blocks handed out and not yet recycled (in use by tensors), rounded sizes.
     *
     * @return the live bytes
     */
    public synchronized long liveBytes() {
        return liveBytes;
    }

    /**
     * Live bytes, cached bytes and the number of blocks obtained from the system so far.
     *
     * @return the figures now
     */
    public synchronized Backend.MemoryStats stats() {
        return new Backend.MemoryStats(liveBytes, cachedBytes, systemAllocations);
    }
}
