package io.starprompt.model.vit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.starprompt.GoldenSet;
import io.starprompt.GoldenTest;
import io.starprompt.TestBackends;
import io.starprompt.backend.Backend;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The ViT against the {@code vit.*} tensors of the golden set (timm in float64): plain forward,
 * residual prompts and prefix prompts with their gradients and the image gradient, on every
 * backend. Every size comes from meta.json and the tensors.
 */
class VisionTransformerGoldenTest extends GoldenTest {
    /** The CLS-only last layer must agree with the full path far below the golden tolerance. */
    private static final double PATH_AGREEMENT = 1e-5;

    private static int heads;

    @BeforeAll
    static void readHeads() {
        heads = golden.metaInt("vit", "num_heads");
    }

    static Stream<String> backends() {
        return TestBackends.all();
    }

    private static Backend backend(String name) {
        return TestBackends.open(name);
    }

    private static VisionTransformer load(Backend be) throws IOException {
        VisionTransformer vit = VisionTransformer.load(be, golden.path("vit.safetensors"), heads, precision);
        VitConfig c = vit.config();
        assertEquals(golden.metaInt("vit", "embed_dim"), c.width(), "width read from the weights");
        assertEquals(golden.metaInt("vit", "depth"), c.depth(), "depth read from the weights");
        assertEquals(golden.metaInt("vit", "patch_size"), c.patchSize(), "patch size read from the weights");
        assertEquals(golden.metaInt("vit", "img_size"), c.imageSize(), "image size read from the weights");
        return vit;
    }

    /** The golden residual prompts vit.resid.p0, p1, … (one per layer). */
    private static Prompts residualPrompts(Backend be, VisionTransformer vit) {
        return Prompts.residual(perLayer(be, "vit.resid.p", vit.config().depth()));
    }

    /** The golden prefix prompts vit.prefix.pk* and pv* (one pair per layer). */
    private static Prompts prefixPrompts(Backend be, VisionTransformer vit) {
        int depth = vit.config().depth();
        return Prompts.prefix(perLayer(be, "vit.prefix.pk", depth), perLayer(be, "vit.prefix.pv", depth));
    }

    private static List<Tensor> perLayer(Backend be, String prefix, int depth) {
        List<Tensor> out = new ArrayList<>();
        for (int l = 0; l < depth; l++) out.add(upload(be, prefix + l));
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void plainForwardMatchesTimm(String backendName) throws IOException {
        try (Backend be = backend(backendName); VisionTransformer vit = load(be); TensorScope scope = TensorScope.open()) {
            Tensor x = upload(be, "vit.x");
            try (Activations act = vit.forward(x, Prompts.none())) {
                assertForwardMatches(be, "tokens", "vit.tokens", act.tokens());
                GoldenSet.assertForward("pooled", golden.get("vit.pooled"), be.toFloatArray(act.pooled()));
            }
            try (Activations act = vit.forwardPooled(x, Prompts.none())) {
                assertForwardMatches(be, "pooled (CLS-only last layer)", "vit.pooled", act.pooled());
                assertThrows(IllegalStateException.class, act::tokens);
            }
            GoldenSet.assertForward("encode", golden.get("vit.tokens"), be.toFloatArray(vit.encode(x, Prompts.none())));
            Tensor pooled = vit.encodePooled(x, Prompts.none());
            assertForwardMatches(be, "encodePooled", "vit.pooled", pooled);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void residualPromptsAndGradientsMatchTimm(String backendName) throws IOException {
        try (Backend be = backend(backendName); VisionTransformer vit = load(be); TensorScope scope = TensorScope.open()) {
            Tensor x = upload(be, "vit.x");
            Activations act = promptedForward(be, vit, x, residualPrompts(be, vit), "resid");
            GoldenSet.assertForward("resid encode", golden.get("vit.resid.tokens"),
                    be.toFloatArray(vit.encode(x, act.prompts())));
            int depth = vit.config().depth();

            Tensor g = upload(be, "vit.resid.G");
            PromptGradients withImage = vit.backward(act, g, true);
            for (int l = 0; l < depth; l++) {
                GoldenSet.assertGradient("grad_p" + l, golden.get("vit.resid.grad_p" + l),
                        be.toFloatArray(withImage.residual(l)));
                assertNull(withImage.prefixKeys(l));
            }
            assertGradientMatches(be, "grad_x", "vit.resid.grad_x", withImage.image());

            // Without the image gradient the pass stops at layer 0's prompt (token sum, no attention backward).
            PromptGradients promptsOnly = vit.backward(act, g, false);
            assertNull(promptsOnly.image());
            for (int l = 0; l < depth; l++) {
                GoldenSet.assertGradient("grad_p" + l + " (no image gradient)", golden.get("vit.resid.grad_p" + l),
                        be.toFloatArray(promptsOnly.residual(l)));
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void prefixPromptsAndGradientsMatchTimm(String backendName) throws IOException {
        try (Backend be = backend(backendName); VisionTransformer vit = load(be); TensorScope scope = TensorScope.open()) {
            Activations act = promptedForward(be, vit, upload(be, "vit.x"), prefixPrompts(be, vit), "prefix");
            int depth = vit.config().depth();

            Tensor g = upload(be, "vit.prefix.G");
            for (boolean image : new boolean[] {false, true}) {
                PromptGradients grads = vit.backward(act, g, image);
                for (int l = 0; l < depth; l++) {
                    String how = image ? " (with image gradient)" : "";
                    GoldenSet.assertGradient("grad_pk" + l + how, golden.get("vit.prefix.grad_pk" + l),
                            be.toFloatArray(grads.prefixKeys(l)));
                    GoldenSet.assertGradient("grad_pv" + l + how, golden.get("vit.prefix.grad_pv" + l),
                            be.toFloatArray(grads.prefixValues(l)));
                    assertNull(grads.residual(l));
                }
                assertEquals(image, grads.image() != null);
            }
        }
    }

    /** The training forward pass with prompts, its tokens checked against the golden vit.&lt;variant&gt;.tokens. */
    private Activations promptedForward(Backend be, VisionTransformer vit, Tensor x, Prompts prompts, String variant) {
        Activations act = vit.forward(x, prompts);
        GoldenSet.assertForward(variant + " tokens", golden.get("vit." + variant + ".tokens"), be.toFloatArray(act.tokens()));
        return act;
    }

    /**
     * The pooled path (last block on the CLS row only) against the full path with the upstream
     * gradient scattered onto the CLS rows: same feature, same prompt and image gradients.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void pooledPathAgreesWithFullPath(String backendName) throws IOException {
        try (Backend be = backend(backendName); VisionTransformer vit = load(be); TensorScope scope = TensorScope.open()) {
            VitConfig c = vit.config();
            int depth = c.depth();
            Tensor x = upload(be, "vit.x");
            int batch = (int) x.dim(0);
            // Upstream gradient: the CLS rows of the golden G.
            float[] gAll = golden.get("vit.resid.G");
            float[] dPooledHost = new float[batch * c.width()];
            float[] dTokensHost = new float[gAll.length];
            for (int b = 0; b < batch; b++) {
                int from = b * c.tokens() * c.width();
                System.arraycopy(gAll, from, dPooledHost, b * c.width(), c.width());
                System.arraycopy(gAll, from, dTokensHost, from, c.width());
            }
            Tensor dPooled = be.fromArray(dPooledHost, batch, c.width());
            Tensor dTokens = be.fromArray(dTokensHost, batch, c.tokens(), c.width());

            List<Prompts> cases = List.of(residualPrompts(be, vit), prefixPrompts(be, vit));
            for (Prompts p : cases) {
                String kind = p.kind().name().toLowerCase();
                Activations full = vit.forward(x, p);
                Activations pooled = vit.forwardPooled(x, p);
                assertClose(kind + " pooled feature", be.toFloatArray(full.pooled()), be.toFloatArray(pooled.pooled()));
                PromptGradients ref = vit.backward(full, dTokens, true);
                PromptGradients viaScatter = vit.backwardPooled(full, dPooled, true);
                PromptGradients clsOnly = vit.backwardPooled(pooled, dPooled, true);
                for (PromptGradients gr : List.of(viaScatter, clsOnly)) {
                    String how = kind + (gr == clsOnly ? " CLS-only" : " scattered");
                    assertClose(how + " image gradient", be.toFloatArray(ref.image()), be.toFloatArray(gr.image()));
                    for (int l = 0; l < depth; l++) {
                        for (Tensor[] pair : new Tensor[][] {{ref.residual(l), gr.residual(l)},
                                {ref.prefixKeys(l), gr.prefixKeys(l)}, {ref.prefixValues(l), gr.prefixValues(l)}}) {
                            if (pair[0] == null) continue;
                            assertClose(how + " prompt gradient of layer " + l, be.toFloatArray(pair[0]),
                                    be.toFloatArray(pair[1]));
                        }
                    }
                }
                assertThrows(IllegalStateException.class, () -> vit.backward(pooled, dTokens, false));
            }
        }
    }

    private static void assertClose(String what, float[] expected, float[] actual) {
        GoldenSet.assertGradient(what, expected, actual, agreement(PATH_AGREEMENT));
    }

    /** Closing the activations and gradients leaves only the caller's own tensors: nothing leaks. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void intermediatesAreFreed(String backendName) throws IOException {
        try (Backend be = backend(backendName); VisionTransformer vit = load(be); TensorScope scope = TensorScope.open()) {
            Tensor x = upload(be, "vit.x");
            Prompts prompts = residualPrompts(be, vit);
            Tensor g = upload(be, "vit.resid.G");
            int inputs = scope.size();
            Activations act = vit.forward(x, prompts);
            PromptGradients grads = vit.backward(act, g, true);
            act.close();
            grads.close();
            assertEquals(inputs, scope.size(), "live tensors after closing activations and gradients");
            vit.encodePooled(x, prompts).close();
            assertEquals(inputs, scope.size(), "live tensors after encodePooled");
            assertThrows(IllegalStateException.class, () -> vit.backward(act, g, false));
        }
    }
}
