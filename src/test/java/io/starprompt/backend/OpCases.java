package io.starprompt.backend;

import io.starprompt.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/** Every op of the Backend SPI, forward and backward, at awkward sizes. */
final class OpCases {
    /** One named case with its tolerance: |ours − ref| ≤ tol + eps·|ref|. */
    record Case(String name, double tol, double eps, OpHarness.Body body) {
        @Override
        public String toString() {
            return name;
        }
    }

    private OpCases() {}

    static List<Case> all() {
        List<Case> cases = new ArrayList<>();
        memory(cases);
        cases.addAll(storageCases());
        lossAndOptimisers(cases);
        retrieval(cases);
        componentWeighting(cases);
        promptMatch(cases);
        promptTokens(cases);
        return cases;
    }

    /** The cases of the ops that have bf16 storage forms. */
    private static List<Case> storageCases() {
        List<Case> cases = new ArrayList<>();
        gemm(cases);
        elementwise(cases);
        attention(cases);
        gathers(cases);
        return cases;
    }

    /**
     * The bf16 storage forms: the gemm, elementwise, attention and gather cases with every float
     * tensor bf16 except those that stay f32 in the models (statistics, log-sum-exp, prompts and
     * their gradients, trainable tables). Both sides store the same bf16 tensors, so they differ
     * by the f32-versus-f64 arithmetic before each rounding: one bf16 step (2⁻⁸ relative) flipped,
     * carried through at most one further op in a case.
     */
    static List<Case> bf16() {
        List<Case> cases = new ArrayList<>();
        for (Case c : storageCases()) {
            boolean chained = c.name().startsWith("attention");
            cases.add(new Case("bf16 " + c.name(), chained ? 2e-2 : 1e-3, chained ? 2e-2 : 8e-3, h -> {
                h.storage = io.starprompt.tensor.DType.BF16;
                c.body().run(h);
            }));
        }
        return cases;
    }

    private static void memory(List<Case> cases) {
        cases.add(new Case("copy + zero + zeros", 0, 0, h -> {
            Tensor src = h.rand(3, 37), dst = h.poisoned(3, 37), cleared = h.rand(41), fresh = h.backend.zeros(5, 7);
            h.backend.copy(src, dst);
            h.backend.zero(cleared);
            h.record("dst", dst);
            h.record("cleared", cleared);
            h.record("fresh", fresh);
            Tensor ints = h.backend.fromArray(h.ints(13, -50, 50), 13), intsCopy = h.poisonedInts(13);
            h.backend.copy(ints, intsCopy);
            h.record("intsCopy", intsCopy);
        }));
        cases.add(new Case("convert f32 -> f32", 0, 0, h -> {
            Tensor src = h.rand(2, 29), dst = h.poisoned(2, 29);
            h.backend.convert(src, dst);
            h.record("dst", dst);
        }));
        cases.add(new Case("convert f32 -> bf16 -> f32", 0, 0, OpCases::bf16RoundTrip));
    }

    /**
     * f32 → bf16 → f32 on a backend with bf16; on the reference backend, which has none, the same
     * values rounded to bf16 in Java (round to nearest, ties to even). The inputs include exact ties
     * (1 + 2⁻⁸ rounds down to 1, 1 + 3·2⁻⁸ up to 1 + 2⁻⁶) and values whose rounding carries into
     * the exponent.
     */
    private static void bf16RoundTrip(OpHarness h) {
        float[] ties = {1f + 0x1p-8f, 1f + 3 * 0x1p-8f, -(1f + 0x1p-8f), 0x1.ffp0f, 0x1.fffp0f, 0f, -0f};
        float[] random = h.values(301, 1e3);
        float[] values = java.util.Arrays.copyOf(ties, ties.length + random.length);
        System.arraycopy(random, 0, values, ties.length, random.length);
        if (h.backend instanceof io.starprompt.backend.reference.ReferenceBackend) {
            float[] rounded = new float[values.length];
            for (int i = 0; i < values.length; i++) rounded[i] = roundToBf16(values[i]);
            h.outputs.put("roundTrip", rounded);
            return;
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(h.backend.supports(io.starprompt.tensor.DType.BF16),
                () -> h.backend.name() + " has no bf16");
        Tensor src = h.backend.fromArray(values, values.length);
        Tensor half = h.backend.empty(io.starprompt.tensor.DType.BF16, values.length), back = h.poisoned(values.length);
        h.backend.convert(src, half);
        h.backend.convert(half, back);
        h.record("roundTrip", back);
    }

    /** The nearest bf16 value (ties to even) of a finite float, as a float. */
    static float roundToBf16(float x) {
        int bits = Float.floatToRawIntBits(x);
        bits += 0x7FFF + ((bits >>> 16) & 1);
        return Float.intBitsToFloat(bits & 0xFFFF0000);
    }

    private static void gemm(List<Case> cases) {
        int m = 17, n = 33, k = 65;
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                String t = (ta ? "T" : "N") + (tb ? "T" : "N");
                cases.add(new Case("gemm " + t + " accumulate", 1e-4, 1e-4, h -> {
                    Tensor a = h.rand(ta ? k : m, ta ? m : k);
                    Tensor b = h.rand(tb ? n : k, tb ? k : n);
                    Tensor c = h.rand(m, n);
                    h.backend.gemm(a, ta, b, tb, c, 0.7f, 0.3f);
                    h.record("c", c);
                }));
                cases.add(new Case("gemm " + t + " batched", 1e-4, 1e-4, h -> {
                    Tensor a = h.rand(3, ta ? k : m, ta ? m : k);
                    Tensor b = h.rand(3, tb ? n : k, tb ? k : n);
                    Tensor c = h.poisoned(3, m, n);
                    h.backend.gemm(a, ta, b, tb, c, 1f, 0f);
                    h.record("c", c);
                }));
            }
        }
        cases.add(new Case("gemm batched a, shared b", 1e-4, 1e-4, h -> {
            Tensor a = h.rand(5, 197, 64);
            Tensor b = h.rand(48, 64);
            Tensor c = h.poisoned(5, 197, 48);
            h.backend.gemm(a, false, b, true, c, 1f, 0f);
            h.record("c", c);
        }));
        cases.add(new Case("gemm f32 a, stored b, f32 c", 1e-4, 1e-4, h -> {
            Tensor a = h.randF32(3, 19, 40), b = h.rand(24, 40), c = h.poisonedF32(3, 19, 24);
            h.backend.gemm(a, false, b, true, c, 1f, 0f);
            h.record("c", c);
        }));
        cases.add(new Case("gemm shared a, batched b", 1e-4, 1e-4, h -> {
            Tensor a = h.rand(7, 31);
            Tensor b = h.rand(2, 31, 9);
            Tensor c = h.poisoned(2, 7, 9);
            h.backend.gemm(a, false, b, false, c, 1f, 0f);
            h.record("c", c);
        }));
    }

    private static void elementwise(List<Case> cases) {
        cases.add(new Case("addBias", 1e-6, 1e-6, h -> {
            Tensor x = h.rand(3, 197, 37);
            h.backend.addBias(x, h.rand(37));
            h.record("x", x);
        }));
        cases.add(new Case("axpy", 1e-6, 1e-6, h -> {
            Tensor y = h.rand(1001);
            h.backend.axpy(y, h.rand(1001), -0.37f);
            h.record("y", y);
        }));
        for (int cols : new int[] {64, 48, 769}) {
            cases.add(new Case("layerNorm fwd+bwd cols=" + cols, 1e-4, 1e-4, h -> {
                int rows = 3 * 17;
                Tensor x = h.randScaled(3, rows, cols);
                Tensor gamma = h.rand(cols), beta = h.rand(cols);
                Tensor y = h.poisoned(rows, cols), mean = h.poisonedF32(rows), rstd = h.poisonedF32(rows);
                h.backend.layerNorm(x, gamma, beta, 1e-6f, y, mean, rstd);
                Tensor dy = h.rand(rows, cols), dx = h.poisoned(rows, cols);
                Tensor dgamma = h.randF32(cols), dbeta = h.randF32(cols);
                h.backend.layerNormBackward(dy, x, gamma, mean, rstd, dx, dgamma, dbeta);
                h.record("y", y);
                h.record("mean", mean);
                h.record("rstd", rstd);
                h.record("dx", dx);
                h.record("dgamma", dgamma);
                h.record("dbeta", dbeta);
            }));
        }
        for (Activation act : Activation.values()) {
            cases.add(new Case(act + " fwd+bwd", 1e-5, 1e-5, h -> {
                Tensor x = h.randScaled(4, 5, 197, 13);
                Tensor y = h.poisoned(5, 197, 13), dx = h.poisoned(5, 197, 13);
                h.backend.activation(act, x, y);
                h.backend.activationBackward(act, x, h.rand(5, 197, 13), dx);
                h.record("y", y);
                h.record("dx", dx);
            }));
        }
        for (Activation act : Activation.values()) {
            cases.add(new Case("addBiasActivation " + act + " keeping the pre-activation", 1e-5, 1e-5, h -> {
                Tensor x = h.randScaled(4, 5, 197, 13), y = h.poisoned(5, 197, 13);
                h.backend.addBiasActivation(act, x, h.randScaled(2, 13), y);
                h.record("pre", x);
                h.record("y", y);
            }));
            cases.add(new Case("addBiasActivation " + act + " in place", 1e-5, 1e-5, h -> {
                Tensor x = h.randScaled(4, 3, 769);
                h.backend.addBiasActivation(act, x, h.randScaled(2, 769), x);
                h.record("y", x);
            }));
        }
        cases.add(new Case("softmax fwd+bwd", 1e-5, 1e-4, h -> {
            Tensor x = h.randScaled(6, 3, 197);
            Tensor y = h.poisoned(3, 197), dx = h.poisoned(3, 197);
            h.backend.softmax(x, y);
            h.backend.softmaxBackward(y, h.rand(3, 197), dx);
            h.record("y", y);
            h.record("dx", dx);
        }));
    }

    /** Attention configurations: batch, tokens, heads, head dim, prefix length, residual, causal. */
    private static void attention(List<Case> cases) {
        int[][] configs = {
            {2, 197, 2, 64, 0, 0, 0},
            {3, 17, 4, 32, 3, 1, 0},
            {1, 10, 3, 32, 0, 0, 1},
            {2, 17, 2, 64, 8, 1, 0},
            {5, 10, 1, 64, 0, 1, 0},
            {1, 197, 1, 32, 3, 0, 0},
        };
        for (int[] c : configs) {
            String name = String.format("attention B=%d N=%d H=%d hd=%d Lp=%d%s%s", c[0], c[1], c[2], c[3], c[4],
                    c[5] == 1 ? " residual" : "", c[6] == 1 ? " causal" : "");
            cases.add(new Case(name, 2e-4, 2e-4, h -> attentionCase(h, c[0], c[1], c[2], c[3], c[4], c[5] == 1,
                    c[6] == 1)));
        }
    }

    private static void attentionCase(OpHarness h, int b, int n, int heads, int hd, int lp, boolean residual,
            boolean causal) {
        int w = heads * hd;
        Tensor q = h.rand(b, n, w), k = h.rand(b, n, w), v = h.rand(b, n, w);
        // Prompts and their gradients are f32 (trainable) even where the activations are bf16.
        Tensor pk = lp > 0 ? h.randF32(b, lp, w) : null, pv = lp > 0 ? h.randF32(b, lp, w) : null;
        Tensor r = residual ? h.randF32(b, w) : null;
        AttentionInputs in = new AttentionInputs(q, k, v, pk, pv, r, heads, (float) (1 / Math.sqrt(hd)), causal);
        Tensor out = h.poisoned(b, n, w), lse = h.poisonedF32(b, heads, n);
        h.backend.attention(in, out, lse);
        Tensor dOut = h.rand(b, n, w);
        AttentionGrads g = new AttentionGrads(h.poisoned(b, n, w), h.poisoned(b, n, w), h.poisoned(b, n, w),
                lp > 0 ? h.poisonedF32(b, lp, w) : null, lp > 0 ? h.poisonedF32(b, lp, w) : null,
                residual ? h.poisonedF32(b, w) : null);
        h.backend.attentionBackward(in, out, lse, dOut, g);
        h.record("out", out);
        h.record("lse", lse);
        h.record("dq", g.dq());
        h.record("dk", g.dk());
        h.record("dv", g.dv());
        if (lp > 0) {
            h.record("dPrefixK", g.dPrefixK());
            h.record("dPrefixV", g.dPrefixV());
        }
        if (residual) h.record("dResidual", g.dResidual());
    }

    private static void gathers(List<Case> cases) {
        cases.add(new Case("embedding gather+scatterAdd", 1e-6, 1e-6, h -> {
            int vocab = 23, dim = 48;
            int[] ids = h.ints(31, 0, vocab);
            Tensor table = h.rand(vocab, dim), out = h.poisoned(ids.length, dim);
            h.backend.embeddingGather(table, ids, out);
            Tensor dTable = h.randF32(vocab, dim);
            h.backend.embeddingScatterAdd(h.randF32(ids.length, dim), ids, dTable);
            h.record("out", out);
            h.record("dTable", dTable);
        }));
        cases.add(new Case("patchify + unpatchify", 0, 0, h -> {
            Tensor images = h.rand(3, 3, 24, 24), patches = h.poisoned(3, 1 + 9, 3 * 8 * 8);
            h.backend.patchify(images, 8, patches);
            Tensor dImages = h.poisoned(3, 3, 24, 24);
            h.backend.unpatchify(h.rand(3, 10, 192), 8, dImages);
            h.record("patches", patches);
            h.record("dImages", dImages);
        }));
        cases.add(new Case("token sum+gather+scatterAdd", 1e-5, 1e-5, h -> {
            int b = 5, n = 197, dim = 33;
            Tensor x = h.rand(b, n, dim), sum = h.poisonedF32(b, dim), picked = h.poisoned(b, dim);
            int[] idx = h.ints(b, 0, n);
            h.backend.tokenSum(x, sum);
            h.backend.tokenGather(x, idx, picked);
            Tensor dx = h.rand(b, n, dim);
            h.backend.tokenScatterAdd(h.rand(b, dim), idx, dx);
            h.record("sum", sum);
            h.record("picked", picked);
            h.record("dx", dx);
        }));
    }

    private static void lossAndOptimisers(List<Case> cases) {
        cases.add(new Case("crossEntropy masked fwd+bwd", 1e-5, 1e-5, h -> {
            int b = 7, c = 13, lo = 3, hi = 11;
            Tensor logits = h.randScaled(5, b, c), d = h.poisoned(b, c);
            float loss = h.backend.crossEntropy(logits, h.ints(b, lo, hi), lo, hi, d);
            h.record("loss", loss);
            h.record("dlogits", d);
        }));
        cases.add(new Case("adam two steps", 1e-6, 1e-5, h -> {
            Tensor p = h.rand(301), m = h.backend.zeros(301), v = h.backend.zeros(301);
            AdamConfig cfg = new AdamConfig(1e-2f, 0.9f, 0.999f, 1e-8f, 0.01f);
            h.backend.adamStep(p, h.rand(301), m, v, cfg, 1);
            h.backend.adamStep(p, h.rand(301), m, v, cfg, 2);
            h.record("p", p);
            h.record("m", m);
            h.record("v", v);
        }));
        cases.add(new Case("sgd", 1e-6, 1e-6, h -> {
            Tensor p = h.rand(77);
            h.backend.sgdStep(p, h.rand(77), 0.05f, 0.1f);
            h.record("p", p);
        }));
    }

    /** Retrieval configurations: batch, classes, seen, past, d, dp, layers, modulate. */
    private static void retrieval(List<Case> cases) {
        int[][] configs = {
            {5, 7, 7, 2, 32, 48, 3, 1},
            {5, 7, 6, 0, 32, 48, 2, 0},
            {1, 1, 1, 0, 16, 8, 2, 1},
            {4, 200, 150, 40, 64, 64, 2, 1},
        };
        for (int[] c : configs) {
            String name = String.format("retrieval B=%d C=%d seen=%d past=%d d=%d dp=%d L=%d%s", c[0], c[1], c[2],
                    c[3], c[4], c[5], c[6], c[7] == 1 ? " modulated" : "");
            cases.add(new Case(name, 1e-4, 1e-4, h -> retrievalCase(h, c[0], c[1], c[2], c[3], c[4], c[5], c[6],
                    c[7] == 1)));
        }
    }

    private static void retrievalCase(OpHarness h, int b, int classes, int seen, int past, int d, int dp, int layers,
            boolean modulate) {
        Tensor q = h.positive(0.1, 2.0, b, d);
        Tensor keys = unitRows(h, seen, d);
        Tensor a = h.randScaled(2, layers, classes, d), p = h.rand(layers, classes, dp);
        RetrievalInputs in = new RetrievalInputs(q, keys, a, p, seen, modulate);
        Tensor sims = h.poisoned(layers, b, seen), sel = h.poisonedInts(layers, b), sp = h.poisoned(layers, b, dp);
        h.backend.retrieval(in, sims, sel, sp);
        Tensor dA = h.poisoned(layers, classes, d), dP = h.poisoned(layers, classes, dp);
        h.backend.retrievalBackward(in, sims, sel, h.rand(layers, b, dp), past, dA, dP);
        h.record("sims", sims);
        h.record("sel", sel);
        h.record("sp", sp);
        h.record("dA", dA);
        h.record("dP", dP);
    }


    /** One component weighting configuration; zeroNorms puts a zero query and a zero trained key at the floor. */
    private record Weighting(int batch, int components, int used, int from, int width, int row, int layers,
            boolean zeroNorms) {
        @Override
        public String toString() {
            return String.format("componentWeighting B=%d M=%d used=%d from=%d D=%d R=%d L=%d%s", batch, components, used,
                    from, width, row, layers, zeroNorms ? " zero norms" : "");
        }
    }

    private static void componentWeighting(List<Case> cases) {
        for (Weighting w : List.of(new Weighting(5, 6, 4, 2, 16, 24, 3, false), new Weighting(3, 5, 5, 0, 32, 40, 2, false),
                new Weighting(1, 1, 1, 0, 8, 8, 1, false), new Weighting(7, 12, 9, 9, 24, 48, 2, false),
                new Weighting(4, 6, 6, 3, 16, 24, 2, true))) {
            cases.add(new Case(w.toString(), 1e-4, 1e-4, h -> componentWeightingCase(h, w)));
        }
    }

    private static void componentWeightingCase(OpHarness h, Weighting w) {
        int b = w.batch(), m = w.components(), used = w.used(), from = w.from(), d = w.width(), row = w.row();
        int layers = w.layers();
        float[] q = h.values(b * d, 2), keys = h.values(layers * m * d, 1);
        if (w.zeroNorms()) {
            for (int i = 0; i < d; i++) q[i] = 0f;
            for (int i = 0; i < d; i++) keys[from * d + i] = 0f;
        }
        Tensor queries = h.backend.fromArray(q, b, d);
        ComponentInputs in = new ComponentInputs(queries, h.backend.fromArray(keys, layers, m, d),
                h.rand(layers, m, d), h.rand(layers, m, row), used);
        Tensor alpha = h.poisoned(layers, b, used), out = h.poisoned(layers, b, row);
        h.backend.componentWeighting(in, alpha, out);
        Tensor dKeys = h.poisoned(layers, m, d), dAttention = h.poisoned(layers, m, d);
        Tensor dComponents = h.poisoned(layers, m, row);
        h.backend.componentWeightingBackward(in, h.rand(layers, b, row), from, dKeys, dAttention, dComponents);
        h.record("alpha", alpha);
        h.record("out", out);
        h.record("dKeys", dKeys);
        h.record("dAttention", dAttention);
        h.record("dComponents", dComponents);
    }

    private static Tensor unitRows(OpHarness h, int rows, int cols) {
        float[] v = h.values(rows * cols, 1);
        for (int r = 0; r < rows; r++) {
            double norm = 0;
            for (int j = 0; j < cols; j++) norm += v[r * cols + j] * v[r * cols + j];
            for (int j = 0; j < cols; j++) v[r * cols + j] /= (float) Math.sqrt(norm);
        }
        return h.backend.fromArray(v, rows, cols);
    }

    /** Cosine top-N match configurations: batch, pool, width, topN, batch-wise vote, a zero key. */
    private static void promptMatch(List<Case> cases) {
        int[][] configs = {
            {5, 10, 48, 5, 0, 0},
            {7, 10, 33, 3, 1, 0},
            {4, 10, 769, 5, 0, 0},
            {3, 1, 16, 1, 0, 1},
            {6, 12, 8, 4, 1, 1},
        };
        for (int[] c : configs) {
            String name = String.format("cosineMatch fwd+bwd B=%d M=%d D=%d N=%d%s%s", c[0], c[1], c[2], c[3],
                    c[4] == 1 ? " batchwise" : "", c[5] == 1 ? " zero key" : "");
            cases.add(new Case(name, 1e-5, 1e-4, h -> cosineMatchCase(h, c[0], c[1], c[2], c[3], c[4] == 1,
                    c[5] == 1)));
        }
    }

    private static void cosineMatchCase(OpHarness h, int b, int pool, int d, int topN, boolean batchwise,
            boolean zeroKey) {
        Tensor q = h.randScaled(3, b, d);
        float[] k = h.values(pool * d, 0.5);
        if (zeroKey) java.util.Arrays.fill(k, 0, d, 0f); // below the norm clamp: no projection term
        Tensor keys = h.backend.fromArray(k, pool, d);
        Tensor scores = h.poisoned(b, pool), sel = h.poisonedInts(b, topN);
        h.backend.cosineMatch(q, keys, topN, batchwise, scores, sel);
        Tensor dKeys = h.poisoned(pool, d), dq = h.poisoned(b, d);
        h.backend.cosineMatchBackward(q, keys, sel, h.rand(b, topN), dKeys, dq);
        h.record("scores", scores);
        h.record("selected", sel);
        h.record("dKeys", dKeys);
        h.record("dQueries", dq);
    }

    /** Concatenation configurations: batch, tokens, pool, prompt length, topN, width, shift. */
    private static void promptTokens(List<Case> cases) {
        int[][] configs = {
            {3, 10, 10, 5, 5, 33, 1},
            {2, 1, 4, 2, 3, 16, 0},
            {4, 17, 3, 1, 2, 769, 1},
        };
        for (int[] c : configs) {
            String name = String.format("promptConcat fwd+bwd B=%d T=%d M=%d L=%d N=%d D=%d%s", c[0], c[1], c[2],
                    c[3], c[4], c[5], c[6] == 1 ? " shift" : "");
            cases.add(new Case(name, 1e-6, 1e-6, h -> promptConcatCase(h, c[0], c[1], c[2], c[3], c[4], c[5],
                    c[6] == 1)));
        }
        cases.add(new Case("tokenRangeMean fwd+bwd", 1e-6, 1e-5, h -> {
            int b = 3, n = 31, d = 37, from = 1, count = 25;
            Tensor x = h.rand(b, n, d), mean = h.poisoned(b, d), dx = h.poisoned(b, n, d);
            h.backend.tokenRangeMean(x, from, count, mean);
            h.backend.tokenRangeMeanBackward(h.rand(b, d), from, count, dx);
            h.record("mean", mean);
            h.record("dx", dx);
        }));
    }

    private static void promptConcatCase(OpHarness h, int b, int t, int pool, int length, int topN, int d,
            boolean shift) {
        Tensor tokens = h.rand(b, t, d), prompts = h.rand(pool, length, d);
        int[] ids = h.ints(b * topN, 0, pool); // repeats included: a prompt chosen twice sums both rows
        Tensor sel = h.backend.fromArray(ids, b, topN);
        int seq = t + topN * length;
        Tensor out = h.poisoned(b, seq, d);
        h.backend.promptConcat(tokens, prompts, sel, shift ? h.rand(d) : null, out);
        Tensor dPool = h.poisoned(pool, length, d), dTokens = h.poisoned(b, t, d);
        h.backend.promptConcatBackward(h.rand(b, seq, d), sel, dPool, dTokens);
        h.record("out", out);
        h.record("dPool", dPool);
        h.record("dTokens", dTokens);
    }
}
