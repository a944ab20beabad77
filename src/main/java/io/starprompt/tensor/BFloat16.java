package io.starprompt.tensor;

/**
 * bfloat16 values as the top 16 bits of a float: widening is exact, narrowing rounds to nearest,
 * ties to even (the rounding of every bf16 store in this library, native kernels included).
 */
public final class BFloat16 {
    private BFloat16() {}

    /**
     * The bf16 bits nearest to f (ties to even); a NaN stays a quiet NaN.
     *
     * @param f a float
     * @return its bf16 bits
     */
    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7FFFFFFF) > 0x7F800000) return (short) ((bits >>> 16) | 0x0040);
        bits += 0x7FFF + ((bits >>> 16) & 1);
        return (short) (bits >>> 16);
    }

    /**
     * The float a bf16 value stands for (exact).
     *
     * @param bits bf16 bits
     * @return the value
     */
    public static float toFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /**
     * f rounded to the nearest bf16 value, as a float.
     *
     * @param f a float
     * @return the bf16 value nearest to f
     */
    public static float round(float f) {
        return toFloat(fromFloat(f));
    }
}
