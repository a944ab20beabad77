package io.starprompt.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.starprompt.TestBackends;
import io.starprompt.backend.reference.ReferenceBackend;
import io.starprompt.tensor.TensorScope;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every op of every backend (default kernels, and "name:naive" for the naive variants) against the float64 ReferenceBackend, on
 * fresh random inputs. The seed is printed in every failure; {@code -Dstarprompt.test.seed=N}
 * replays it. CUDA cases are skipped, with the reason, where no device is usable.
 */
class OpParityTest {
    private static final long SEED = Long.getLong("starprompt.test.seed", System.nanoTime());
    private static final ReferenceBackend REFERENCE = new ReferenceBackend();
    private static final List<Backend> OPENED = new ArrayList<>();

    static Stream<Arguments> cases() {
        List<Arguments> args = new ArrayList<>();
        for (String target : List.of("cpu", "cpu:naive", "cuda", "cuda:naive")) {
            for (OpCases.Case c : OpCases.all()) args.add(Arguments.of(target, c));
        }
        // The bf16 forms, mixed with f32 where the models mix them: every backend has them all.
        for (String target : List.of("cpu", "cpu:naive", "cuda", "cuda:naive")) {
            for (OpCases.Case c : OpCases.bf16()) args.add(Arguments.of(target, c));
        }
        return args.stream();
    }

    @AfterAll
    static void closeBackends() {
        OPENED.forEach(Backend::close);
    }

    private static synchronized Backend open(String target) {
        Backend b = TestBackends.open(target);
        OPENED.add(b);
        return b;
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("cases")
    void matchesReference(String target, OpCases.Case c) {
        Backend backend = open(target);
        long seed = SEED ^ c.name().hashCode();
        Map<String, float[]> expected = run(REFERENCE, seed, c);
        Map<String, float[]> actual = run(backend, seed, c);
        assertEquals(expected.keySet(), actual.keySet(), "outputs recorded");
        for (String output : expected.keySet()) {
            compare(c, output, expected.get(output), actual.get(output), seed);
        }
    }

    /**
     * Every public op is run by some parity case: each case is run once on the reference backend
     * under the profiler, which records every public op by name. {@code empty} is the one op left
     * out: it allocates without writing, so it has no values to compare.
     */
    @Test
    void everyPublicOpHasAParityCase() {
        Map<String, Set<String>> casesByOp = new TreeMap<>();
        for (OpCases.Case c : OpCases.all()) {
            REFERENCE.profiler().start();
            try {
                run(REFERENCE, 1, c);
            } finally {
                for (Profiler.Event e : REFERENCE.profiler().stop().events()) {
                    casesByOp.computeIfAbsent(e.op(), k -> new TreeSet<>()).add(c.name());
                }
            }
        }
        casesByOp.put("empty", Set.of("(allocation only)"));
        List<String> gaps = PublicOps.uncovered(Method::getName, casesByOp, m -> Set.of());
        assertTrue(gaps.isEmpty(), "public Backend ops without a case in OpCases.all():\n  " + String.join("\n  ", gaps));
    }

    /** Runs a case on a backend and returns its named outputs. */
    static Map<String, float[]> run(Backend backend, long seed, OpCases.Case c) {
        try (TensorScope scope = TensorScope.open()) {
            OpHarness h = new OpHarness(backend, seed);
            c.body().run(h);
            return h.outputs;
        }
    }

    /** Fails naming the case, output, element and seed where ours leaves the case's tolerance. */
    static void compare(OpCases.Case c, String output, float[] ref, float[] ours, long seed) {
        assertEquals(ref.length, ours.length, output + " length");
        for (int i = 0; i < ref.length; i++) {
            double allowed = c.tol() + c.eps() * Math.abs(ref[i]);
            if (Double.isNaN(ours[i]) || Double.isNaN(ref[i]) || Math.abs((double) ours[i] - ref[i]) > allowed) {
                fail(String.format("%s: %s[%d] = %s, reference %s (allowed error %.3g); seed %d", c.name(), output, i,
                        ours[i], ref[i], allowed, seed));
            }
        }
    }
}
