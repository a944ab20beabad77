package io.starprompt.model.clip;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.starprompt.GoldenSet;
import io.starprompt.GoldenTest;
import io.starprompt.TestBackends;
import io.starprompt.backend.Backend;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.io.IOException;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * CLIP against the {@code clip.*} and {@code stage1.*} tensors of the golden set (HF transformers
 * in float64), on every backend: both towers' forward passes, the first-stage keys with a replaced
 * token embedding and their gradient, and the first-stage loss. Every size comes from
 * clip_config.json, meta.json and the tensors.
 */
class ClipGoldenTest extends GoldenTest {
    /** The replaced token position of the first-stage prompts ("X" in "X name."), as in generate.py. */
    private static final int CONTEXT_POSITION = 1;

    static Stream<String> backends() {
        return TestBackends.all();
    }

    private static Backend backend(String name) {
        return TestBackends.open(name);
    }

    static Clip load(Backend be) throws IOException {
        Clip clip = Clip.load(be, golden.path("clip.safetensors"), golden.path("clip_config.json"), precision);
        ClipConfig c = clip.config();
        assertEquals(golden.metaInt("clip", "projection_dim"), c.projectionDim(), "projection_dim");
        assertEquals(golden.metaInt("clip", "vision", "hidden_size"), c.vision().width(), "vision width");
        assertEquals(golden.metaInt("clip", "vision", "num_hidden_layers"), c.vision().layers(), "vision layers");
        assertEquals(golden.metaInt("clip", "text", "hidden_size"), c.text().width(), "text width");
        assertEquals(golden.metaInt("clip", "text", "num_hidden_layers"), c.text().layers(), "text layers");
        assertEquals(golden.metaInt("clip", "eos_token_id"), c.text().eosTokenId(), "eos id");
        return clip;
    }

    private static void assertMatches(Backend be, String name, Tensor ours) {
        assertForwardMatches(be, name, name, ours);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void imageTowerMatchesHf(String backendName) throws IOException {
        try (Backend be = backend(backendName); Clip clip = load(be); TensorScope scope = TensorScope.open()) {
            Tensor pixels = upload(be, "clip.pixel_values");
            assertMatches(be, "clip.vision.last_hidden_state", clip.visionLastHiddenState(pixels));
            assertMatches(be, "clip.image_features", clip.imageFeatures(pixels));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void textTowerMatchesHf(String backendName) throws IOException {
        try (Backend be = backend(backendName); Clip clip = load(be); TensorScope scope = TensorScope.open()) {
            assertMatches(be, "clip.text_features", clip.textFeatures(golden.clipInputIds()));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void logitScaleIsTheStoredLogValue(String backendName) throws IOException {
        try (Backend be = backend(backendName); Clip clip = load(be)) {
            GoldenSet.assertForward("clip.logit_scale", golden.get("clip.logit_scale"), new float[] {clip.logitScale()});
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void replacedContextFeaturesAndGradientMatchHf(String backendName) throws IOException {
        try (Backend be = backend(backendName); Clip clip = load(be); TensorScope scope = TensorScope.open()) {
            int[][] ids = golden.clipInputIds();
            Tensor ctx = upload(be, "clip.coop.ctx");
            assertMatches(be, "clip.coop.text_features", clip.textFeatures(ids, ctx, CONTEXT_POSITION));

            TextActivations act = clip.textForward(ids, ctx, CONTEXT_POSITION);
            assertMatches(be, "clip.coop.text_features", act.features());
            // loss = Σ features·G ⇒ dFeatures = G
            Tensor dCtx = clip.textBackward(act, upload(be, "clip.coop.G"));
            assertGradientMatches(be, "clip.coop.grad_ctx", "clip.coop.grad_ctx", dCtx);
        }
    }

    /**
     * generate.py: keys = normalize(text features with clip.coop.ctx at position 1), logits =
     * exp(logit_scale)·normalize(clip.image_features)·keysᵀ, mean CE over all C classes with
     * stage1.labels, and its gradient to ctx.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void firstStageLossAndGradientMatchHf(String backendName) throws IOException {
        try (Backend be = backend(backendName); Clip clip = load(be); TensorScope scope = TensorScope.open()) {
            Tensor images = clip.imageFeatures(upload(be, "clip.pixel_values"));
            int[][] ids = golden.clipInputIds();
            TextActivations keys = clip.textForward(ids, upload(be, "clip.coop.ctx"), CONTEXT_POSITION);
            int[] labels = golden.ints("stage1.labels");
            try (ClipLogits z = ClipLogits.compute(be, images, keys.features(), clip.logitScale())) {
                assertMatches(be, "stage1.logits", z.logits());
                int classes = (int) z.logits().dim(1);
                Tensor dLogits = be.empty(z.logits().shape());
                float loss = be.crossEntropy(z.logits(), labels, 0, classes, dLogits);
                GoldenSet.assertForward("stage1.loss", golden.get("stage1.loss"), new float[] {loss});

                Tensor dCtx = clip.textBackward(keys, z.textGradient(dLogits));
                GoldenSet.assertShape("stage1.grad_ctx", golden.shape("stage1.grad_ctx"), dCtx.shape());
                GoldenSet.assertGradient("stage1.grad_ctx", golden.get("stage1.grad_ctx"), be.toFloatArray(dCtx),
                        lossGradientTolerance());
            }
        }
    }

    /** Cutting sequences after their EOS, or computing a sequence alone, changes nothing (causal mask). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void truncationAndBatchingAreExact(String backendName) throws IOException {
        try (Backend be = backend(backendName); Clip clip = load(be); TensorScope scope = TensorScope.open()) {
            int[][] ids = golden.clipInputIds();
            int eos = clip.config().text().eosTokenId();
            float[] batched = be.toFloatArray(clip.textFeatures(ids));
            int width = batched.length / ids.length;
            for (int c = 0; c < ids.length; c++) {
                int len = 0;
                while (ids[c][len] != eos) len++;
                int[][] alone = {Arrays.copyOf(ids[c], len + 1)};
                float[] single = be.toFloatArray(clip.textFeatures(alone));
                float[] expected = Arrays.copyOfRange(batched, c * width, (c + 1) * width);
                GoldenSet.assertGradient("sequence " + c + " alone vs in the batch", expected, single, agreement(1e-6));
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void onlyTheResultsStayAllocated(String backendName) throws IOException {
        try (Backend be = backend(backendName); Clip clip = load(be); TensorScope scope = TensorScope.open()) {
            Tensor pixels = upload(be, "clip.pixel_values");
            Tensor ctx = upload(be, "clip.coop.ctx");
            Tensor g = upload(be, "clip.coop.G");
            int base = scope.size();
            clip.imageFeatures(pixels);
            assertEquals(base + 1, scope.size(), "imageFeatures leaves only its result");
            clip.visionLastHiddenState(pixels);
            assertEquals(base + 2, scope.size(), "visionLastHiddenState leaves only its result");
            clip.textFeatures(golden.clipInputIds(), ctx, CONTEXT_POSITION);
            assertEquals(base + 3, scope.size(), "textFeatures leaves only its result");
            int before = scope.size();
            TextActivations act = clip.textForward(golden.clipInputIds(), ctx, CONTEXT_POSITION);
            clip.textBackward(act, g);
            act.close();
            assertEquals(before + 1, scope.size(), "after closing the activations only the gradient remains");
        }
    }
}
