package io.starprompt.backend;

import io.starprompt.tensor.DType;
import io.starprompt.tensor.Tensor;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * Runs one op case on one backend with inputs drawn from a seeded generator, so that two
 * backends given the same seed see identical inputs. Outputs are poisoned (NaN) before the call
 * and collected by name for comparison.
 */
final class OpHarness {
    /** The body of one parity case. */
    @FunctionalInterface
    interface Body {
        void run(OpHarness h);
    }

    final Backend backend;
    private final Random random;
    final Map<String, float[]> outputs = new LinkedHashMap<>();
    /** The dtype of the float tensors that rand, randScaled, positive and poisoned make (the F32 forms always f32). */
    DType storage = DType.F32;

    OpHarness(Backend backend, long seed) {
        this.backend = backend;
        this.random = new Random(seed);
    }

    /** Uniform values in [-scale, scale]. */
    float[] values(int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) ((random.nextDouble() * 2 - 1) * scale);
        return v;
    }

    Tensor rand(long... shape) {
        return randScaled(1.0, shape);
    }

    Tensor randScaled(double scale, long... shape) {
        return stored(randF32Scaled(scale, shape));
    }

    /** As {@link #rand}, f32 whatever the storage (statistics, trainable tensors). */
    Tensor randF32(long... shape) {
        return randF32Scaled(1.0, shape);
    }

    private Tensor randF32Scaled(double scale, long... shape) {
        return backend.fromArray(values(Math.toIntExact(Tensor.numel(shape)), scale), shape);
    }

    /** f32 values as a tensor of the storage dtype (rounded to nearest even for bf16). */
    private Tensor stored(Tensor f32) {
        if (storage == DType.F32) return f32;
        Tensor t = backend.empty(storage, f32.shape());
        backend.convert(f32, t);
        return t;
    }

    /** Positive values in [lo, hi]. */
    Tensor positive(double lo, double hi, long... shape) {
        float[] v = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < v.length; i++) v[i] = (float) (lo + random.nextDouble() * (hi - lo));
        return stored(backend.fromArray(v, shape));
    }

    int[] ints(int n, int lo, int hi) {
        int[] v = new int[n];
        for (int i = 0; i < n; i++) v[i] = lo + random.nextInt(hi - lo);
        return v;
    }

    /** An output buffer filled with NaN, so that an element the kernel forgets fails. */
    Tensor poisoned(long... shape) {
        return stored(poisonedF32(shape));
    }

    /** As {@link #poisoned}, f32 whatever the storage. */
    Tensor poisonedF32(long... shape) {
        float[] nan = new float[Math.toIntExact(Tensor.numel(shape))];
        Arrays.fill(nan, Float.NaN);
        return backend.fromArray(nan, shape);
    }

    Tensor poisonedInts(long... shape) {
        int[] bad = new int[Math.toIntExact(Tensor.numel(shape))];
        Arrays.fill(bad, Integer.MIN_VALUE);
        return backend.fromArray(bad, shape);
    }

    void record(String name, Tensor t) {
        if (t.dtype() == DType.I32) {
            int[] v = backend.toIntArray(t);
            float[] f = new float[v.length];
            for (int i = 0; i < v.length; i++) f[i] = v[i];
            outputs.put(name, f);
        } else {
            outputs.put(name, backend.toFloatArray(t));
        }
    }

    void record(String name, float value) {
        outputs.put(name, new float[] {value});
    }
}
