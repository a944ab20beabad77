package io.starprompt.model.vit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.starprompt.model.ModelValidationTest;
import io.starprompt.model.safetensors.SafetensorsFile;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Bad weight files, bad arguments and the im2col layout, on the CPU backend. */
class VisionTransformerValidationTest extends ModelValidationTest {
    private static int heads;

    @BeforeAll
    static void open() {
        weights = golden.path("vit.safetensors");
        heads = golden.metaInt("vit", "num_heads");
    }

    private static long width() throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(weights)) {
            long[] cls = f.info("cls_token").shape();
            return cls[cls.length - 1];
        }
    }

    @Test
    void missingTensorIsNamed() throws IOException {
        for (String name : List.of("blocks.1.mlp.fc2.bias", "cls_token", "norm.weight", "blocks.0.attn.qkv.weight")) {
            Path p = editedCopy("missing.safetensors", d -> d.remove(name), s -> s.remove(name));
            try (TensorScope scope = TensorScope.open()) {
                assertRejected(() -> VisionTransformer.load(be, p, heads), name, "missing");
                assertEquals(0, scope.size(), "a failed load frees what it had uploaded");
            }
        }
    }

    @Test
    void wrongShapeIsNamed() throws IOException {
        long w = width();
        String name = "blocks.0.attn.proj.weight";
        Path p = editedCopy("shape.safetensors", d -> d.put(name, new float[(int) (w * (w / 2))]),
                s -> s.put(name, new long[] {w, w / 2}));
        try (TensorScope scope = TensorScope.open()) {
            assertRejected(() -> VisionTransformer.load(be, p, heads), name, "[" + w + ", " + w / 2 + "]");
            assertEquals(0, scope.size(), "a failed load frees what it had uploaded");
        }
        Path pos = editedCopy("pos.safetensors", d -> d.put("pos_embed", new float[(int) (3 * w)]),
                s -> s.put("pos_embed", new long[] {1, 3, w}));
        assertRejected(() -> VisionTransformer.load(be, pos, heads), "pos_embed", "square");
    }

    @Test
    void headsMustDivideWidth() throws IOException {
        long w = width();
        int bad = 2;
        while (w % bad == 0) bad++;
        int notDividing = bad;
        assertRejected(() -> VisionTransformer.load(be, weights, notDividing), "heads = " + notDividing, "width " + w);
        assertRejected(() -> VisionTransformer.load(be, weights, 0), "heads = 0");
    }

    @Test
    void unknownTensorsAreRejectedButHeadIsIgnored() throws IOException {
        long w = width();
        Path ls = editedCopy("ls.safetensors", d -> d.put("blocks.0.ls1.gamma", new float[(int) w]),
                s -> s.put("blocks.0.ls1.gamma", new long[] {w}));
        assertRejected(() -> VisionTransformer.load(be, ls, heads), "blocks.0.ls1.gamma");
        Path head = editedCopy("head.safetensors", d -> {
            d.put("head.weight", new float[(int) (10 * w)]);
            d.put("head.bias", new float[10]);
        }, s -> {
            s.put("head.weight", new long[] {10, w});
            s.put("head.bias", new long[] {10});
        });
        try (VisionTransformer vit = VisionTransformer.load(be, head, heads)) {
            assertEquals(w, vit.config().width());
        }
    }

    @Test
    void badForwardArgumentsAreRejected() throws IOException {
        try (VisionTransformer vit = VisionTransformer.load(be, weights, heads); TensorScope scope = TensorScope.open()) {
            VitConfig c = vit.config();
            int s = c.imageSize(), b = 2, depth = c.depth();
            Tensor images = be.zeros(b, c.channels(), s, s);
            assertRejected(() -> vit.forward(be.zeros(b, c.channels(), s + 1, s), Prompts.none()), "images");
            assertRejected(() -> vit.forward(be.zeros(b, s, s), Prompts.none()), "images");

            List<Tensor> tooFew = new ArrayList<>(Collections.nCopies(depth - 1, be.zeros(b, c.width())));
            assertRejected(() -> vit.forward(images, Prompts.residual(tooFew)), "layers");
            List<Tensor> wrong = new ArrayList<>(Collections.nCopies(depth, (Tensor) null));
            wrong.set(depth - 1, be.zeros(b + 1, c.width()));
            assertRejected(() -> vit.forward(images, Prompts.residual(wrong)), "layer " + (depth - 1));
            List<Tensor> keys = new ArrayList<>(Collections.nCopies(depth, be.zeros(b, 3, c.width())));
            List<Tensor> values = new ArrayList<>(Collections.nCopies(depth, be.zeros(b, 4, c.width())));
            assertRejected(() -> vit.forward(images, Prompts.prefix(keys, values)), "prefix values of layer 0");

            Activations act = vit.forward(images, Prompts.none());
            assertRejected(() -> vit.backward(act, be.zeros(b, c.width()), false), "dTokens");
            assertRejected(() -> vit.backwardPooled(act, be.zeros(b, c.tokens(), c.width()), false), "dPooled");
        }
    }

    @Test
    void partiallyPromptedLayersGetGradientsOnlyWhereTheyArePrompted() throws IOException {
        try (VisionTransformer vit = VisionTransformer.load(be, weights, heads); TensorScope scope = TensorScope.open()) {
            VitConfig c = vit.config();
            int b = 2, depth = c.depth();
            Random rnd = new Random(1);
            Tensor images = be.fromArray(randoms(rnd, b * c.channels() * c.imageSize() * c.imageSize()), b,
                    c.channels(), c.imageSize(), c.imageSize());
            List<Tensor> prompts = new ArrayList<>(Collections.nCopies(depth, (Tensor) null));
            prompts.set(depth - 1, be.fromArray(randoms(rnd, b * c.width()), b, c.width()));
            Activations act = vit.forwardPooled(images, Prompts.residual(prompts));
            PromptGradients g = vit.backwardPooled(act, be.fromArray(randoms(rnd, b * c.width()), b, c.width()), false);
            for (int l = 0; l < depth - 1; l++) assertEquals(null, g.residual(l));
            assertArrayEquals(new long[] {b, c.width()}, g.residual(depth - 1).shape());
            // No prompts and no image gradient: nothing to compute, nothing returned.
            Activations plain = vit.forward(images, Prompts.none());
            PromptGradients none = vit.backward(plain, be.zeros(b, c.tokens(), c.width()), false);
            for (int l = 0; l < depth; l++) assertEquals(null, none.residual(l));
            assertEquals(null, none.image());
        }
    }

    private static float[] randoms(Random rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) rnd.nextGaussian();
        return a;
    }

    @Test
    void patchifyFollowsTheConvWeightLayoutAndUnpatchifyIsItsAdjoint() {
        VitConfig c = new VitConfig(3, 6, 3, 8, 1, 2, 16);
        int batch = 2, side = c.imageSize();
        float[] img = new float[batch * c.channels() * side * side];
        for (int i = 0; i < img.length; i++) img[i] = i;
        float[] cols = patchify(img, batch, c);
        assertEquals(batch * c.tokens() * c.patchDim(), cols.length);
        for (int b = 0; b < batch; b++) {
            for (int k = 0; k < c.patchDim(); k++) assertEquals(0f, cols[b * c.tokens() * c.patchDim() + k], "CLS row");
        }
        // Patch (gy, gx) = (1, 0) of image 1, channel 2, ky 1, kx 2.
        int row = 1 * c.tokens() + 1 + (1 * c.grid() + 0);
        int col = (2 * c.patchSize() + 1) * c.patchSize() + 2;
        int pix = ((1 * c.channels() + 2) * side + 1 * c.patchSize() + 1) * side + 0 * c.patchSize() + 2;
        assertEquals(img[pix], cols[row * c.patchDim() + col]);

        Random rnd = new Random(7);
        float[] x = randoms(rnd, img.length), y = randoms(rnd, cols.length);
        for (int b = 0; b < batch; b++) java.util.Arrays.fill(y, b * c.tokens() * c.patchDim(), (b * c.tokens() + 1) * c.patchDim(), 0f);
        float[] ax = patchify(x, batch, c), aty = unpatchify(y, batch, c);
        double lhs = 0, rhs = 0;
        for (int i = 0; i < y.length; i++) lhs += (double) ax[i] * y[i];
        for (int i = 0; i < x.length; i++) rhs += (double) x[i] * aty[i];
        assertEquals(lhs, rhs, 1e-9 * (1 + Math.abs(lhs)), "<patchify x, y> = <x, unpatchify y>");
    }

    private float[] patchify(float[] images, int batch, VitConfig c) {
        try (TensorScope s = TensorScope.open()) {
            Tensor out = be.empty(batch, c.tokens(), c.patchDim());
            be.patchify(be.fromArray(images, batch, c.channels(), c.imageSize(), c.imageSize()), c.patchSize(), out);
            return be.toFloatArray(out);
        }
    }

    private float[] unpatchify(float[] patches, int batch, VitConfig c) {
        try (TensorScope s = TensorScope.open()) {
            Tensor out = be.empty(batch, c.channels(), c.imageSize(), c.imageSize());
            be.unpatchify(be.fromArray(patches, batch, c.tokens(), c.patchDim()), c.patchSize(), out);
            return be.toFloatArray(out);
        }
    }
}
