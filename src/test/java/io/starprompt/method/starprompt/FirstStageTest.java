package io.starprompt.method.starprompt;

import static io.starprompt.method.common.mixture.GaussianMixture.Density.REFERENCE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.GoldenSet;
import io.starprompt.GoldenTest;
import io.starprompt.backend.Backend;
import io.starprompt.backend.Backends;
import io.starprompt.method.common.CosineClassifier;
import io.starprompt.method.common.mixture.GaussianMixture;
import io.starprompt.model.clip.Clip;
import io.starprompt.model.tokenizer.ClipTokenizer;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The first stage (ALGORITHM.md §3) on the tiny golden CLIP, on the reference and cpu backends: one
 * training step against the {@code stage1.*} golden tensors, a finite-difference check of the
 * loss with the orthogonality term (past &gt; 0), learning on synthetic features, the end-of-task
 * alignment on a two-task split, and the key store round trip. Sizes come from the golden files.
 */
class FirstStageTest extends GoldenTest {

    static Stream<String> backends() {
        return Stream.of("reference", "cpu");
    }

    private static Clip load(Backend be) throws IOException {
        return Clip.load(be, golden.path("clip.safetensors"), golden.path("clip_config.json"));
    }

    // ------------------------------------------------------------------ (1) golden step

    /**
     * generate.py's stage1: ctx = clip.coop.ctx, features of clip.pixel_values, CE over all C
     * classes (past = 0, seen = C). The loss and gradient match, and the step is ctx − lr·grad.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void oneStepMatchesTheGolden(String backendName) throws IOException {
        int[][] ids = golden.clipInputIds();
        int classes = ids.length;
        int[] labels = golden.ints("stage1.labels");
        float[] ctx0 = golden.get("clip.coop.ctx");
        FirstStageConfig cfg = FirstStageConfig.defaults();
        try (Backend be = Backends.create(backendName); Clip clip = load(be);
                FirstStage stage = new FirstStage(clip, ids, cfg, REFERENCE, ctx0); TensorScope scope = TensorScope.open()) {
            GoldenSet.assertShape("ctx", golden.shape("clip.coop.ctx"), stage.ctx().shape());
            Tensor q = stage.imageFeatures(upload(be, "clip.pixel_values"));
            GoldenSet.assertForward("clip.image_features", golden.get("clip.image_features"), be.toFloatArray(q));
            int base = scope.size();

            FirstStage.Gradient g = stage.gradient(q, labels, 0, classes);
            assertEquals(base, scope.size(), "gradient leaves nothing allocated");
            GoldenSet.assertForward("stage1.loss", golden.get("stage1.loss"), new float[] {g.loss()});
            assertEquals(0f, g.orthogonality(), "no ortho term at task 0");
            GoldenSet.assertGradient("stage1.grad_ctx", golden.get("stage1.grad_ctx"), g.dCtx());

            float loss = stage.trainStep(q, labels, 0, classes);
            assertEquals(base, scope.size(), "trainStep leaves nothing allocated");
            GoldenSet.assertForward("stage1.loss (trainStep)", golden.get("stage1.loss"), new float[] {loss});
            float[] after = be.toFloatArray(stage.ctx());
            float[] impliedGrad = new float[after.length];
            float[] expectedAfter = new float[after.length];
            for (int i = 0; i < after.length; i++) {
                impliedGrad[i] = (float) (((double) ctx0[i] - after[i]) / cfg.lr());
                expectedAfter[i] = ctx0[i] - cfg.lr() * g.dCtx()[i];
            }
            // ctx_after = ctx − lr·grad: the update implies the golden gradient (up to the rounding of ctx)
            GoldenSet.assertGradient("stage1.grad_ctx from the SGD update", golden.get("stage1.grad_ctx"), impliedGrad,
                    1e-3);
            assertArrayEquals(expectedAfter, after, 1e-7f, "plain SGD: ctx − lr·grad");
        }
    }

    // ------------------------------------------------------------------ (2) ortho gradient

    @Test
    void orthogonalityGradientMatchesFiniteDifferences() {
        int dim = 7, past = 3, seen = 5;
        SplittableRandom rnd = new SplittableRandom(11);
        float[] ctx = new float[(seen + 2) * dim]; // rows beyond seen must not matter
        for (int i = 0; i < ctx.length; i++) ctx[i] = (float) rnd.nextGaussian();
        float[] grad = new float[(seen - past) * dim];
        double loss = FirstStage.orthogonality(ctx, dim, past, seen, grad);
        double expected = 0;
        for (int i = past; i < seen; i++) {
            for (int j = 0; j < past; j++) {
                double dot = 0;
                for (int k = 0; k < dim; k++) dot += (double) ctx[i * dim + k] * ctx[j * dim + k];
                expected += dot * dot;
            }
        }
        assertEquals(expected / ((seen - past) * past), loss, 1e-9 * (1 + expected), "mean of squared cross products");
        float[] fd = new float[grad.length];
        float[] scratch = new float[grad.length];
        double h = 1e-2;
        for (int r = past; r < seen; r++) {
            for (int k = 0; k < dim; k++) {
                float[] plus = ctx.clone(), minus = ctx.clone();
                plus[r * dim + k] += (float) h;
                minus[r * dim + k] -= (float) h;
                double hp = plus[r * dim + k] - ctx[r * dim + k], hm = ctx[r * dim + k] - minus[r * dim + k];
                fd[(r - past) * dim + k] = (float) ((FirstStage.orthogonality(plus, dim, past, seen, scratch)
                        - FirstStage.orthogonality(minus, dim, past, seen, scratch)) / (hp + hm));
            }
        }
        GoldenSet.assertGradient("d ortho / d ctx_cur", fd, grad, 1e-5);

        float[] none = new float[seen * dim];
        Arrays.fill(none, 1f);
        assertEquals(0.0, FirstStage.orthogonality(ctx, dim, 0, seen, none), "task 0 has no ortho term");
        for (float v : none) assertEquals(0f, v);
    }

    /**
     * With past &gt; 0 the full training loss (masked CE through CLIP + λ1·ortho) against central
     * differences, on enlarged ctx so that the ortho term weighs; and the ortho part of the
     * gradient is λ1 times {@link FirstStage#orthogonality}'s gradient.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void lossGradientWithOrthoMatchesFiniteDifferences(String backendName) throws IOException {
        int[][] ids = golden.clipInputIds();
        int classes = ids.length, past = 2, cur = classes - past;
        int width = (int) golden.shape("clip.coop.ctx")[2];
        float[] ctx0 = golden.get("clip.coop.ctx");
        for (int i = 0; i < ctx0.length; i++) ctx0[i] *= 20f; // std ≈ 0.4: ortho term of order λ1
        int[] labels = golden.ints("stage1.labels");
        for (int b = 0; b < labels.length; b++) labels[b] = past + labels[b] % cur;
        FirstStageConfig cfg = FirstStageConfig.defaults();
        try (Backend be = Backends.create(backendName); Clip clip = load(be);
                FirstStage stage = new FirstStage(clip, ids, cfg, REFERENCE, ctx0);
                FirstStage plain = new FirstStage(clip, ids, cfg.toBuilder().set(FirstStageConfig::lambdaOrtho, 0f)
                        .build(), REFERENCE, ctx0);
                TensorScope scope = TensorScope.open()) {
            Tensor q = stage.imageFeatures(upload(be, "clip.pixel_values"));
            FirstStage.Gradient g = stage.gradient(q, labels, past, classes);
            assertEquals(cur * width, g.dCtx().length, "gradient of the current rows only");
            assertTrue(g.orthogonality() > 0.1f, "ortho term is active: " + g.orthogonality());
            assertEquals(g.crossEntropy() + cfg.lambdaOrtho() * g.orthogonality(), g.loss(), 1e-5f * (1 + g.loss()));
            // the CE is the masked one: softmax over the current classes [past, C) only
            double maskedCe = maskedCrossEntropy(be.toFloatArray(q), be.toFloatArray(stage.keys(classes)), labels, past,
                    classes, stage.featureDim(), Math.exp(clip.logitScale()));
            assertEquals(maskedCe, g.crossEntropy(), 1e-5 * (1 + maskedCe), "CE over the current classes");
            int base = scope.size();

            // ortho part of the gradient = λ1 · analytic ortho gradient
            FirstStage.Gradient g0 = plain.gradient(q, labels, past, classes);
            assertEquals(g.crossEntropy(), g0.crossEntropy(), "same CE without λ1");
            float[] orthoGrad = new float[cur * width];
            FirstStage.orthogonality(ctx0, width, past, classes, orthoGrad);
            float[] orthoPart = new float[orthoGrad.length];
            for (int i = 0; i < orthoPart.length; i++) {
                orthoPart[i] = (g.dCtx()[i] - g0.dCtx()[i]) / cfg.lambdaOrtho();
            }
            GoldenSet.assertGradient("ortho part of dCtx", orthoGrad, orthoPart, 1e-4);
            double orthoShare = l2(orthoGrad) * cfg.lambdaOrtho() / l2(g.dCtx());
            assertTrue(orthoShare > 0.2, "the ortho term is a real part of the gradient: " + orthoShare);

            // central differences over every current ctx entry: of the whole loss, and of the
            // masked CE alone (λ1 = 0), whose gradient is otherwise dwarfed by the ortho term here
            GoldenSet.assertGradient("finite differences of CE + λ1·ortho", centralDifferences(stage, q, labels, past,
                    ctx0, width), g.dCtx(), 5e-3);
            GoldenSet.assertGradient("finite differences of the masked CE (past > 0)", centralDifferences(plain, q,
                    labels, past, ctx0, width), g0.dCtx(), 5e-3);
            assertEquals(base, scope.size(), "nothing left allocated");

            // the step moves only the current rows
            stage.trainStep(q, labels, past, classes);
            float[] after = be.toFloatArray(stage.ctx());
            assertArrayEquals(Arrays.copyOf(ctx0, past * width), Arrays.copyOf(after, past * width),
                    "past ctx rows are frozen");
            for (int i = 0; i < cur * width; i++) {
                assertEquals(ctx0[past * width + i] - cfg.lr() * g.dCtx()[i], after[past * width + i], 1e-6f);
            }
            assertEquals(base, scope.size(), "trainStep leaves nothing allocated");
        }
    }

    /** Mean CE of scale·cos(q_b, k_c) with the softmax over classes [past, seen) only, in float64. */
    private static double maskedCrossEntropy(float[] q, float[] keys, int[] labels, int past, int seen, int d,
            double scale) {
        double total = 0;
        for (int b = 0; b < labels.length; b++) {
            double qn = 0;
            for (int j = 0; j < d; j++) qn += (double) q[b * d + j] * q[b * d + j];
            qn = Math.sqrt(qn);
            double[] z = new double[seen - past];
            double max = Double.NEGATIVE_INFINITY;
            for (int c = past; c < seen; c++) {
                double dot = 0, kn = 0;
                for (int j = 0; j < d; j++) {
                    dot += (double) q[b * d + j] * keys[c * d + j];
                    kn += (double) keys[c * d + j] * keys[c * d + j];
                }
                z[c - past] = scale * dot / (qn * Math.sqrt(kn));
                max = Math.max(max, z[c - past]);
            }
            double sum = 0;
            for (double v : z) sum += Math.exp(v - max);
            total += max + Math.log(sum) - z[labels[b] - past];
        }
        return total / labels.length;
    }

    /** d loss / d ctx of the current rows [past, C) by central differences (h = 1e-2); restores ctx. */
    private static float[] centralDifferences(FirstStage stage, Tensor q, int[] labels, int past, float[] ctx,
            int width) {
        int classes = stage.classes();
        float h = 1e-2f;
        float[] fd = new float[(classes - past) * width];
        for (int i = 0; i < fd.length; i++) {
            int at = past * width + i;
            float[] plus = ctx.clone(), minus = ctx.clone();
            plus[at] += h;
            minus[at] -= h;
            stage.loadCtx(plus);
            double lp = stage.gradient(q, labels, past, classes).loss();
            stage.loadCtx(minus);
            double lm = stage.gradient(q, labels, past, classes).loss();
            fd[i] = (float) ((lp - lm) / ((double) plus[at] - minus[at]));
        }
        stage.loadCtx(ctx);
        return fd;
    }

    // ------------------------------------------------------------------ (3) learning

    /** Synthetic raw features: 4·u_c + N(0, 1) per dimension, u_c a random unit direction per class. */
    private static float[] syntheticFeatures(int[] labels, int classes, int d, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] dirs = new float[classes * d];
        for (int i = 0; i < dirs.length; i++) dirs[i] = (float) rnd.nextGaussian();
        CosineClassifier.normalizeRows(dirs, d);
        SplittableRandom noise = new SplittableRandom(seed + 1);
        float[] x = new float[labels.length * d];
        for (int b = 0; b < labels.length; b++) {
            for (int j = 0; j < d; j++) x[b * d + j] = 4f * dirs[labels[b] * d + j] + (float) noise.nextGaussian();
        }
        return x;
    }

    private static float accuracy(Backend be, Tensor features, Tensor keys, int[] labels, int past) {
        int d = (int) features.dim(1), k = (int) keys.dim(0);
        float[] x = be.toFloatArray(features), key = be.toFloatArray(keys);
        int correct = 0;
        for (int b = 0; b < labels.length; b++) {
            int best = -1;
            double bestCos = Double.NEGATIVE_INFINITY, norm = 0;
            for (int j = 0; j < d; j++) norm += (double) x[b * d + j] * x[b * d + j];
            for (int c = past; c < k; c++) {
                double dot = 0;
                for (int j = 0; j < d; j++) dot += (double) x[b * d + j] * key[c * d + j];
                double cos = dot / Math.sqrt(norm);
                if (cos > bestCos) {
                    bestCos = cos;
                    best = c;
                }
            }
            if (best == labels[b]) correct++;
        }
        return (float) correct / labels.length;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void trainingStepsLearnSyntheticClasses(String backendName) throws IOException {
        int[][] ids = golden.clipInputIds();
        int classes = ids.length, perClass = 16;
        int[] labels = new int[classes * perClass];
        for (int i = 0; i < labels.length; i++) labels[i] = i % classes;
        FirstStageConfig cfg = FirstStageConfig.builder().set(FirstStageConfig::lr, 0.5f).build();
        try (Backend be = Backends.create(backendName); Clip clip = load(be);
                FirstStage stage = new FirstStage(clip, ids, cfg, REFERENCE, 7L); TensorScope scope = TensorScope.open()) {
            int d = stage.featureDim();
            assertEquals(golden.metaInt("clip", "projection_dim"), d, "d is CLIP's projection dim");
            Tensor q = be.fromArray(syntheticFeatures(labels, classes, d, 3L), labels.length, d);
            float before = accuracy(be, q, stage.keys(classes), labels, 0);
            int base = scope.size();
            float first = Float.NaN, last = Float.NaN;
            for (int step = 0; step < 30; step++) {
                last = stage.trainStep(q, labels, 0, classes);
                if (step == 0) first = last;
                assertTrue(Float.isFinite(last), "loss at step " + step);
            }
            assertEquals(base, scope.size(), "30 steps leave nothing allocated");
            float after = accuracy(be, q, stage.keys(classes), labels, 0);
            float chance = 1f / classes;
            assertTrue(last < 0.5f * first, "loss " + first + " → " + last);
            assertTrue(after >= 0.9f, "training accuracy after 30 steps " + after + " (untrained " + before + ")");
            assertTrue(after >= before + 0.3f, "trained keys beat the untrained ones: " + before + " → " + after);
            assertTrue(after >= 3 * chance, "well above chance " + chance);
        }
    }

    // ------------------------------------------------------------------ (4) end of task

    private static Map<Integer, float[]> featuresByClass(int from, int to, int perClass, int classes, int d, long seed) {
        int[] labels = new int[classes * perClass];
        for (int i = 0; i < labels.length; i++) labels[i] = i % classes;
        float[] all = syntheticFeatures(labels, classes, d, seed);
        Map<Integer, float[]> out = new HashMap<>();
        for (int c = from; c < to; c++) {
            float[] x = new float[perClass * d];
            int n = 0;
            for (int b = 0; b < labels.length; b++) {
                if (labels[b] == c) System.arraycopy(all, b * d, x, d * n++, d);
            }
            out.put(c, x);
        }
        return out;
    }

    private static float[] rows(float[] x, int width, int from, int to) {
        return Arrays.copyOfRange(x, from * width, to * width);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void endTaskAlignsOnlyCurrentContextsAndFreezesKeys(String backendName) throws IOException {
        int[][] ids = golden.clipInputIds();
        int classes = ids.length, split = classes / 2, perClass = 24;
        int width = (int) golden.shape("clip.coop.ctx")[2];
        // 2 epochs of 3 × 16 or 6 × 16 samples in batches of 20: the last batch is partial
        FirstStageConfig cfg = FirstStageConfig.builder().set(FirstStageConfig::lr, 0.1f)
                .set(FirstStageConfig::alignLr, 0.5f).set(FirstStageConfig::alignEpochs, 2)
                .set(FirstStageConfig::samplesPerClass, 16).set(FirstStageConfig::replayBatch, 20)
                .set(FirstStageConfig::mogIterations, 20).build();
        SplittableRandom rnd = new SplittableRandom(5);
        try (Backend be = Backends.create(backendName); Clip clip = load(be);
                FirstStage stage = new FirstStage(clip, ids, cfg, REFERENCE, 9L); TensorScope scope = TensorScope.open()) {
            int d = stage.featureDim();
            int base = scope.size();
            assertThrows(IllegalStateException.class, () -> stage.cachedKeys(1), "nothing fixed yet");
            assertThrows(IllegalStateException.class,
                    () -> stage.endTask(featuresByClass(split, classes, perClass, classes, d, 1), split, classes, rnd),
                    "task 1 before task 0: past classes have no mixture");

            // ---- task 0: classes [0, split)
            trainTask(be, stage, 0, split, perClass, d);
            float[] ctxBefore0 = be.toFloatArray(stage.ctx());
            stage.endTask(featuresByClass(0, split, perClass, classes, d, 1), 0, split, rnd);
            assertEquals(base, scope.size(), "endTask leaves nothing allocated");
            float[] ctxAfter0 = be.toFloatArray(stage.ctx());
            assertFalse(Arrays.equals(rows(ctxBefore0, width, 0, split), rows(ctxAfter0, width, 0, split)),
                    "alignment moved the current ctx");
            assertArrayEquals(rows(ctxBefore0, width, split, classes), rows(ctxAfter0, width, split, classes),
                    "future ctx untouched");
            assertEquals(cfg.alignEpochs(), stage.lastAlignmentLosses().size());
            for (int c = 0; c < classes; c++) {
                assertEquals(c < split, stage.keyFixed(c), "key of class " + c + " fixed");
                if (c < split) assertNotNull(stage.mixture(c));
                else assertNull(stage.mixture(c));
            }
            float[] keys0 = stage.cachedKeys(split);
            assertArrayEquals(keys0, be.toFloatArray(stage.keys(split)), "keys come from the cache");
            assertUnitRows(keys0, d);
            assertKeysMatchContext(be, clip, ids, stage, 0, split, keys0);
            GaussianMixture mixture0 = stage.mixture(0);
            assertThrows(IllegalStateException.class, () -> stage.trainStep(be.zeros(1, d), new int[] {0}, 0, split),
                    "fixed classes are not current any more");

            // ---- task 1: classes [split, C)
            trainTask(be, stage, split, classes, perClass, d);
            float[] ctxTrained1 = be.toFloatArray(stage.ctx());
            assertArrayEquals(rows(ctxAfter0, width, 0, split), rows(ctxTrained1, width, 0, split),
                    "training task 1 leaves past ctx bit-for-bit");
            assertArrayEquals(keys0, Arrays.copyOf(be.toFloatArray(stage.keys(classes)), split * d),
                    "past keys unchanged while training");
            int beforeEnd = scope.size();
            stage.endTask(featuresByClass(split, classes, perClass, classes, d, 1), split, classes, rnd);
            assertEquals(beforeEnd, scope.size(), "endTask leaves nothing allocated");
            float[] ctxAfter1 = be.toFloatArray(stage.ctx());
            assertArrayEquals(rows(ctxTrained1, width, 0, split), rows(ctxAfter1, width, 0, split),
                    "alignment leaves past ctx bit-for-bit");
            assertFalse(Arrays.equals(rows(ctxTrained1, width, split, classes), rows(ctxAfter1, width, split, classes)),
                    "alignment moved the current ctx");
            float[] keysAll = stage.cachedKeys(classes);
            assertArrayEquals(keys0, Arrays.copyOf(keysAll, split * d), "past keys bit-for-bit");
            assertArrayEquals(keysAll, be.toFloatArray(stage.keys(classes)));
            assertKeysMatchContext(be, clip, ids, stage, split, classes, Arrays.copyOfRange(keysAll, split * d, classes * d));
            assertTrue(mixture0 == stage.mixture(0), "past mixtures are never refitted");
            for (float loss : stage.lastAlignmentLosses()) assertTrue(Float.isFinite(loss) && loss > 0);

            // the stage-1 result for the two-run variant
            FirstStage.KeyStore store = stage.keyStore(classes);
            assertEquals(classes, store.seen());
            assertArrayEquals(keysAll, store.keys());
        }
    }

    /** A few full-batch steps on synthetic features of classes [past, seen). */
    private static void trainTask(Backend be, FirstStage stage, int past, int seen, int perClass, int d) {
        int cur = seen - past;
        int[] labels = new int[cur * perClass];
        for (int i = 0; i < labels.length; i++) labels[i] = past + i % cur;
        try (TensorScope ignored = TensorScope.open()) {
            Tensor q = be.fromArray(syntheticFeatures(labels, stage.classes(), d, 1), labels.length, d);
            for (int s = 0; s < 3; s++) assertTrue(Float.isFinite(stage.trainStep(q, labels, past, seen)));
        }
    }

    private static void assertUnitRows(float[] keys, int d) {
        for (int r = 0; r < keys.length / d; r++) {
            double sq = 0;
            for (int j = 0; j < d; j++) sq += (double) keys[r * d + j] * keys[r * d + j];
            assertEquals(1.0, Math.sqrt(sq), 1e-5, "key " + r + " has unit norm");
        }
    }

    /** The fixed keys are the normalised text features of the ctx as it is after the alignment. */
    private static void assertKeysMatchContext(Backend be, Clip clip, int[][] ids, FirstStage stage, int from, int to,
            float[] keys) {
        try (TensorScope ignored = TensorScope.open()) {
            float[] f = be.toFloatArray(clip.textFeatures(Arrays.copyOfRange(ids, from, to),
                    stage.ctx().rows(from, to - from), FirstStage.CONTEXT_POSITION));
            CosineClassifier.normalizeRows(f, stage.featureDim());
            assertArrayEquals(f, keys, 1e-6f, "keys of classes [" + from + ", " + to + ")");
        }
    }

    // ------------------------------------------------------------------ (5) key store

    @Test
    void keyStoreRoundTrip(@TempDir Path dir) throws IOException {
        int seen = 5, d = 9;
        float[] keys = new float[seen * d];
        SplittableRandom rnd = new SplittableRandom(3);
        for (int i = 0; i < keys.length; i++) keys[i] = (float) rnd.nextGaussian();
        CosineClassifier.normalizeRows(keys, d);
        FirstStage.KeyStore store = new FirstStage.KeyStore(seen, d, keys);
        Path file = dir.resolve("stage1-keys.safetensors");
        store.writeTo(file);
        FirstStage.KeyStore back = FirstStage.KeyStore.readFrom(file);
        assertEquals(store, back);
        assertEquals(seen, back.seen());
        assertEquals(d, back.dim());
        assertArrayEquals(keys, back.keys(), "bit-for-bit");
        try (Backend be = Backends.create("reference"); TensorScope scope = TensorScope.open()) {
            Tensor t = back.toTensor(be);
            assertArrayEquals(new long[] {seen, d}, t.shape());
            assertArrayEquals(keys, be.toFloatArray(t));
        }
        assertThrows(IllegalArgumentException.class, () -> new FirstStage.KeyStore(seen, d, new float[3]));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void keyStoreOfATrainedStageRoundTrips(String backendName, @TempDir Path dir) throws IOException {
        int[][] ids = golden.clipInputIds();
        int classes = ids.length;
        FirstStageConfig cfg = FirstStageConfig.builder().set(FirstStageConfig::alignEpochs, 1)
                .set(FirstStageConfig::samplesPerClass, 8)
                .set(FirstStageConfig::mogIterations, 5).build();
        try (Backend be = Backends.create(backendName); Clip clip = load(be);
                FirstStage stage = new FirstStage(clip, ids, cfg, REFERENCE, 1L); TensorScope scope = TensorScope.open()) {
            stage.endTask(featuresByClass(0, classes, 10, classes, stage.featureDim(), 4), 0, classes,
                    new SplittableRandom(1));
            Path file = dir.resolve("keys.safetensors");
            stage.keyStore(classes).writeTo(file);
            Tensor loaded = FirstStage.KeyStore.readFrom(file).toTensor(be);
            assertArrayEquals(be.toFloatArray(stage.keys(classes)), be.toFloatArray(loaded));
        }
    }

    // ------------------------------------------------------------------ misc

    @Test
    void configDefaultsFollowTheSpec() {
        FirstStageConfig c = FirstStageConfig.defaults();
        assertEquals(0.002f, c.lr());
        assertEquals(30f, c.lambdaOrtho());
        assertEquals(0.05f, c.alignLr());
        assertEquals(10, c.alignEpochs());
        assertEquals(256, c.samplesPerClass());
        assertEquals(128, c.replayBatch());
        assertEquals(200, c.mogIterations());
        assertEquals(5, c.mogComponents());
        assertEquals(500, FirstStageConfig.standAloneDefaults().mogIterations());
        assertThrows(IllegalArgumentException.class, () -> c.toBuilder().set(FirstStageConfig::replayBatch, 0).build());
        assertThrows(IllegalArgumentException.class, () -> c.toBuilder().set(FirstStageConfig::lr, Float.NaN).build());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void seededInitialisationAndOnTheFlyKeys(String backendName) throws IOException {
        int[][] ids = golden.clipInputIds();
        int classes = ids.length;
        try (Backend be = Backends.create(backendName); Clip clip = load(be);
                FirstStage a = new FirstStage(clip, ids, FirstStageConfig.defaults(), REFERENCE, 42L);
                FirstStage b = new FirstStage(clip, ids, FirstStageConfig.defaults(), REFERENCE, 42L);
                TensorScope scope = TensorScope.open()) {
            float[] ctx = be.toFloatArray(a.ctx());
            assertArrayEquals(ctx, be.toFloatArray(b.ctx()), "same seed, same ctx");
            double sq = 0;
            for (float v : ctx) sq += (double) v * v;
            double std = Math.sqrt(sq / ctx.length);
            assertTrue(std > 0.015 && std < 0.025, "ctx ~ N(0, 0.02²): std " + std);
            int base = scope.size();
            Tensor keys = a.keys(classes);
            assertEquals(base + 1, scope.size(), "keys leaves only its result");
            float[] k = be.toFloatArray(keys);
            assertKeysMatchContext(be, clip, ids, a, 0, classes, k);
            assertThrows(IllegalArgumentException.class, () -> a.trainStep(be.zeros(2, a.featureDim()), new int[] {0, 3}, 1, 3),
                    "labels must be current classes");
        }
    }

    /** "X {name}." with a byte-level BPE without merges: [SOT, x, name bytes…, '.', EOT, 0…]. */
    @Test
    void promptIdsAreXNameDot(@TempDir Path dir) throws IOException {
        Path bpe = dir.resolve("bpe.txt");
        Files.writeString(bpe, "#version: 0.2\n", StandardCharsets.UTF_8);
        ClipTokenizer tok = ClipTokenizer.fromOpenAiBpe(bpe);
        int[][] ids = FirstStage.promptIds(tok, List.of("ab", "Cat"));
        assertEquals(2, ids.length);
        for (int[] row : ids) assertEquals(ClipTokenizer.DEFAULT_CONTEXT_LENGTH, row.length);
        assertArrayEquals(tok.tokenize("X ab."), ids[0]);
        assertArrayEquals(tok.tokenize("x cat."), ids[1], "the tokenizer lower-cases");
        assertEquals(tok.sot(), ids[0][0]);
        assertEquals(tok.encode("X")[0], ids[0][FirstStage.CONTEXT_POSITION], "the placeholder is at position 1");
    }

    private static double l2(float[] v) {
        double s = 0;
        for (float x : v) s += (double) x * x;
        return Math.sqrt(s);
    }
}
