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
        return backend.fromArray(values(Math.toIntExact(Tensor.numel(shape)), scale), shape);
    }

    /** Positive values in [lo, hi]. */
    Tensor positive(double lo, double hi, long... shape) {
        float[] v = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < v.length; i++) v[i] = (float) (lo + random.nextDouble() * (hi - lo));
        return backend.fromArray(v, shape);
    }

    int[] ints(int n, int lo, int hi) {
        int[] v = new int[n];
        for (int i = 0; i < n; i++) v[i] = lo + random.nextInt(hi - lo);
        return v;
    }

    /** An output buffer filled with NaN, so that an element the kernel forgets fails. */
    Tensor poisoned(long... shape) {
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
