package io.starprompt.model.clip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.model.ModelValidationTest;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import io.starprompt.util.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Bad weight files, bad config files and bad arguments, on the CPU backend. */
class ClipValidationTest extends ModelValidationTest {
    private static Path config;

    @BeforeAll
    static void open() {
        weights = golden.path("clip.safetensors");
        config = golden.path("clip_config.json");
    }

    // ------------------------------------------------------------------ edited copies of the golden files

    /** A copy of the golden config.json with an edit applied to its parsed tree. */
    @SuppressWarnings("unchecked")
    private Path editedConfig(String file, Consumer<Map<String, Object>> edit) throws IOException {
        Map<String, Object> root = (Map<String, Object>) Json.parse(Files.readString(config));
        edit.accept(root);
        Path out = tmp.resolve(file);
        Files.writeString(out, toJson(root));
        return out;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> section(Map<String, Object> root, String name) {
        return (Map<String, Object>) root.get(name);
    }

    /** Minimal JSON writer for the parsed tree (maps, lists, strings, numbers, booleans, null). */
    private static String toJson(Object v) {
        if (v == null) return "null";
        if (v instanceof String s) return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
        if (v instanceof Double d) return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString(d.longValue()) : d.toString();
        if (v instanceof Map<?, ?> m) {
            StringBuilder sb = new StringBuilder("{");
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (sb.length() > 1) sb.append(',');
                sb.append(toJson(e.getKey())).append(':').append(toJson(e.getValue()));
            }
            return sb.append('}').toString();
        }
        if (v instanceof List<?> l) {
            StringBuilder sb = new StringBuilder("[");
            for (Object o : l) {
                if (sb.length() > 1) sb.append(',');
                sb.append(toJson(o));
            }
            return sb.append(']').toString();
        }
        return v.toString(); // Boolean
    }

    private static Clip load() throws IOException {
        return Clip.load(be, weights, config);
    }

    // ------------------------------------------------------------------ weights

    @Test
    void missingTensorIsNamed() throws IOException {
        for (String name : List.of("vision_model.pre_layrnorm.weight", "vision_model.embeddings.class_embedding",
                "text_model.encoder.layers.1.mlp.fc2.bias", "text_model.final_layer_norm.bias",
                "visual_projection.weight", "text_projection.weight", "logit_scale")) {
            Path p = editedCopy("missing.safetensors", d -> d.remove(name), s -> s.remove(name));
            try (TensorScope scope = TensorScope.open()) {
                assertRejected(() -> Clip.load(be, p, config), p.toString(), name, "missing");
                assertEquals(0, scope.size(), "a failed load frees what it had uploaded (" + name + ")");
            }
        }
    }

    @Test
    void wrongShapeIsNamed() throws IOException {
        String name = "text_model.encoder.layers.0.self_attn.k_proj.weight";
        Path p = editedCopy("shape.safetensors", d -> d.put(name, new float[48 * 24]), s -> s.put(name, new long[] {48, 24}));
        try (TensorScope scope = TensorScope.open()) {
            assertRejected(() -> Clip.load(be, p, config), p.toString(), name, "[48, 24]");
            assertEquals(0, scope.size(), "a failed load frees what it had uploaded");
        }
        String proj = "visual_projection.weight";
        Path q = editedCopy("proj.safetensors", d -> d.put(proj, new float[16 * 64]), s -> s.put(proj, new long[] {16, 64}));
        assertRejected(() -> Clip.load(be, q, config), proj, "[16, 64]");
        Path scale = editedCopy("scale.safetensors", d -> d.put("logit_scale", new float[2]),
                s -> s.put("logit_scale", new long[] {2}));
        assertRejected(() -> Clip.load(be, scale, config), "logit_scale", "[2]");
    }

    @Test
    void layersBeyondTheConfigAreRejected() throws IOException {
        String extra = "vision_model.encoder.layers.7.mlp.fc1.bias";
        Path p = editedCopy("deep.safetensors", d -> d.put(extra, new float[4]), s -> s.put(extra, new long[] {4}));
        assertRejected(() -> Clip.load(be, p, config), extra, "num_hidden_layers");
    }

    @Test
    void unrelatedTensorsAreIgnored() throws IOException {
        String ids = "text_model.embeddings.position_ids";
        Path p = editedCopy("ids.safetensors", d -> d.put(ids, new float[77]), s -> s.put(ids, new long[] {1, 77}));
        try (Clip clip = Clip.load(be, p, config)) {
            assertEquals(48, clip.config().text().width());
        }
    }

    // ------------------------------------------------------------------ config

    @Test
    void missingConfigFieldIsNamed() throws IOException {
        String[][] fields = {{"text_config", "eos_token_id"}, {"text_config", "max_position_embeddings"},
                {"vision_config", "patch_size"}, {"vision_config", "layer_norm_eps"}, {"vision_config", "hidden_act"},
                {"text_config", "num_attention_heads"}};
        for (String[] f : fields) {
            Path c = editedConfig("config.json", root -> section(root, f[0]).remove(f[1]));
            assertRejected(() -> Clip.load(be, weights, c), c.toString(), f[0] + "." + f[1], "missing");
        }
        Path top = editedConfig("top.json", root -> root.remove("projection_dim"));
        assertRejected(() -> Clip.load(be, weights, top), top.toString(), "projection_dim", "missing");
        Path noText = editedConfig("notext.json", root -> root.remove("text_config"));
        assertRejected(() -> Clip.load(be, weights, noText), "text_config.", "missing");
    }

    @Test
    void invalidConfigValuesAreNamed() throws IOException {
        Path act = editedConfig("act.json", root -> section(root, "text_config").put("hidden_act", "relu"));
        assertRejected(() -> Clip.load(be, weights, act), "text_config.hidden_act", "relu");
        Path heads = editedConfig("heads.json", root -> section(root, "vision_config").put("num_attention_heads", 5.0));
        assertRejected(() -> Clip.load(be, weights, heads), "vision_config.num_attention_heads", "5");
        Path size = editedConfig("size.json", root -> section(root, "vision_config").put("hidden_size", 64.5));
        assertRejected(() -> Clip.load(be, weights, size), "vision_config.hidden_size", "integer");
        Path eos = editedConfig("eos.json", root -> section(root, "text_config").put("eos_token_id", 100.0));
        assertRejected(() -> Clip.load(be, weights, eos), "text_config.eos_token_id", "vocabulary");
        Path broken = tmp.resolve("broken.json");
        Files.writeString(broken, "{\"text_config\": ");
        assertRejected(() -> Clip.load(be, weights, broken), broken.toString(), "malformed");
    }

    /** Regressions found by fuzzing: non-UTF-8 text, eps outside the float range, token counts beyond 32 bits. */
    @Test
    void configValuesBeyondTheirTypesAreNamed() throws IOException {
        Path latin1 = tmp.resolve("latin1.json");
        Files.write(latin1, new byte[] {'{', '"', (byte) 0xE9, '"', ':', '1', '}'});
        assertRejected(() -> ClipConfig.read(latin1), latin1.toString(), "UTF-8");
        for (double eps : new double[] {1e-50, 1e39}) {
            Path c = editedConfig("eps.json", root -> section(root, "text_config").put("layer_norm_eps", eps));
            assertRejected(() -> ClipConfig.read(c), c.toString(), "text_config.layer_norm_eps", "float range");
        }
        Path tokens = editedConfig("tokens.json", root -> {
            section(root, "vision_config").put("image_size", 1048576.0);
            section(root, "vision_config").put("patch_size", 1.0);
        });
        assertRejected(() -> ClipConfig.read(tokens), tokens.toString(), "vision_config.image_size", "32-bit");
        Path patch = editedConfig("patch.json", root -> {
            section(root, "vision_config").put("image_size", 65536.0);
            section(root, "vision_config").put("patch_size", 65536.0);
        });
        assertRejected(() -> ClipConfig.read(patch), patch.toString(), "vision_config.patch_size");
    }

    @Test
    void configThatDisagreesWithTheWeightsNamesTheTensor() throws IOException {
        Path c = editedConfig("width.json", root -> section(root, "text_config").put("intermediate_size", 96.0));
        assertRejected(() -> Clip.load(be, weights, c), "text_model.encoder.layers.0.mlp.fc1.weight", "[96, 48]");
    }

    /** OpenAI's configs say eos_token_id = 2 and pool at the largest id, which is where EOS is. */
    @Test
    void legacyEosIdPoolsAtTheLargestId() throws IOException {
        Path legacy = editedConfig("legacy.json", root -> section(root, "text_config").put("eos_token_id", 2.0));
        int[][] ids = golden.clipInputIds();
        try (Clip modern = load(); Clip old = Clip.load(be, weights, legacy); TensorScope scope = TensorScope.open()) {
            assertTrue(old.config().text().poolsAtLargestId());
            float[] a = be.toFloatArray(modern.textFeatures(ids)), b = be.toFloatArray(old.textFeatures(ids));
            assertTrue(Arrays.equals(a, b), "same pooling position, same features");
        }
    }

    @Test
    void numChannelsDefaultsToThree() throws IOException {
        Path c = editedConfig("channels.json", root -> section(root, "vision_config").remove("num_channels"));
        try (Clip clip = Clip.load(be, weights, c)) {
            assertEquals(3, clip.config().vision().channels());
        }
    }

    // ------------------------------------------------------------------ arguments

    @Test
    void badTokenIdsAreRejected() throws IOException {
        try (Clip clip = load(); TensorScope scope = TensorScope.open()) {
            ClipConfig.Text t = clip.config().text();
            int eos = t.eosTokenId();
            assertRejected(() -> clip.textFeatures(new int[][] {{1, 2, 3}}), "sequence 0", "end-of-text");
            assertRejected(() -> clip.textFeatures(new int[][] {{1, eos}, {1, t.vocabSize(), eos}}), "sequence 1",
                    "id " + t.vocabSize());
            assertRejected(() -> clip.textFeatures(new int[][] {{1, -1, eos}}), "id -1");
            int[] tooLong = new int[t.maxPositions() + 1];
            tooLong[1] = eos;
            assertRejected(() -> clip.textFeatures(new int[][] {tooLong}), "max_position_embeddings");
            assertRejected(() -> clip.textFeatures(new int[0][]), "no token id");
            assertRejected(() -> clip.textFeatures(new int[][] {{}}), "empty");
        }
    }

    @Test
    void badReplacedVectorsAreRejected() throws IOException {
        try (Clip clip = load(); TensorScope scope = TensorScope.open()) {
            int d = clip.config().text().width(), eos = clip.config().text().eosTokenId();
            int[][] ids = {{1, 5, 6, eos}, {1, 7, eos}};
            Tensor ctx = be.zeros(2, 1, d);
            assertRejected(() -> clip.textFeatures(ids, be.zeros(3, 1, d), 1), "replaced", "[2, 1, " + d + "]");
            assertRejected(() -> clip.textFeatures(ids, be.zeros(2, 1, d + 1), 1), "replaced");
            assertRejected(() -> clip.textFeatures(ids, null, 1), "replaced is null");
            assertRejected(() -> clip.textForward(ids, ctx, -1), "[-1, 0)");
            // Sequence 1 ends at 2: positions [2, 4) would lie past its end-of-text token.
            assertRejected(() -> clip.textForward(ids, be.zeros(2, 2, d), 2), "sequence 1", "[2, 4)");
            clip.textFeatures(ids, be.zeros(2, 2, d), 1); // [1, 3) fits both
        }
    }

    @Test
    void badBackwardArgumentsAreRejected() throws IOException {
        try (Clip clip = load(); Clip other = load(); TensorScope scope = TensorScope.open()) {
            int d = clip.config().text().width(), p = clip.config().projectionDim(), eos = clip.config().text().eosTokenId();
            int[][] ids = {{1, 5, 6, eos}, {1, 7, eos}};
            TextActivations act = clip.textForward(ids, be.zeros(2, 1, d), 1);
            assertRejected(() -> clip.textBackward(act, be.zeros(3, p)), "dFeatures", "[2, " + p + "]");
            assertRejected(() -> other.textBackward(act, be.zeros(2, p)), "another model");
            assertRejected(() -> clip.textBackward(null, be.zeros(2, p)), "null");
            act.close();
            assertThrows(IllegalStateException.class, () -> clip.textBackward(act, be.zeros(2, p)));
        }
    }

    @Test
    void badPixelsAreRejected() throws IOException {
        try (Clip clip = load(); TensorScope scope = TensorScope.open()) {
            ClipConfig.Vision v = clip.config().vision();
            assertRejected(() -> clip.imageFeatures(be.zeros(2, v.channels(), v.imageSize() + 1, v.imageSize())), "pixels");
            assertRejected(() -> clip.imageFeatures(be.zeros(v.channels(), v.imageSize(), v.imageSize())), "pixels");
            assertRejected(() -> clip.visionLastHiddenState(null), "pixels are null");
        }
    }

    @Test
    void closedModelRefusesWork() throws IOException {
        Clip clip = load();
        clip.close();
        clip.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> clip.textFeatures(new int[][] {{1, 99}}));
        assertThrows(IllegalStateException.class, clip::logitScale);
    }

    @Test
    void logitsRejectMismatchedFeatures() {
        try (TensorScope scope = TensorScope.open()) {
            assertRejected(() -> ClipLogits.compute(be, be.zeros(2, 8), be.zeros(3, 9), 0f), "width");
            assertRejected(() -> ClipLogits.compute(be, be.zeros(2, 8, 1), be.zeros(3, 8), 0f), "imageFeatures");
            try (ClipLogits z = ClipLogits.compute(be, be.fromArray(new float[] {1, 0, 0, 1}, 2, 2),
                    be.fromArray(new float[] {2, 0, 0, 3, 1, 1}, 3, 2), 0f)) {
                assertEquals(List.of(2L, 3L), List.of(z.logits().dim(0), z.logits().dim(1)));
                assertRejected(() -> z.textGradient(be.zeros(3, 2)), "dLogits");
            }
        }
    }
}
