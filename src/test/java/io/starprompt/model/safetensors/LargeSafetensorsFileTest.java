package io.starprompt.model.safetensors;

import static io.starprompt.model.safetensors.RawSafetensors.entry;
import static io.starprompt.model.safetensors.RawSafetensors.f32;
import static io.starprompt.model.safetensors.RawSafetensors.header;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.backend.Backend;
import io.starprompt.backend.cpu.CpuBackend;
import io.starprompt.tensor.Tensor;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A 300 MB file (sparse: header and a few marker values written, the rest left as holes) is
 * opened, and its big tensor loaded into native memory, without the heap growing by more than a
 * few chunks.
 */
class LargeSafetensorsFileTest {
    private static final long ROWS = 300, COLS = 250_000;
    private static final long BIG_BYTES = ROWS * COLS * Float.BYTES; // 300 MB
    private static final long HEAP_LIMIT = 64L << 20;

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 10, unit = TimeUnit.SECONDS)
    void loadsATensorOfA300MbFileWithBoundedHeap() throws IOException {
        Path file = dir.resolve("large.safetensors");
        try {
            long dataStart = writeSparseFile(file);
            assertTrue(Files.size(file) > BIG_BYTES);
            Backend cpu = new CpuBackend();

            System.gc();
            long usedBefore = usedHeap();
            long allocatedBefore = allocatedByThisThread();
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                assertArrayEquals(new float[] {1, 2, 3, 4}, f.readFloats("tail", 4));
                try (Tensor big = f.load(cpu, "big", ROWS, COLS)) {
                    long allocated = allocatedByThisThread() - allocatedBefore;
                    long grown = usedHeap() - usedBefore;
                    assertTrue(grown < HEAP_LIMIT, "heap grew by " + (grown >> 20) + " MB");
                    if (allocatedBefore >= 0) {
                        assertTrue(allocated < HEAP_LIMIT, "allocated " + (allocated >> 20) + " MB on the heap");
                    }
                    checkMarkers(big);
                }
            }
            assertTrue(dataStart % 8 == 0);
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** Writes the header, markers in "big" (first, middle, last element) and "tail"; the rest stays a hole. */
    private static long writeSparseFile(Path file) throws IOException {
        StringBuilder json = new StringBuilder(header(entry("big", "F32", "[" + ROWS + "," + COLS + "]", 0, BIG_BYTES),
                entry("tail", "F32", "[4]", BIG_BYTES, BIG_BYTES + 16)));
        while (json.length() % 8 != 0) json.append(' ');
        byte[] h = json.toString().getBytes(StandardCharsets.US_ASCII);
        long dataStart = 8 + h.length;
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                StandardOpenOption.SPARSE)) {
            ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).flip();
            writeAt(out, 0, prefix);
            writeAt(out, 8, ByteBuffer.wrap(h));
            writeAt(out, dataStart, ByteBuffer.wrap(f32(1.5f)));
            writeAt(out, dataStart + middleIndex() * Float.BYTES, ByteBuffer.wrap(f32(2.5f)));
            writeAt(out, dataStart + BIG_BYTES - Float.BYTES, ByteBuffer.wrap(f32(-3.5f)));
            writeAt(out, dataStart + BIG_BYTES, ByteBuffer.wrap(f32(1, 2, 3, 4)));
        }
        return dataStart;
    }

    private static long middleIndex() {
        return ROWS / 2 * COLS + 7;
    }

    private static void writeAt(FileChannel out, long position, ByteBuffer bytes) throws IOException {
        while (bytes.hasRemaining()) position += out.write(bytes, position);
    }

    private static void checkMarkers(Tensor big) {
        FloatPointer p = big.floatPointer();
        long n = ROWS * COLS;
        assertEquals(1.5f, p.get(0));
        assertEquals(2.5f, p.get(middleIndex()));
        assertEquals(-3.5f, p.get(n - 1));
        assertEquals(0f, p.get(1));
        assertEquals(0f, p.get(middleIndex() - 1));
        assertEquals(0f, p.get(n - 2));
    }

    private static long usedHeap() {
        Runtime rt = Runtime.getRuntime();
        return rt.totalMemory() - rt.freeMemory();
    }

    /** Bytes this thread has allocated on the heap so far (garbage included), or -1 if the JVM cannot say. */
    private static long allocatedByThisThread() {
        if (ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean bean) {
            return bean.getThreadAllocatedBytes(Thread.currentThread().getId());
        }
        return -1;
    }
}
