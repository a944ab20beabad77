package io.starprompt.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.nativeapi.DeviceOutOfMemoryException;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The reuse policy, on a fake device of 10 000 bytes. */
class CachingAllocatorTest {
    private final Map<Long, Long> live = new HashMap<>();
    private long next = 4096, used;
    private int mallocs, frees;

    private final CachingAllocator pool = new CachingAllocator(bytes -> {
        mallocs++;
        if (used + bytes > 10_000) return 0;
        used += bytes;
        live.put(next, bytes);
        next += bytes;
        return next - bytes;
    }, address -> {
        frees++;
        used -= live.remove(address);
    });

    @Test
    void sameRoundedSizeIsReusedWithoutMalloc() {
        long a = pool.allocate(1000);
        pool.recycle(a);
        assertEquals(1024, pool.cachedBytes());
        assertEquals(a, pool.allocate(900), "900 and 1000 bytes both round to 1024");
        assertEquals(1, mallocs);
        assertEquals(0, pool.cachedBytes());
    }

    @Test
    void otherSizeGetsANewBlock() {
        long a = pool.allocate(1000);
        pool.recycle(a);
        assertNotEquals(a, pool.allocate(3000));
        assertEquals(2, mallocs);
    }

    @Test
    void outOfMemoryReturnsTheCacheToTheDeviceAndRetries() {
        long a = pool.allocate(4000), b = pool.allocate(4000);
        pool.recycle(a);
        pool.recycle(b);
        long big = pool.allocate(9000);
        assertTrue(big != 0);
        assertEquals(2, frees);
        assertEquals(0, pool.cachedBytes());
    }

    @Test
    void afterCloseRecycledBlocksAreFreedAtOnce() {
        long a = pool.allocate(1000), b = pool.allocate(1000);
        pool.recycle(a);
        pool.close();
        assertEquals(1, frees);
        pool.recycle(b);
        assertEquals(2, frees);
        assertEquals(0, used);
    }

    @Test
    void anExhaustedDeviceIsAnExceptionWithTheSizeAndTheHint() {
        long held = pool.allocate(1000);
        long cachedThenReleased = pool.allocate(3000);
        pool.recycle(cachedThenReleased);
        DeviceOutOfMemoryException e = assertThrows(DeviceOutOfMemoryException.class, () -> pool.allocate(20_000));
        assertEquals("CUDA out of memory: allocating 20000 bytes (19.53 KiB) failed with 1024 bytes (1.00 KiB) in use"
                + " by open tensors; try a smaller batch size", e.getMessage());
        assertEquals("CUDA", e.device());
        assertEquals(20_000, e.requestedBytes());
        assertEquals(1024, e.bytesInUse());
        assertEquals(0, pool.cachedBytes(), "the cache went back to the device before giving up");
        assertEquals(4, mallocs, "tried, returned the cache, tried once more");
        assertThrows(IllegalStateException.class, () -> pool.recycle(12345));
        pool.recycle(held);
        assertEquals(0, pool.liveBytes(), "a failed request leaves nothing allocated");
    }

    @Test
    void liveCachedAndSystemCountsFollowTheBlocks() {
        long a = pool.allocate(1000), b = pool.allocate(3000);
        assertEquals(new Backend.MemoryStats(1024 + 3072, 0, 2), pool.stats());
        pool.recycle(a);
        assertEquals(new Backend.MemoryStats(3072, 1024, 2), pool.stats());
        long again = pool.allocate(700);
        assertEquals(a, again);
        assertEquals(new Backend.MemoryStats(1024 + 3072, 0, 2), pool.stats(), "reuse is no system allocation");
        pool.recycle(again);
        pool.recycle(b);
        pool.release();
        assertEquals(new Backend.MemoryStats(0, 0, 2), pool.stats());
    }
}
