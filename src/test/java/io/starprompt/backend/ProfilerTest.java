package io.starprompt.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.TestBackends;
import io.starprompt.method.TinyBackbones;
import io.starprompt.model.vit.Activations;
import io.starprompt.model.vit.Prompts;
import io.starprompt.tensor.DType;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The op-level profiler: every call of a known op sequence is recorded once, in order, with its
 * variant, shapes, bytes and FLOPs, on every backend; nothing is recorded while it is off; scopes
 * name the ops of model code by layer. No assertion is made on times beyond their being
 * non-negative numbers.
 */
class ProfilerTest {
    static List<String> backends() {
        return TestBackends.all().toList();
    }

    /** One expected event: op, the op whose variant it shows (or null for "-"), shapes, bytes, FLOPs. */
    private record Expect(String op, String variantOf, String shapes, long bytes, double flops) {}

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void recordsEveryCallOfAKnownSequence(String name) {
        try (Backend be = TestBackends.open(name); TensorScope scope = TensorScope.open()) {
            Random rnd = new Random(11);
            Tensor a = rand(be, rnd, 3, 4), b = rand(be, rnd, 5, 4), c = be.empty(3, 5), bias = rand(be, rnd, 5);
            Tensor x = rand(be, rnd, 2, 3, 4), gamma = rand(be, rnd, 4), beta = rand(be, rnd, 4);
            Tensor y = be.empty(2, 3, 4), mean = be.empty(6), rstd = be.empty(6);
            // Two heads of 32 (a head dim every backend has a fast kernel for).
            Tensor q = rand(be, rnd, 1, 3, 64), k = rand(be, rnd, 1, 3, 64), v = rand(be, rnd, 1, 3, 64);
            Tensor r = rand(be, rnd, 1, 64), out = be.empty(1, 3, 64), lse = be.empty(1, 2, 3);
            AttentionInputs in = new AttentionInputs(q, k, v, null, null, r, 2, 0.7f, false);
            AttentionGrads g = new AttentionGrads(be.empty(1, 3, 64), be.empty(1, 3, 64), be.empty(1, 3, 64), null, null,
                    be.empty(1, 64));
            Tensor logits = rand(be, rnd, 2, 3), dlogits = be.empty(2, 3);
            Tensor ids = be.empty(DType.I32, 4);

            Profiler p = be.profiler();
            assertFalse(p.isRecording());
            p.start();
            assertTrue(p.isRecording());
            be.gemm(a, false, b, true, c, 1f, 0f);
            be.gemm(a, false, b, true, c, 0.5f, 1f);
            be.addBias(c, bias);
            be.layerNorm(x, gamma, beta, 1e-5f, y, mean, rstd);
            be.softmax(y, y);
            be.attention(in, out, lse);
            be.attentionBackward(in, out, lse, rand(be, rnd, 1, 3, 64), g); // the fromArray inside is recorded too
            be.crossEntropy(logits, new int[] {0, 2}, 0, 3, dlogits);
            be.copy(x, y);
            be.zero(c);
            be.toFloatArray(c);
            be.toIntArray(ids);
            Profiler.Report report = p.stop();
            assertFalse(p.isRecording());
            be.axpy(y, x, 1f); // after stop: not recorded

            String attentionShapes = "q[1,3,64] k,v[1,3,64] heads=2 residual[1,64]";
            double pairs = 3 * 3 * 2; // queries × keys × heads × batch
            long qkv = 3 * 768 + 256; // q, k, v [1,3,64] and the residual [1,64], f32
            List<Expect> expected = List.of(
                    new Expect("gemm", "gemm", "a[3,4] bᵀ[5,4] c[3,5]", 48 + 80 + 60, 2 * 3 * 5 * 4),
                    new Expect("gemm", "gemm", "a[3,4] bᵀ[5,4] c[3,5]", 48 + 80 + 60 + 60, 2 * 3 * 5 * 4),
                    new Expect("addBias", null, "x[3,5] bias[5]", 2 * 60 + 20, 0),
                    new Expect("layerNorm", null, "x[2,3,4] gamma[4] y[2,3,4]", 96 + 16 + 16 + 96 + 24 + 24, 0),
                    new Expect("softmax", null, "x[2,3,4] y[2,3,4]", 2 * 96, 0),
                    new Expect("attention", "attention", attentionShapes, qkv + 768 + 24, 4 * pairs * 32),
                    new Expect("fromArray", null, "t[1,3,64]", 768, 0),
                    new Expect("attentionBackward", "attention", attentionShapes,
                            qkv + 768 + 24 + 768 + qkv, 10 * pairs * 32),
                    new Expect("crossEntropy", null, "logits[2,3] dlogits[2,3]", 24 + 24 + 8, 0),
                    new Expect("copy", null, "src[2,3,4] dst[2,3,4]", 2 * 96, 0),
                    new Expect("zero", null, "t[3,5]", 60, 0),
                    new Expect("toFloatArray", null, "t[3,5]", 60, 0),
                    new Expect("toIntArray", null, "t[4]", 16, 0));
            List<Profiler.Event> events = report.events();
            List<String> ops = new ArrayList<>();
            for (Profiler.Event e : events) ops.add(e.op());
            assertEquals(expected.stream().map(Expect::op).toList(), ops, "the recorded op sequence");
            for (int i = 0; i < expected.size(); i++) {
                Expect want = expected.get(i);
                Profiler.Event got = events.get(i);
                String where = name + " event " + i + " (" + want.op() + ")";
                assertEquals(want.variantOf() == null ? "-" : be.kernels().selected(want.variantOf()), got.variant(), where);
                assertEquals(want.shapes(), got.shapes(), where);
                assertEquals(want.bytes(), got.bytes(), where);
                assertEquals(want.flops(), got.flops(), 1e-9, where);
                assertEquals("", got.scope(), where);
                assertTrue(got.ms() >= 0 && Double.isFinite(got.ms()), where + ": time " + got.ms());
            }
            assertEquals("-", events.get(2).variant());

            // Rows sum the calls per op, variant and shapes: the two GEMMs are one row.
            Profiler.Row gemm = report.rows("gemm").get(0);
            assertEquals(2, gemm.calls());
            assertEquals(188 + 248, gemm.bytes());
            assertEquals(240, gemm.flops(), 1e-9);
            assertEquals(expected.size() - 1, report.rows().size());
            assertEquals(be.name(), report.backend());
            String table = report.table();
            assertTrue(table.contains("attentionBackward"), table);
            assertTrue(table.contains(attentionShapes), table);
            assertTrue(report.summary().lines().count() >= 3, report.summary());

            // A new start forgets the old recording.
            p.start();
            be.axpy(y, x, 1f);
            assertEquals(List.of("axpy"), p.stop().events().stream().map(Profiler.Event::op).toList());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void recordsNothingWhileOff(String name) {
        try (Backend be = TestBackends.open(name); TensorScope scope = TensorScope.open()) {
            Random rnd = new Random(12);
            Profiler p = be.profiler();
            assertSame(Profiler.Scope.NONE, p.scope("vit"));
            assertSame(Profiler.Scope.NONE, p.scope("block", 3));
            Tensor a = rand(be, rnd, 8, 8), c = be.empty(8, 8);
            try (Profiler.Scope s = p.scope("vit")) {
                be.gemm(a, false, a, false, c, 1f, 0f);
                be.softmax(c, c);
                be.toFloatArray(c);
            }
            assertEquals("", p.currentScope());
            assertTrue(p.report().events().isEmpty());
            assertEquals(0, p.report().totalMs());
            // Started and stopped: what ran after the stop is not in the report either.
            p.start();
            be.softmax(c, c);
            p.stop();
            be.softmax(c, c);
            be.gemm(a, false, a, false, c, 1f, 0f);
            assertEquals(1, p.report().events().size());
        }
    }

    @Test
    void scopesNameOpsByLayer() {
        try (Backend be = Backends.create("cpu"); TensorScope scope = TensorScope.open()) {
            Tensor x = rand(be, new Random(3), 2, 5);
            Profiler p = be.profiler().start();
            try (Profiler.Scope vit = p.scope("vit")) {
                try (Profiler.Scope block = p.scope("block", 3)) {
                    assertEquals("vit.block3", p.currentScope());
                    be.softmax(x, x);
                }
                be.softmax(x, x);
            }
            be.softmax(x, x);
            List<Profiler.Event> events = p.stop().events();
            assertEquals(List.of("vit.block3.softmax", "vit.softmax", "softmax"),
                    events.stream().map(Profiler.Event::qualifiedName).toList());
            assertEquals("vit.block3", events.get(0).scope());
            assertEquals("", p.currentScope());
        }
    }

    @Test
    void modelOpsCarryTheirLayer() {
        try (TinyBackbones tiny = TinyBackbones.open(); TensorScope scope = TensorScope.open()) {
            Backend be = tiny.be;
            int s = tiny.imageSize(), depth = tiny.vit.config().depth(), w = tiny.vit.config().width();
            Random rnd = new Random(5);
            Tensor images = rand(be, rnd, 2, 3, s, s);
            List<Tensor> prompts = new ArrayList<>();
            for (int l = 0; l < depth; l++) prompts.add(rand(be, rnd, 2, w));
            be.profiler().start();
            try (Activations act = tiny.vit.forwardPooled(images, Prompts.residual(prompts))) {
                tiny.vit.backwardPooled(act, rand(be, rnd, 2, w), false).close();
            }
            Profiler.Report r = be.profiler().stop();
            List<String> names = r.events().stream().map(Profiler.Event::qualifiedName).toList();
            assertTrue(names.contains("vit.patch_embed.patchify"), names.toString());
            assertTrue(names.contains("vit.norm.layerNorm"), names.toString());
            for (int l = 0; l < depth; l++) {
                assertTrue(names.contains("vit.block" + l + ".attention"), "block " + l + ": " + names);
            }
            assertTrue(names.contains("vit.block" + (depth - 1) + ".attentionBackward"), names.toString());
            assertEquals(depth, r.rows("attention").stream().mapToInt(Profiler.Row::calls).sum());
        }
    }

    /** The unfused residual kernel is named beside the attention kernel it wraps, and only where it runs. */
    @Test
    void unfusedResidualIsNamedInTheProfile() {
        try (Backend be = Backends.create("cpu:attention=naive,residual=naive"); TensorScope scope = TensorScope.open()) {
            Random rnd = new Random(6);
            Tensor q = rand(be, rnd, 1, 3, 8), out = be.empty(1, 3, 8), lse = be.empty(1, 2, 3);
            be.profiler().start();
            be.attention(new AttentionInputs(q, q, q, null, null, rand(be, rnd, 1, 8), 2, 0.5f, false), out, lse);
            be.attention(new AttentionInputs(q, q, q, null, null, null, 2, 0.5f, false), out, lse);
            List<String> variants = be.profiler().stop().rows("attention").stream().map(Profiler.Row::variant).sorted()
                    .toList();
            assertEquals(List.of("naive", "naive+residual:naive"), variants);
        }
    }

    @Test
    void nvtxRangesAreBalancedAndHarmless() {
        try (Backend be = Backends.create("cpu"); TensorScope scope = TensorScope.open()) {
            Tensor x = rand(be, new Random(4), 4, 4);
            Profiler p = be.profiler().nvtx(true);
            assertTrue(p.nvtxEnabled());
            try (Profiler.Scope vit = p.scope("vit"); Profiler.Scope block = p.scope("block", 0)) {
                be.softmax(x, x);
                assertEquals("vit.block0", p.currentScope());
            }
            // NVTX alone does not record.
            assertTrue(p.report().events().isEmpty());
            p.nvtx(false);
            assertSame(Profiler.Scope.NONE, p.scope("vit"));
        }
    }

    private static Tensor rand(Backend be, Random rnd, long... shape) {
        float[] v = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < v.length; i++) v[i] = rnd.nextFloat() * 2 - 1;
        return be.fromArray(v, shape);
    }
}
