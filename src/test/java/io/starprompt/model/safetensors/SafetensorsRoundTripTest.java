package io.starprompt.model.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.starprompt.backend.Backend;
import io.starprompt.backend.Backends;
import io.starprompt.backend.cpu.CpuBackend;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SafetensorsWriter → SafetensorsFile, bit for bit, through every read path. */
class SafetensorsRoundTripTest {
    private static final String ODD_NAME = "odd \"name\" \\ é\n";

    @TempDir
    Path dir;

    private final Map<String, float[]> data = new LinkedHashMap<>();
    private final Map<String, long[]> shapes = new LinkedHashMap<>();

    @BeforeEach
    void tensors() {
        Random rnd = new Random(42);
        put("blocks.0.attn.qkv.weight", rnd, 12, 4);
        put("blocks.0.attn.qkv.bias", rnd, 12);
        put("cls_token", rnd, 1, 1, 4);
        put("scalar", rnd);
        put("empty", rnd, 0, 3);
        put(ODD_NAME, rnd, 2, 3, 5);
        float[] special = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0.0f, Float.MIN_VALUE,
                Float.MAX_VALUE, 1e-40f};
        data.put("special", special);
        shapes.put("special", new long[] {special.length});
    }

    private void put(String name, Random rnd, long... shape) {
        float[] v = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextGaussian();
        data.put(name, v);
        shapes.put(name, shape);
    }

    private Path written(Map<String, String> metadata) throws IOException {
        Path file = dir.resolve("weights.safetensors");
        SafetensorsWriter.write(file, data, shapes, metadata);
        return file;
    }

    @Test
    void readFloatsReturnsWhatWasWritten() throws IOException {
        Map<String, String> metadata = Map.of("format", "pt", "note", "ü \"quoted\"");
        try (SafetensorsFile f = SafetensorsFile.open(written(metadata))) {
            assertEquals(data.keySet(), f.names());
            assertEquals(metadata, f.metadata());
            for (String n : data.keySet()) {
                assertArrayEquals(shapes.get(n), f.info(n).shape(), n);
                assertEquals(SafetensorsDType.F32, f.info(n).dtype());
                assertFloatBitsEqual(data.get(n), f.readFloats(n), n);
                assertFloatBitsEqual(data.get(n), f.readFloats(n, shapes.get(n)), n);
            }
        }
    }

    @Test
    void layoutIsThatOfTheReferenceWriter() throws IOException {
        Path file = written(Map.of());
        ByteBuffer prefix = ByteBuffer.wrap(Files.readAllBytes(file), 0, 8).order(ByteOrder.LITTLE_ENDIAN);
        long headerLength = prefix.getLong();
        assertEquals(0, (8 + headerLength) % 8, "data section is 8-byte aligned");
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertTrue(f.metadata().isEmpty());
            long end = 0;
            for (String n : f.names()) {
                TensorInfo info = f.info(n);
                assertEquals(end, info.begin(), "contiguous in name order");
                assertEquals(info.numel() * 4, info.byteLength());
                end = info.end();
            }
            assertEquals(Files.size(file), 8 + headerLength + end);
        }
    }

    @Test
    void smallMappingWindowsGiveTheSameValues() throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(written(Map.of()), 8)) {
            for (String n : data.keySet()) assertFloatBitsEqual(data.get(n), f.readFloats(n), n);
        }
    }

    @Test
    void loadFillsCpuTensorsDirectlyAndThroughStaging() throws IOException {
        Backend cpu = new CpuBackend();
        try (SafetensorsFile f = SafetensorsFile.open(written(Map.of()), 16); TensorScope scope = TensorScope.open()) {
            for (String n : data.keySet()) {
                TensorInfo info = f.info(n);
                Tensor whole = f.load(cpu, n, shapes.get(n));
                Tensor chunkedDirect = f.loadChunked(cpu, info, 7, false);
                Tensor chunkedStaged = f.loadChunked(cpu, info, 7, true);
                for (Tensor t : List.of(whole, chunkedDirect, chunkedStaged)) {
                    assertArrayEquals(shapes.get(n), t.shape(), n);
                    assertFloatBitsEqual(data.get(n), cpu.toFloatArray(t), n);
                }
            }
            assertEquals(3 * data.size(), scope.size(), "loaded tensors belong to the open scope");
        }
    }

    @Test
    void loadOntoCudaWhenAvailable() throws IOException {
        assumeTrue(Backends.available().contains("cuda"), "no CUDA device");
        Backend cuda = Backends.create("cuda");
        try (SafetensorsFile f = SafetensorsFile.open(written(Map.of())); TensorScope scope = TensorScope.open()) {
            for (String n : data.keySet()) {
                if (data.get(n).length == 0) continue;
                Tensor whole = f.load(cuda, n);
                Tensor chunked = f.loadChunked(cuda, f.info(n), 7, false);
                assertFloatBitsEqual(data.get(n), cuda.toFloatArray(whole), n);
                assertFloatBitsEqual(data.get(n), cuda.toFloatArray(chunked), n);
            }
            assertTrue(scope.size() > 0, "loaded tensors belong to the open scope");
        } finally {
            cuda.close();
        }
    }

    @Test
    void loadChecksTheExpectedShape() throws IOException {
        Backend cpu = new CpuBackend();
        try (SafetensorsFile f = SafetensorsFile.open(written(Map.of()))) {
            SafetensorsException e = assertThrows(SafetensorsException.class,
                    () -> f.load(cpu, "blocks.0.attn.qkv.weight", 4, 12));
            assertTrue(e.getMessage().contains("weights.safetensors") && e.getMessage().contains("blocks.0.attn.qkv.weight")
                    && e.getMessage().contains("[12, 4]") && e.getMessage().contains("[4, 12]"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> f.readFloats("scalar", 1));
            assertEquals(1, f.readFloats("scalar", new long[0]).length);
        }
    }

    @Test
    void closedFileRefusesReads() throws IOException {
        SafetensorsFile f = SafetensorsFile.open(written(Map.of()));
        f.close();
        f.close();
        assertTrue(f.contains("cls_token"), "header queries still work");
        assertThrows(IllegalStateException.class, () -> f.readFloats("cls_token"));
        assertTrue(f.toString().contains("closed"));
    }

    @Test
    void writerRejectsInconsistentArguments() {
        Path file = dir.resolve("bad.safetensors");
        assertThrows(IllegalArgumentException.class,
                () -> SafetensorsWriter.write(file, Map.of("a", new float[2]), Map.of("b", new long[] {2})));
        assertThrows(IllegalArgumentException.class,
                () -> SafetensorsWriter.write(file, Map.of("a", new float[3]), Map.of("a", new long[] {2})));
        assertThrows(IllegalArgumentException.class,
                () -> SafetensorsWriter.write(file, Map.of("a", new float[0]), Map.of("a", new long[] {-1, 0})));
        assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(file,
                Map.of("__metadata__", new float[1]), Map.of("__metadata__", new long[] {1})));
        assertFalse(Files.exists(file), "nothing written on bad input");
    }

    @Test
    void writerStreamsTensorsLargerThanItsBuffer() throws IOException {
        float[] big = new float[700_000]; // 2.8 MB, more than the 1 MB write buffer
        for (int i = 0; i < big.length; i++) big[i] = i * 0.5f;
        Path file = dir.resolve("big.safetensors");
        SafetensorsWriter.write(file, Map.of("big", big, "after", new float[] {7}),
                Map.of("big", new long[] {700, 1000}, "after", new long[] {1}));
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertArrayEquals(big, f.readFloats("big", 700, 1000));
            assertArrayEquals(new float[] {7}, f.readFloats("after"));
        }
    }

    private static void assertFloatBitsEqual(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        List<Integer> wrong = new ArrayList<>();
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) wrong.add(i);
        }
        assertTrue(wrong.isEmpty(), what + ": bits differ at " + wrong);
    }
}
