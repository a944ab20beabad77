package io.starprompt.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.nativeapi.DeviceOutOfMemoryException;
import io.starprompt.nativeapi.NativeLib;
import io.starprompt.nativeapi.StarPromptNative;
import io.starprompt.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * Running out of a backend's memory is a {@link DeviceOutOfMemoryException} with the size and the
 * hint, not an {@link OutOfMemoryError}, on the paths a host can exercise: the host backends' own
 * allocator asked for more than any address space holds, and the status by which a native
 * operation (a CUDA kernel's workspace, say) reports it. The CUDA allocator takes the same path
 * as the host's ({@link CachingAllocator} with cudaMalloc, whose out-of-memory status is read as
 * "no block"), which {@link CachingAllocatorTest} drives with a fake device.
 */
class OutOfMemoryTest {
    @ParameterizedTest
    @ValueSource(strings = {"reference", "cpu"})
    void aTensorLargerThanTheAddressSpaceIsRefusedAndTheBackendGoesOn(String name) {
        try (Backend be = Backends.create(name)) {
            long elements = 1L << 46; // 256 TiB of floats: beyond a 47-bit address space, whatever the overcommit
            DeviceOutOfMemoryException e = assertThrows(DeviceOutOfMemoryException.class, () -> be.empty(elements, 1));
            assertEquals("host", e.device());
            assertEquals(elements * 4, e.requestedBytes());
            assertTrue(e.getMessage().startsWith("host out of memory: allocating 281474976710656 bytes (256.00 TiB)"),
                    e.getMessage());
            assertTrue(e.getMessage().endsWith("try a smaller batch size"), e.getMessage());
            assertEquals(0, be.memoryStats().liveBytes(), "nothing was left allocated");
            try (Tensor t = be.fromArray(new float[] {1, 2, 3}, 3)) {
                assertArrayEquals(new float[] {1, 2, 3}, be.toFloatArray(t));
            }
        }
    }

    @Test
    void aNativeOperationOutOfMemoryIsTheExceptionToo() {
        NativeLib.load();
        DeviceOutOfMemoryException e = assertThrows(DeviceOutOfMemoryException.class,
                () -> NativeLib.check(StarPromptNative.SP_ERR_ALLOC, "attention forward"));
        assertTrue(e.getMessage().startsWith("attention forward: "), e.getMessage());
        assertTrue(e.getMessage().endsWith("; try a smaller batch size"), e.getMessage());
        assertEquals(-1, e.requestedBytes());
    }
}
