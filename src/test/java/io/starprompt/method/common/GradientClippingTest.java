package io.starprompt.method.common;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.starprompt.TestBackends;
import io.starprompt.backend.Backend;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Global-norm clipping against the same formula evaluated on host arrays in float64. */
class GradientClippingTest {
    static java.util.stream.Stream<String> backends() {
        return TestBackends.all();
    }

    private static float[] random(Random rnd, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (scale * rnd.nextGaussian());
        return v;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void scalesEveryGradientByTheSameFactorWhenTheNormIsTooLarge(String backend) {
        Random rnd = new Random(7);
        float[] a = random(rnd, 3 * 41, 1), b = random(rnd, 1001, 0.5), c = random(rnd, 5, 2);
        double expectedNorm = Math.sqrt(squares(a) + squares(b) + squares(c));
        double factor = 1.0 / (expectedNorm + GradientClipping.NORM_EPS);
        try (Backend be = TestBackends.open(backend); TensorScope scope = TensorScope.open()) {
            Tensor ta = be.fromArray(a, 3, 41), tb = be.fromArray(b, 1001), tc = be.fromArray(c, 5);
            double norm = GradientClipping.clip(be, List.of(ta, tb, tc), 1.0);
            assertEquals(expectedNorm, norm, 1e-4 * expectedNorm);
            assertArrayEquals(scaled(a, factor), be.toFloatArray(ta), 1e-6f);
            assertArrayEquals(scaled(b, factor), be.toFloatArray(tb), 1e-6f);
            assertArrayEquals(scaled(c, factor), be.toFloatArray(tc), 1e-6f);
            assertEquals(1.0, GradientClipping.globalNorm(be, List.of(ta, tb, tc)), 1e-4);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void leavesGradientsBelowTheLimitUntouched(String backend) {
        float[] a = random(new Random(3), 64, 0.01);
        try (Backend be = TestBackends.open(backend); TensorScope scope = TensorScope.open()) {
            Tensor ta = be.fromArray(a, 64);
            GradientClipping.clip(be, List.of(ta), 1.0);
            assertArrayEquals(a, be.toFloatArray(ta), 0f);
            assertThrows(IllegalArgumentException.class, () -> GradientClipping.clip(be, List.of(ta), 0));
        }
    }

    private static double squares(float[] v) {
        double s = 0;
        for (float x : v) s += (double) x * x;
        return s;
    }

    private static float[] scaled(float[] v, double factor) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) out[i] = (float) (v[i] * factor);
        return out;
    }
}
