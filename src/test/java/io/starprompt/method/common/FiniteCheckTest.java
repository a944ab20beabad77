package io.starprompt.method.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.backend.Backend;
import io.starprompt.backend.Backends;
import io.starprompt.method.TrainingDivergedException;
import io.starprompt.tensor.Tensor;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * The divergence check: every NaN or infinity, wherever it sits in a small or a summed gradient,
 * is found and located; finite gradients pass, even when their sums overflow; nothing stays
 * allocated.
 */
class FiniteCheckTest {
    static Stream<String> backends() {
        return Stream.concat(Stream.of("reference", "cpu"), Backends.available().contains("cuda") ? Stream.of("cuda")
                : Stream.empty());
    }

    private static float[] values(int n, long seed) {
        Random rnd = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextGaussian();
        return v;
    }

    @ParameterizedTest
    @MethodSource("backends")
    void everyNonFiniteElementIsFoundAndLocated(String backend) {
        try (Backend be = Backends.create(backend)) {
            long[] big = {3, 5, 700}; // summed over its 15 rows
            long[] small = {2, 6};    // copied as it is
            long[] flat = {5000};     // rank 1: copied as it is
            long live = be.memoryStats().liveBytes();
            for (long[] shape : List.of(big, small, flat)) {
                int n = (int) Tensor.numel(shape);
                for (int at : new int[] {0, n / 2 + 1, n - 1}) {
                    for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                        float[] v = values(n, at);
                        v[at] = bad;
                        try (Tensor ok = be.fromArray(values(40, 1), 4, 10); Tensor g = be.fromArray(v, shape)) {
                            TrainingDivergedException e = assertThrows(TrainingDivergedException.class,
                                    () -> FiniteCheck.gradients(be, List.of("the gradient of A", "the gradient of P"),
                                            List.of(ok, g)));
                            assertEquals("the gradient of P", e.tensor());
                            String value = Float.isNaN(bad) ? "NaN" : bad > 0 ? "+Inf" : "-Inf";
                            assertTrue(e.found().startsWith(value + " (element "), e.found());
                            assertTrue(e.found().contains(Tensor.shapeString(shape)), e.found());
                            assertEquals(at, flatIndex(e.found(), shape), e.found());
                        }
                    }
                }
            }
            assertEquals(live, be.memoryStats().liveBytes(), "the check leaves nothing allocated");
        }
    }

    /** The element named in "NaN (element [i, j, k] of [..])" as a flat index. */
    private static long flatIndex(String found, long[] shape) {
        String inner = found.substring(found.indexOf("[") + 1, found.indexOf("]"));
        String[] parts = inner.split(", ");
        long flat = 0;
        for (int d = 0; d < shape.length; d++) flat = flat * shape[d] + Long.parseLong(parts[d]);
        return flat;
    }

    @ParameterizedTest
    @MethodSource("backends")
    void finiteGradientsPassEvenWhenTheirSumsOverflow(String backend) {
        try (Backend be = Backends.create(backend)) {
            float[] huge = new float[3 * 2000];
            java.util.Arrays.fill(huge, 3e38f); // every column sums to +Inf, every element is finite
            try (Tensor g = be.fromArray(huge, 3, 2000); Tensor h = be.fromArray(values(9000, 2), 9, 1000)) {
                FiniteCheck.gradients(be, List.of("g", "h"), List.of(g, h));
            }
        }
    }

    @Test
    void theLossIsCheckedForNaNAndBothInfinities() {
        FiniteCheck.loss(1e30);
        for (double bad : new double[] {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
            TrainingDivergedException e = assertThrows(TrainingDivergedException.class, () -> FiniteCheck.loss(bad));
            assertEquals("the loss", e.tensor());
        }
    }

    @Test
    void theMessageCountsFromOneAndNamesEverything() {
        TrainingDivergedException e = TrainingDivergedException.found("the loss", "NaN");
        assertEquals("training diverged: the loss holds NaN", e.getMessage());
        TrainingDivergedException full = e.at("second stage", 1, 0, 4).inMethod("star-prompt").at("other", 7, 7, 7);
        assertEquals("star-prompt: training diverged at task 2, epoch 1, step 5 (second stage): the loss holds NaN",
                full.getMessage());
        assertEquals(1, full.task());
        assertEquals(0, full.epoch());
        assertEquals(4, full.step());
        assertTrue(full.withNote("kept").getMessage().endsWith("NaN; kept"));
    }
}
