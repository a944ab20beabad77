package io.starprompt.model.vit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.GoldenSet;
import static io.starprompt.TestVectors.gaussian;
import static io.starprompt.TestVectors.moved;

import io.starprompt.backend.Backend;
import io.starprompt.backend.Backends;
import io.starprompt.model.safetensors.SafetensorsFile;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import io.starprompt.util.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * L2P input prompts in the tiny golden ViT (methods/l2p.md §4, §5): the gradient of the pool
 * through all blocks against finite differences on the float64 reference backend, the CPU
 * backend against the reference, the invariance of the prompt mean to the order of the chosen
 * prompts, and the refusal of malformed prompts.
 */
class VisionTransformerInputPromptsTest {
    private static final int BATCH = 3, POOL = 4, LENGTH = 2, TOP_N = 2;
    /** Prompt 2 is chosen by every sample (its gradient sums three rows); the pool has POOL + 1 entries, the last unchosen. */
    private static final int[] SELECTED = {0, 2, 2, 3, 1, 2};

    static VisionTransformer goldenVit(Backend be) throws IOException {
        Path dir = GoldenSet.dir();
        int heads = Json.intAt(Json.parse(Files.readString(dir.resolve("meta.json"))), "vit", "num_heads");
        return VisionTransformer.load(be, dir.resolve("vit.safetensors"), heads);
    }

    /** Images, pool (with one unchosen entry: 5 entries, id 4 never chosen) and a fixed readout R. */
    private record Inputs(float[] images, float[] pool, float[] readout) {
        static Inputs draw(int side, int width) {
            Random r = new Random(21);
            return new Inputs(gaussian(r, BATCH * 3 * side * side, 1), gaussian(r, (POOL + 1) * LENGTH * width, 1),
                    gaussian(r, BATCH * width, 1));
        }
    }

    /** loss = ⟨promptMean, R⟩ and, when wanted, its gradient to the pool. */
    private static double loss(VisionTransformer vit, Inputs in, float[] pool, int[] selected, float[] dPool) {
        Backend be = vit.backend();
        int s = vit.config().imageSize(), w = vit.config().width();
        try (TensorScope scope = TensorScope.open()) {
            Tensor images = be.fromArray(in.images(), BATCH, 3, s, s);
            Tensor p = be.fromArray(pool, POOL + 1, LENGTH, w);
            Tensor sel = be.fromArray(selected, BATCH, TOP_N);
            Prompts prompts = Prompts.input(p, sel);
            try (Activations act = vit.forward(images, prompts)) {
                assertEquals(vit.config().tokens() + TOP_N * LENGTH, act.tokens().dim(1));
                float[] mean = be.toFloatArray(vit.promptMean(act.tokens(), prompts));
                double value = 0;
                for (int i = 0; i < mean.length; i++) value += (double) mean[i] * in.readout()[i];
                if (dPool != null) {
                    try (PromptGradients g = vit.backwardPromptMean(act, be.fromArray(in.readout(), BATCH, w), false)) {
                        assertNull(g.image());
                        System.arraycopy(be.toFloatArray(g.input()), 0, dPool, 0, dPool.length);
                    }
                }
                return value;
            }
        }
    }

    @Test
    void poolGradientMatchesFiniteDifferencesThroughEveryBlock() throws IOException {
        try (Backend be = Backends.create("reference"); VisionTransformer vit = goldenVit(be)) {
            int w = vit.config().width();
            Inputs in = Inputs.draw(vit.config().imageSize(), w);
            float[] grad = new float[in.pool().length];
            loss(vit, in, in.pool(), SELECTED, grad);
            for (int i = POOL * LENGTH * w; i < grad.length; i++) {
                assertEquals(0f, grad[i], "the unchosen prompt gets no gradient");
            }
            Random r = new Random(5);
            double h = 1e-2;
            for (int trial = 0; trial < 3; trial++) {
                float[] dir = gaussian(r, grad.length, 1);
                double analytic = 0;
                for (int i = 0; i < dir.length; i++) analytic += (double) dir[i] * grad[i];
                double fd = (loss(vit, in, moved(in.pool(), dir, h), SELECTED, null)
                        - loss(vit, in, moved(in.pool(), dir, -h), SELECTED, null)) / (2 * h);
                assertTrue(Math.abs(analytic) > 1e-3, "directional derivative too small to test: " + analytic);
                assertEquals(fd, analytic, 0.02 * Math.abs(fd) + 1e-4, "trial " + trial);
            }
        }
    }

    @Test
    void cpuBackendMatchesTheReference() throws IOException {
        float[] refGrad, cpuGrad;
        double refLoss, cpuLoss;
        Inputs in;
        try (Backend be = Backends.create("reference"); VisionTransformer vit = goldenVit(be)) {
            in = Inputs.draw(vit.config().imageSize(), vit.config().width());
            refGrad = new float[in.pool().length];
            refLoss = loss(vit, in, in.pool(), SELECTED, refGrad);
        }
        try (Backend be = Backends.create("cpu"); VisionTransformer vit = goldenVit(be)) {
            cpuGrad = new float[in.pool().length];
            cpuLoss = loss(vit, in, in.pool(), SELECTED, cpuGrad);
        }
        assertEquals(refLoss, cpuLoss, 1e-4 * Math.abs(refLoss) + 1e-4);
        assertArrayEquals(refGrad, cpuGrad, 1e-4f);
    }

    @Test
    void promptMeanIgnoresTheOrderOfTheChosenPrompts() throws IOException {
        try (Backend be = Backends.create("reference"); VisionTransformer vit = goldenVit(be)) {
            Inputs in = Inputs.draw(vit.config().imageSize(), vit.config().width());
            int[] swapped = new int[SELECTED.length];
            for (int b = 0; b < BATCH; b++) {
                swapped[b * TOP_N] = SELECTED[b * TOP_N + 1];
                swapped[b * TOP_N + 1] = SELECTED[b * TOP_N];
            }
            double a = loss(vit, in, in.pool(), SELECTED, null), b = loss(vit, in, in.pool(), swapped, null);
            assertEquals(a, b, 1e-5 * Math.abs(a));
            int[] other = SELECTED.clone();
            other[0] = 4;
            assertNotEquals(a, loss(vit, in, in.pool(), other, null), 1e-4, "another prompt changes the output");
        }
    }

    /**
     * Prompts equal to the class token carry the class position's embedding (methods/l2p.md §4),
     * so every prompt token is an exact copy of the [CLS] token: all of them leave the blocks
     * equal to the [CLS] output, and their mean is that output. Without the shift, or with the
     * prompts placed elsewhere, they would differ.
     */
    @Test
    void promptTokensCarryTheClassPositionEmbedding() throws IOException {
        Path file = GoldenSet.dir().resolve("vit.safetensors");
        float[] cls;
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            cls = f.readFloats("cls_token");
        }
        try (Backend be = Backends.create("reference"); VisionTransformer vit = goldenVit(be);
                TensorScope scope = TensorScope.open()) {
            int s = vit.config().imageSize(), w = vit.config().width();
            float[] pool = new float[POOL * LENGTH * w];
            for (int i = 0; i < POOL * LENGTH; i++) System.arraycopy(cls, 0, pool, i * w, w);
            Prompts prompts = Prompts.input(be.fromArray(pool, POOL, LENGTH, w), be.fromArray(SELECTED, BATCH, TOP_N));
            Tensor images = be.fromArray(gaussian(new Random(2), BATCH * 3 * s * s, 1), BATCH, 3, s, s);
            Tensor tokens = vit.encode(images, prompts);
            float[] mean = be.toFloatArray(vit.promptMean(tokens, prompts));
            float[] all = be.toFloatArray(tokens);
            long seq = tokens.dim(1);
            float[] clsOut = new float[BATCH * w];
            for (int b = 0; b < BATCH; b++) System.arraycopy(all, (int) (b * seq * w), clsOut, b * w, w);
            assertArrayEquals(clsOut, mean, 1e-5f);
            float[] plain = be.toFloatArray(vit.encodePooled(images, Prompts.none()));
            double gap = 0;
            for (int i = 0; i < plain.length; i++) gap = Math.max(gap, Math.abs(plain[i] - clsOut[i]));
            assertTrue(gap > 1e-3, "the prompt tokens change the [CLS] output: " + gap);
        }
    }

    @Test
    void malformedInputPromptsAreRefused() throws IOException {
        try (Backend be = Backends.create("reference"); VisionTransformer vit = goldenVit(be);
                TensorScope scope = TensorScope.open()) {
            int s = vit.config().imageSize(), w = vit.config().width();
            Tensor images = be.zeros(BATCH, 3, s, s);
            Tensor pool = be.zeros(POOL, LENGTH, w);
            Tensor wrongWidth = be.zeros(POOL, LENGTH, w + 1);
            Tensor sel = be.fromArray(new int[BATCH * TOP_N], BATCH, TOP_N);
            Tensor selTooFew = be.fromArray(new int[TOP_N], 1, TOP_N);
            Tensor outOfRange = be.fromArray(new int[] {0, 1, 2, 3, 4, 0}, BATCH, TOP_N);
            assertThrows(IllegalArgumentException.class, () -> vit.encode(images, Prompts.input(wrongWidth, sel)));
            assertThrows(IllegalArgumentException.class, () -> vit.encode(images, Prompts.input(pool, selTooFew)));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> vit.encode(images, Prompts.input(pool, outOfRange)));
            assertTrue(e.getMessage().contains("promptConcat"), e.getMessage());
            Tensor tokens = vit.encode(images, Prompts.none());
            assertThrows(IllegalArgumentException.class, () -> vit.promptMean(tokens, Prompts.none()));
        }
    }
}
