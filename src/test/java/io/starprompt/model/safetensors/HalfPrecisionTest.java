package io.starprompt.model.safetensors;

import static io.starprompt.model.safetensors.RawSafetensors.concat;
import static io.starprompt.model.safetensors.RawSafetensors.entry;
import static io.starprompt.model.safetensors.RawSafetensors.f32;
import static io.starprompt.model.safetensors.RawSafetensors.header;
import static io.starprompt.model.safetensors.RawSafetensors.u16;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.backend.Backend;
import io.starprompt.backend.cpu.CpuBackend;
import io.starprompt.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** F16 and BF16 tensors in hand-written files widen to exactly the right floats. */
class HalfPrecisionTest {
    @TempDir
    Path dir;

    // bit pattern → exact value; NaN is checked separately since NaN != NaN
    private static final int[] F16_BITS = {0x3C00, 0xC100, 0x7BFF, 0x0001, 0x03FF, 0x0400, 0x7C00, 0xFC00, 0x8000,
            0x0000, 0x3555, 0x8001};
    private static final float[] F16_VALUES = {1.0f, -2.5f, 65504f, 0x1p-24f, 1023 * 0x1p-24f, 0x1p-14f,
            Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0.0f, 0.0f, 0x1.554p-2f, -0x1p-24f};

    private static final int[] BF16_BITS = {0x3F80, 0xC020, 0x477F, 0x7F7F, 0x0001, 0x007F, 0x0080, 0x7F80, 0xFF80,
            0x8000, 0x3EAB};
    private static final float[] BF16_VALUES = {1.0f, -2.5f, 65280f, 0x1.FEp127f, 0x1p-133f, 0x1.FCp-127f, 0x1p-126f,
            Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0.0f, 0x1.56p-2f};

    @Test
    void f16ValuesAreExact() throws IOException {
        assertReadsExactly("F16", SafetensorsDType.F16, F16_BITS, F16_VALUES);
    }

    @Test
    void bf16ValuesAreExact() throws IOException {
        assertReadsExactly("BF16", SafetensorsDType.BF16, BF16_BITS, BF16_VALUES);
    }

    /** The file of {@link #open} in the given half type reads back as the expected floats and a NaN. */
    private void assertReadsExactly(String dtype, SafetensorsDType type, int[] bits, float[] values) throws IOException {
        try (SafetensorsFile f = open(dtype.toLowerCase() + ".safetensors", dtype, bits)) {
            assertEquals(type, f.info("h").dtype());
            assertBitsEqual(values, f.readFloats("h", bits.length));
            assertTrue(Float.isNaN(f.readFloats("nan")[0]));
        }
    }

    @Test
    void halfTensorsLoadOntoTheBackendAsF32() throws IOException {
        Backend cpu = new CpuBackend();
        try (SafetensorsFile f = open("f16.safetensors", "F16", F16_BITS); Tensor t = f.load(cpu, "h")) {
            assertEquals(io.starprompt.tensor.DType.F32, t.dtype());
            assertBitsEqual(F16_VALUES, cpu.toFloatArray(t));
        }
    }

    /** "h" holds the bit patterns, "nan" one NaN, and an F32 tensor follows at an odd, unaligned offset. */
    private SafetensorsFile open(String fileName, String dtype, int[] bits) throws IOException {
        int n = bits.length * 2;
        int nan = dtype.equals("F16") ? 0x7E00 : 0x7FC0;
        String json = header(entry("h", dtype, "[" + bits.length + "]", 0, n), entry("nan", dtype, "[1]", n, n + 2),
                entry("odd", "U8", "[1]", n + 2, n + 3), entry("after", "F32", "[1]", n + 3, n + 7));
        Path file = RawSafetensors.write(dir.resolve(fileName), json, concat(u16(bits), u16(nan), new byte[] {9}, f32(3.5f)));
        SafetensorsFile f = SafetensorsFile.open(file);
        assertArrayEquals(new float[] {3.5f}, f.readFloats("after"), "unaligned F32 after the half tensors");
        return f;
    }

    /** Every one of the 65536 F16 patterns against value = ±2^(e−15)·(1 + m/1024), or ±m·2^−24 when e = 0. */
    @Test
    void allF16PatternsMatchTheDefinition() {
        assertEveryPatternMatchesTheDefinition(5, 10, HalfFloats::f16ToFloat);
    }

    /** Every BF16 pattern: the float whose top 16 bits it is, checked through the value's definition. */
    @Test
    void allBf16PatternsMatchTheDefinition() {
        assertEveryPatternMatchesTheDefinition(8, 7, HalfFloats::bf16ToFloat);
    }

    /** A conversion of a 16-bit float to float. */
    private interface Widening {
        float toFloat(short bits);
    }

    /**
     * Every 16-bit pattern of a binary format with the given exponent and mantissa widths (bias
     * 2^(E−1) − 1): ±2^(e−bias)·(1 + m/2^M), or ±m·2^(1−bias−M) when e = 0; an all-ones exponent is
     * ±∞ when m = 0 and NaN otherwise.
     */
    private static void assertEveryPatternMatchesTheDefinition(int exponentBits, int mantissaBits, Widening widen) {
        int maxExponent = (1 << exponentBits) - 1, bias = maxExponent >> 1;
        for (int bits = 0; bits < 0x10000; bits++) {
            int e = (bits >>> mantissaBits) & maxExponent, m = bits & ((1 << mantissaBits) - 1);
            double sign = (bits & 0x8000) != 0 ? -1 : 1;
            float actual = widen.toFloat((short) bits);
            if (e == maxExponent) {
                assertEquals(m == 0, !Float.isNaN(actual), Integer.toHexString(bits));
                if (m == 0) assertEquals((float) (sign * Double.POSITIVE_INFINITY), actual);
                continue;
            }
            double expected = e == 0 ? sign * m * Math.pow(2, 1 - bias - mantissaBits)
                    : sign * Math.pow(2, e - bias) * (1 + m / (double) (1 << mantissaBits));
            assertEquals(Float.floatToRawIntBits((float) expected), Float.floatToRawIntBits(actual), Integer.toHexString(bits));
        }
    }

    private static void assertBitsEqual(float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(actual[i]),
                    "element " + i + ": expected " + expected[i] + " got " + actual[i]);
        }
    }
}
