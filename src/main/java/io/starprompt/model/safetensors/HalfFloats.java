package io.starprompt.model.safetensors;

/**
 * Exact conversions from the 16-bit float formats to {@code float}. Every F16 and BF16 value is
 * representable as a float, so no rounding happens. (Java 17 has no {@code Float.float16ToFloat}.)
 */
final class HalfFloats {
    private HalfFloats() {}

    /** IEEE 754 binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits. */
    static float f16ToFloat(short bits) {
        int h = bits & 0xFFFF;
        int sign = (h & 0x8000) << 16;
        int exponent = (h >>> 10) & 0x1F;
        int mantissa = h & 0x3FF;
        if (exponent == 0x1F) {
            // infinity (mantissa 0) or NaN; keep the payload in the top mantissa bits
            return Float.intBitsToFloat(sign | 0x7F800000 | (mantissa << 13));
        }
        if (exponent == 0) {
            // zero or subnormal: mantissa · 2^-24, exact in float (which has 24 bits of precision)
            float magnitude = mantissa * 0x1p-24f;
            return sign == 0 ? magnitude : -magnitude;
        }
        // normal: rebias the exponent from 15 to 127 and widen the mantissa from 10 to 23 bits
        return Float.intBitsToFloat(sign | ((exponent - 15 + 127) << 23) | (mantissa << 13));
    }

    /** bfloat16 is the top half of a float32, so widening is a shift. */
    static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }
}
