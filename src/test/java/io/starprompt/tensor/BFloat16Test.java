package io.starprompt.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.backend.Backend;
import io.starprompt.backend.cpu.CpuBackend;
import io.starprompt.backend.reference.ReferenceBackend;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Rounding to bf16: nearest, ties to even, NaN kept, overflow to infinity; and the CPU backend's
 * native conversion rounds exactly as the Java one (the reference backend's storage layer).
 */
class BFloat16Test {
    /** The float with bf16 significand bits m (7 bits after the point) and 16 extra low bits. */
    private static float bits(int high16, int low16) {
        return Float.intBitsToFloat(high16 << 16 | low16);
    }

    @Test
    void roundsToNearestWithTiesToEven() {
        int one = 0x3F80; // 1.0f
        assertEquals(1f, BFloat16.round(bits(one, 0x7FFF)), "below half a step: down");
        assertEquals(bits(one + 1, 0), BFloat16.round(bits(one, 0x8001)), "above half a step: up");
        assertEquals(1f, BFloat16.round(bits(one, 0x8000)), "tie, even below: down");
        assertEquals(bits(one + 2, 0), BFloat16.round(bits(one + 1, 0x8000)), "tie, odd below: up to even");
        assertEquals(-1f, BFloat16.round(bits(0xBF80, 0x8000)), "sign does not change the tie rule");
    }

    @Test
    void specialValuesSurvive() {
        assertTrue(Float.isNaN(BFloat16.round(Float.NaN)));
        assertTrue(Float.isNaN(BFloat16.round(bits(0x7F80, 0x0001))), "a NaN with only low payload bits stays NaN");
        assertEquals(Float.POSITIVE_INFINITY, BFloat16.round(Float.POSITIVE_INFINITY));
        assertEquals(Float.NEGATIVE_INFINITY, BFloat16.round(Float.NEGATIVE_INFINITY));
        assertEquals(Float.POSITIVE_INFINITY, BFloat16.round(Float.MAX_VALUE), "beyond the largest bf16: infinity");
        assertEquals(0x8000, BFloat16.fromFloat(-0f) & 0xFFFF, "negative zero keeps its sign");
        float sub = Float.MIN_NORMAL / 4; // a subnormal that bf16 holds exactly
        assertEquals(sub, BFloat16.round(sub));
    }

    @Test
    void nativeConversionRoundsAsTheJavaOne() {
        Random rnd = new Random(3);
        float[] v = new float[4096];
        for (int i = 0; i < v.length; i++) v[i] = Float.intBitsToFloat(rnd.nextInt());
        v[0] = bits(0x3F80, 0x8000);
        v[1] = bits(0x3F81, 0x8000);
        v[2] = Float.MAX_VALUE;
        float[] expected = new float[v.length];
        for (int i = 0; i < v.length; i++) expected[i] = BFloat16.round(v[i]);
        for (Backend be : new Backend[] {new CpuBackend(), new ReferenceBackend()}) {
            try (be; TensorScope scope = TensorScope.open()) {
                Tensor f = be.fromArray(v, v.length), h = be.empty(DType.BF16, v.length), back = be.empty(v.length);
                be.convert(f, h);
                be.convert(h, back);
                assertArrayEquals(expected, be.toFloatArray(back), be.name());
                assertArrayEquals(expected, be.toFloatArray(h), be.name() + " reading bf16 directly");
            }
        }
    }
}
