package io.starprompt.model.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** F64 tensors beside F32 ones: written in name order, read back bit for bit, types kept apart. */
class SafetensorsFloat64Test {
    @Test
    void float64TensorsRoundTripExactly(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("mixed.safetensors");
        double[] d = {Math.PI, -0.0, Double.MIN_VALUE, Double.MAX_VALUE, 1.0 / 3};
        float[] f = {1.5f, -2.25f};
        SafetensorsWriter.write(file, Map.of("b.f", f), Map.of("a.d", d),
                Map.of("a.d", new long[] {5}, "b.f", new long[] {2, 1}), Map.of("k", "v"));
        try (SafetensorsFile r = SafetensorsFile.open(file)) {
            assertEquals(SafetensorsDType.F64, r.info("a.d").dtype());
            assertEquals(0, r.info("a.d").begin(), "tensors in name order");
            assertArrayEquals(d, r.readDoubles("a.d", 5));
            assertArrayEquals(f, r.readFloats("b.f", 2, 1));
            assertEquals("v", r.metadata().get("k"));
            assertThrows(SafetensorsException.class, () -> r.readDoubles("b.f", 2, 1));
            assertThrows(SafetensorsException.class, () -> r.readFloats("a.d"));
            assertThrows(SafetensorsException.class, () -> r.readDoubles("a.d", 4));
        }
    }

    @Test
    void aNameGivenTwiceIsRefused(@TempDir Path dir) {
        assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(dir.resolve("x"),
                Map.of("t", new float[] {1}), Map.of("t", new double[] {1}), Map.of("t", new long[] {1}), Map.of()));
    }
}
