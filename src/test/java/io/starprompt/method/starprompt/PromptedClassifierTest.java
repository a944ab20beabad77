package io.starprompt.method.starprompt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.GoldenSet;
import io.starprompt.backend.Backend;
import io.starprompt.backend.Backends;
import io.starprompt.method.starprompt.StarPromptConfig.Stage2;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import io.starprompt.util.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Both prompt modes of the second-stage model against finite differences (directional
 * derivatives over the current-class rows of P and A and over the head), with the tiny golden
 * ViT on the reference backend; past rows must get exactly zero gradient (§4.9).
 */
class PromptedClassifierTest {
    private static final int CLASSES = 6, PAST = 2, BATCH = 4, QUERY_DIM = 32;

    /** The tiny golden ViT, loaded onto be. */
    private static VisionTransformer goldenVit(Backend be) throws IOException {
        Path dir = GoldenSet.dir();
        int heads = Json.intAt(Json.parse(Files.readString(dir.resolve("meta.json"))), "vit", "num_heads");
        return VisionTransformer.load(be, dir.resolve("vit.safetensors"), heads);
    }

    /** The second-stage model over vit in the given prompt mode (prefix length 2), initialised from seed. */
    private static PromptedClassifier model(VisionTransformer vit, StarPromptConfig.PromptMode mode, long seed) {
        return PromptedClassifier.initialised(vit, CLASSES, QUERY_DIM,
                StarPromptConfig.builder().change(StarPromptConfig::stage2, s -> s.set(Stage2::promptMode, mode)
                        .set(Stage2::prefixLength, 2)).build(), seed);
    }

    @ParameterizedTest
    @EnumSource(StarPromptConfig.PromptMode.class)
    void gradientsMatchFiniteDifferences(StarPromptConfig.PromptMode mode) throws Exception {
        try (Backend be = Backends.create("reference"); VisionTransformer vit = goldenVit(be);
                PromptedClassifier model = model(vit, mode, 11); TensorScope scope = TensorScope.open()) {
            Random r = new Random(4);
            int s = vit.config().imageSize();
            Tensor images = be.fromArray(gaussian(r, BATCH * 3 * s * s, 1), BATCH, 3, s, s);
            float[] k = gaussian(r, CLASSES * QUERY_DIM, 1);
            for (int c = 0; c < CLASSES; c++) {
                double n = 0;
                for (int j = 0; j < QUERY_DIM; j++) n += k[c * QUERY_DIM + j] * k[c * QUERY_DIM + j];
                for (int j = 0; j < QUERY_DIM; j++) k[c * QUERY_DIM + j] /= (float) Math.sqrt(n);
            }
            Tensor keys = be.fromArray(k, CLASSES, QUERY_DIM);
            // Queries near the keys of their (current) classes: those classes get selected, so their
            // A and P rows receive gradient.
            int[] labels = {2, 3, 4, 5};
            // Larger prompts than the init so that they (and through them A) move the loss clearly.
            Tensor pool = model.prompter().prompts();
            float[] pv = be.toFloatArray(pool);
            for (int i = 0; i < pv.length; i++) pv[i] *= mode == StarPromptConfig.PromptMode.CONCAT ? 20 : 3;
            be.copy(be.fromArray(pv, pool.shape()), pool);
            float[] q = gaussian(r, BATCH * QUERY_DIM, 0.1);
            for (int b = 0; b < BATCH; b++) {
                for (int j = 0; j < QUERY_DIM; j++) q[b * QUERY_DIM + j] += 3 * k[labels[b] * QUERY_DIM + j];
            }
            Tensor queries = be.fromArray(q, BATCH, QUERY_DIM);
            SecondStage.ClassRange range = SecondStage.ClassRange.training(PAST, CLASSES);
            float[][] grads;
            try (SecondStage.Result res = model.lossAndGradients(images, queries, keys, labels, range)) {
                grads = new float[][] {be.toFloatArray(res.dModulation()), be.toFloatArray(res.dPrompts()),
                        be.toFloatArray(res.dHeadWeight()), be.toFloatArray(res.dHeadBias())};
            }
            Tensor[] params = model.parameters().toArray(new Tensor[0]);
            // Past rows of A and P and past head rows: exactly zero.
            for (int p = 0; p < 4; p++) {
                long rowLen = p < 2 ? params[p].dim(2) : (p == 2 ? params[p].dim(1) : 1);
                int layers = p < 2 ? (int) params[p].dim(0) : 1;
                for (int l = 0; l < layers; l++) {
                    for (long i = 0; i < PAST * rowLen; i++) {
                        assertEquals(0f, grads[p][(int) (l * CLASSES * rowLen + i)], "past gradient of parameter " + p);
                    }
                }
            }
            for (int p = 0; p < 4; p++) {
                double maxSignal = 0;
                for (int trial = 0; trial < 2; trial++) {
                    float[] base = be.toFloatArray(params[p]);
                    float[] dir2 = currentRowsDirection(params[p], p, r);
                    double analytic = 0;
                    for (int i = 0; i < dir2.length; i++) analytic += (double) dir2[i] * grads[p][i];
                    double h = p == 0 ? 1e-2 : 3e-3;
                    double fd = (lossAt(be, model, params[p], base, dir2, h, images, queries, keys, labels, range)
                            - lossAt(be, model, params[p], base, dir2, -h, images, queries, keys, labels, range)) / (2 * h);
                    be.copy(be.fromArray(base, params[p].shape()), params[p]);
                    maxSignal = Math.max(maxSignal, Math.abs(analytic));
                    assertEquals(fd, analytic, 0.03 * Math.abs(fd) + 1e-5,
                            mode + " parameter " + p + " trial " + trial + ": fd " + fd + " analytic " + analytic);
                }
                assertTrue(maxSignal > 1e-4, mode + " parameter " + p + ": directional derivatives too small to test ("
                        + maxSignal + ")");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(StarPromptConfig.PromptMode.class)
    void orthogonalityGradientMatchesFiniteDifferences(StarPromptConfig.PromptMode mode) throws Exception {
        try (Backend be = Backends.create("reference"); VisionTransformer vit = goldenVit(be);
                PromptedClassifier model = model(vit, mode, 12); TensorScope scope = TensorScope.open()) {
            Tensor p = model.prompter().prompts();
            float[] base = be.toFloatArray(p);
            Tensor dP = be.zeros(p.shape());
            double value = model.addOrthogonalityLoss(CLASSES, PAST, 10f, dP);
            assertTrue(value > 0);
            float[] g = be.toFloatArray(dP);
            float[] v = currentRowsDirection(p, 1, new Random(9));
            double analytic = 0;
            for (int i = 0; i < g.length; i++) analytic += (double) g[i] * v[i];
            double h = 1e-3;
            double[] vals = new double[2];
            for (int sgn = 0; sgn < 2; sgn++) {
                float[] moved = base.clone();
                for (int i = 0; i < moved.length; i++) moved[i] += (float) ((sgn == 0 ? h : -h) * v[i]);
                be.copy(be.fromArray(moved, p.shape()), p);
                vals[sgn] = model.addOrthogonalityLoss(CLASSES, PAST, 10f, be.zeros(p.shape()));
            }
            double fd = (vals[0] - vals[1]) / (2 * h);
            assertEquals(fd, analytic, 1e-3 * Math.abs(fd) + 1e-4, mode + ": fd " + fd + " analytic " + analytic);
            // No gradient on past rows.
            int rowLen = (int) p.dim(2);
            for (int l = 0; l < p.dim(0); l++) {
                for (int i = 0; i < PAST * rowLen; i++) assertEquals(0f, g[l * CLASSES * rowLen + i]);
            }
        }
    }

    /** A random unit direction supported on the current-class rows of parameter p (A, P, W or b). */
    private static float[] currentRowsDirection(Tensor param, int p, Random r) {
        int n = (int) param.numel();
        float[] d = new float[n];
        int layers = p < 2 ? (int) param.dim(0) : 1;
        int rowLen = p < 2 ? (int) param.dim(2) : (p == 2 ? (int) param.dim(1) : 1);
        double norm = 0;
        for (int l = 0; l < layers; l++) {
            for (int c = PAST; c < CLASSES; c++) {
                for (int j = 0; j < rowLen; j++) {
                    int i = (l * CLASSES + c) * rowLen + j;
                    d[i] = (float) r.nextGaussian();
                    norm += d[i] * d[i];
                }
            }
        }
        for (int i = 0; i < n; i++) d[i] /= (float) Math.sqrt(norm);
        return d;
    }

    private static double lossAt(Backend be, PromptedClassifier model, Tensor param, float[] base, float[] dir, double h,
            Tensor images, Tensor queries, Tensor keys, int[] labels, SecondStage.ClassRange range) {
        float[] moved = base.clone();
        for (int i = 0; i < moved.length; i++) moved[i] += (float) (h * dir[i]);
        try (TensorScope s = TensorScope.open()) {
            be.copy(be.fromArray(moved, param.shape()), param);
            try (SecondStage.Result res = model.lossAndGradients(images, queries, keys, labels, range)) {
                return res.loss();
            }
        }
    }

    private static float[] gaussian(Random r, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (scale * r.nextGaussian());
        return v;
    }
}
