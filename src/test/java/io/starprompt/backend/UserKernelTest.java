package io.starprompt.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.starprompt.TestBackends;
import io.starprompt.backend.reference.ReferenceBackend;
import io.starprompt.backend.reference.AttentionKernels;
import io.starprompt.backend.reference.DenseKernels;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Kernel variants written by a user ({@link OpKernel}): registered under a name, selected like the
 * built-in ones (at run time or by {@code -Dstarprompt.kernel.<op>}), run in place of the built-in
 * kernel, agree with the reference on the op-parity cases of their op, and show in the profile
 * under their name beside the built-in variants.
 */
class UserKernelTest {
    private static final long SEED = Long.getLong("starprompt.test.seed", System.nanoTime());
    private static final ReferenceBackend REFERENCE = new ReferenceBackend();

    @AfterAll
    static void closeReference() {
        REFERENCE.close();
    }

    /** GEMM in plain Java loops with double accumulation, on Java arrays read through the backend's API. */
    static final class JavaGemm implements OpKernel.Gemm {
        int calls;

        @Override
        public void gemm(Backend be, Backend.GemmShape s, Tensor a, Tensor b, Tensor c, float alpha, float beta) {
            calls++;
            float[] av = be.toFloatArray(a), bv = be.toFloatArray(b), cv = be.toFloatArray(c);
            int m = s.m(), n = s.n(), k = s.k();
            for (int t = 0; t < s.batch(); t++) {
                long ao = t * s.strideA(), bo = t * s.strideB(), co = t * s.strideC();
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        double acc = 0;
                        for (int p = 0; p < k; p++) {
                            float x = av[(int) (ao + (s.transA() ? (long) p * m + i : (long) i * k + p))];
                            float y = bv[(int) (bo + (s.transB() ? (long) j * k + p : (long) p * n + j))];
                            acc += (double) x * y;
                        }
                        int idx = (int) (co + (long) i * n + j);
                        cv[idx] = (float) (alpha * acc + (beta == 0 ? 0 : (double) beta * cv[idx]));
                    }
                }
            }
            try (Tensor result = be.fromArray(cv, c.shape())) {
                be.copy(result, c);
            }
        }
    }

    /** Attention on the library's Java reference kernels, through Java arrays. */
    static final class JavaAttention implements OpKernel.Attention {
        int calls;

        @Override
        public void forward(Backend be, AttentionInputs in, Tensor out, Tensor lse) {
            calls++;
            float[] o = new float[(int) out.numel()], l = new float[(int) lse.numel()];
            AttentionKernels.attentionForward(read(be, in.q()), read(be, in.k()), read(be, in.v()), read(be, in.prefixK()),
                    read(be, in.prefixV()), read(be, in.residual()), o, l, in.batch(), in.queries(), in.keys(),
                    in.prefixLength(), in.heads(), in.headDim(), in.scale(), in.causal());
            write(be, out, o);
            write(be, lse, l);
        }

        @Override
        public void backward(Backend be, AttentionInputs in, Tensor out, Tensor lse, Tensor dOut, AttentionGrads g) {
            calls++;
            float[] dq = zeros(g.dq()), dk = zeros(g.dk()), dv = zeros(g.dv());
            float[] dpk = zeros(g.dPrefixK()), dpv = zeros(g.dPrefixV()), dr = zeros(g.dResidual());
            AttentionKernels.attentionBackward(read(be, in.q()), read(be, in.k()), read(be, in.v()),
                    read(be, in.prefixK()), read(be, in.prefixV()), read(be, in.residual()), null, null,
                    read(be, dOut), dq, dk, dv, dpk, dpv, dr, in.batch(), in.queries(), in.keys(), in.prefixLength(),
                    in.heads(), in.headDim(), in.scale(), in.causal());
            write(be, g.dq(), dq);
            write(be, g.dk(), dk);
            write(be, g.dv(), dv);
            write(be, g.dPrefixK(), dpk);
            write(be, g.dPrefixV(), dpv);
            write(be, g.dResidual(), dr);
        }

        private static float[] read(Backend be, Tensor t) {
            return t == null ? null : be.toFloatArray(t);
        }

        private static float[] zeros(Tensor t) {
            return t == null ? null : new float[(int) t.numel()];
        }

        private static void write(Backend be, Tensor t, float[] v) {
            if (t == null) return;
            try (Tensor src = be.fromArray(v, t.shape())) {
                be.copy(src, t);
            }
        }
    }

    static Stream<Arguments> cases() {
        return TestBackends.all().flatMap(backend -> OpCases.all().stream()
                .filter(c -> c.name().startsWith("gemm") || c.name().startsWith("attention"))
                .map(c -> Arguments.of(backend, c)));
    }

    /** Op-parity: the user variant selected, each GEMM and attention case against the float64 reference. */
    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("cases")
    void userVariantRunsAndMatchesTheReference(String backend, OpCases.Case c) {
        try (Backend be = TestBackends.open(backend)) {
            JavaGemm gemm = new JavaGemm();
            JavaAttention attention = new JavaAttention();
            be.kernels().register("java-loops", gemm).register("java-reference", attention);
            assertTrue(be.kernels().variants().get("gemm").contains("java-loops"));
            assertTrue(be.kernels().isUserVariant("gemm", "java-loops"));
            be.kernels().select("gemm", "java-loops");
            be.kernels().select("attention", "java-reference");

            long seed = SEED ^ c.name().hashCode();
            Map<String, float[]> expected = OpParityTest.run(REFERENCE, seed, c);
            be.profiler().start();
            Map<String, float[]> actual = OpParityTest.run(be, seed, c);
            Profiler.Report report = be.profiler().stop();

            boolean isGemm = c.name().startsWith("gemm");
            assertTrue((isGemm ? gemm.calls : attention.calls) > 0, "the user kernel ran");
            String op = isGemm ? "gemm" : "attention";
            String variant = isGemm ? "java-loops" : "java-reference";
            assertFalse(report.rows(op).isEmpty(), report.table());
            for (Profiler.Row r : report.rows(op)) assertEquals(variant, r.variant(), report.table());
            // Its inner calls of backend ops (its reads, writes and copies) are its own time, not rows.
            assertTrue(report.rows("copy").isEmpty(), report.table());

            assertEquals(expected.keySet(), actual.keySet());
            for (String output : expected.keySet()) OpParityTest.compare(c, output, expected.get(output), actual.get(output), seed);
        }
    }

    @Test
    void theProfileShowsTheUserVariantBesideTheBuiltInOnes() {
        try (Backend be = Backends.create("cpu"); TensorScope scope = TensorScope.open()) {
            be.kernels().register("java-loops", new JavaGemm());
            Random rnd = new Random(1);
            Tensor a = rand(be, rnd, 16, 32), b = rand(be, rnd, 32, 8), c = be.empty(16, 8);
            be.profiler().start();
            for (String variant : be.kernels().variants().get("gemm")) {
                be.kernels().select("gemm", variant);
                be.gemm(a, false, b, false, c, 1f, 0f);
            }
            Profiler.Report report = be.profiler().stop();
            assertEquals(List.of("openblas", "naive", "java-loops"),
                    report.events().stream().map(Profiler.Event::variant).toList());
            String table = report.table();
            for (String v : List.of("openblas", "naive", "java-loops")) assertTrue(table.contains(v), table);
        }
    }

    @Test
    void aGloballyRegisteredVariantIsSelectedByTheSystemProperty() {
        String key = KernelRegistry.PROPERTY_PREFIX + "gemm";
        JavaGemm gemm = new JavaGemm();
        KernelRegistry.registerGlobally("java-global", gemm);
        String before = System.getProperty(key);
        System.setProperty(key, "java-global");
        try (Backend be = Backends.create("cpu"); TensorScope scope = TensorScope.open()) {
            assertEquals("java-global", be.kernels().selected("gemm"));
            Random rnd = new Random(2);
            Tensor a = rand(be, rnd, 4, 5), b = rand(be, rnd, 5, 3), c = be.empty(4, 3);
            be.gemm(a, false, b, false, c, 1f, 0f);
            assertEquals(1, gemm.calls);
            float[] want = new float[12];
            DenseKernels.gemm(false, false, 4, 3, 5, 1f, be.toFloatArray(a), 0, be.toFloatArray(b), 0, 0f, want, 0, 1);
            float[] got = be.toFloatArray(c);
            for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 1e-5);
        } finally {
            if (before == null) System.clearProperty(key);
            else System.setProperty(key, before);
            assertTrue(KernelRegistry.unregisterGlobally("gemm", "java-global"));
        }
        try (Backend later = Backends.create("cpu")) {
            assertFalse(later.kernels().variants().get("gemm").contains("java-global"));
        }
    }

    @Test
    void registrationRefusesTakenNamesAndUnknownOps() {
        try (Backend be = Backends.create("cpu")) {
            String taken = assertThrows(IllegalArgumentException.class,
                    () -> be.kernels().register("naive", new JavaGemm())).getMessage();
            assertTrue(taken.contains("already exists"), taken);
            be.kernels().register("mine", new JavaGemm());
            assertThrows(IllegalArgumentException.class, () -> be.kernels().register("mine", new JavaGemm()));
            assertThrows(IllegalArgumentException.class, () -> be.kernels().register(" ", new JavaGemm()));
            assertThrows(IllegalArgumentException.class, () -> be.kernels().register("x", null));
            String unknown = assertThrows(IllegalArgumentException.class,
                    () -> be.kernels().select("gemm", "theirs")).getMessage();
            assertTrue(unknown.contains("mine"), "the choices include the user variant: " + unknown);
        }
        try (NativeBoundaryTest.TrapBackend trap = new NativeBoundaryTest.TrapBackend()) {
            String msg = assertThrows(IllegalArgumentException.class,
                    () -> trap.kernels().register("mine", new JavaGemm())).getMessage();
            assertTrue(msg.contains("no op 'gemm'"), msg);
        }
    }


    private static Tensor rand(Backend be, Random rnd, long... shape) {
        float[] v = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < v.length; i++) v[i] = rnd.nextFloat() * 2 - 1;
        return be.fromArray(v, shape);
    }
}
