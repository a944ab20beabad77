package io.starprompt.model.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.starprompt.backend.Backend;
import io.starprompt.backend.cpu.CpuBackend;
import io.starprompt.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import io.starprompt.GoldenSet;
import io.starprompt.util.Json;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Reads the golden files written by the Python safetensors library. Every size is taken from
 * meta.json and the tensors and checked for internal consistency, so another golden set of the
 * same layout (other widths, heads, patches, image sizes) passes unchanged. Every tensor's values
 * are compared with an independent decoding of the file's bytes; a few values read with Python
 * are pinned for the project's own set (recognised by its SHA-256 digests).
 */
class GoldenSafetensorsTest {
    /** SHA-256 of the project's golden files, whose values below were read with Python. */
    private static final Map<String, String> PUBLIC_SET = Map.of(
            "vit.safetensors", "5fc7e9dbddd5820b0446592044846420b76954f0683119357e624d851ce0c0bb",
            "golden.safetensors", "0e456a38a5b9e4bf315f8f4c827fee21955b22cdbacbcf0d02c47020f6f8b0e4");

    private static Path golden(String file) {
        Path p = GoldenSet.dir().resolve(file);
        assertTrue(Files.isRegularFile(p), "golden file missing: " + p.toAbsolutePath() + " (set -Dstarprompt.golden.dir)");
        return p;
    }

    private static Object meta() throws IOException {
        return Json.parse(Files.readString(golden("meta.json")), "meta.json");
    }

    /** Whether the golden file is the project's own, whose values were pinned with Python. */
    private static boolean isPublicSet(String file) throws IOException {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(golden(file)));
            return HexFormat.of().formatHex(digest).equals(PUBLIC_SET.get(file));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void vitWeightsHaveConsistentShapes() throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(golden("vit.safetensors"))) {
            assertEquals(new TreeSet<>(f.names()).toString(), f.names().toString(), "names are sorted");
            for (String n : new String[] {"cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias",
                    "norm.weight", "norm.bias", "blocks.0.attn.qkv.weight"}) {
                assertTrue(f.contains(n), n + " in " + f.names());
            }
            long[] cls = f.info("cls_token").shape();
            long width = cls[cls.length - 1];
            assertArrayEquals(new long[] {1, 1, width}, cls);
            long[] patch = f.info("patch_embed.proj.weight").shape();
            assertEquals(4, patch.length);
            assertEquals(width, patch[0]);
            assertTrue(patch[1] >= 1, "channels");
            assertEquals(patch[2], patch[3], "square patches");
            Object meta = meta();
            assertEquals(Json.intAt(meta, "vit", "embed_dim"), width);
            assertEquals(Json.intAt(meta, "vit", "patch_size"), patch[2]);
            long grid = Json.intAt(meta, "vit", "img_size") / patch[2];
            long tokens = f.info("pos_embed").shape()[1];
            assertEquals(1 + grid * grid, tokens, "CLS plus the patch grid of img_size / patch_size");
            assertArrayEquals(new long[] {1, tokens, width}, f.info("pos_embed").shape());

            int depth = countBlocks(f.names());
            assertEquals(Json.intAt(meta, "vit", "depth"), depth);
            for (int b = 0; b < depth; b++) {
                String p = "blocks." + b + ".";
                assertArrayEquals(new long[] {3 * width, width}, f.info(p + "attn.qkv.weight").shape());
                assertArrayEquals(new long[] {3 * width}, f.info(p + "attn.qkv.bias").shape());
                assertArrayEquals(new long[] {width, width}, f.info(p + "attn.proj.weight").shape());
                long hidden = f.info(p + "mlp.fc1.weight").shape()[0];
                assertArrayEquals(new long[] {hidden, width}, f.info(p + "mlp.fc1.weight").shape());
                assertArrayEquals(new long[] {width, hidden}, f.info(p + "mlp.fc2.weight").shape());
                assertArrayEquals(new long[] {width}, f.info(p + "norm1.weight").shape());
            }
            assertTrue(f.metadata().isEmpty());
            for (String n : f.names()) assertEquals(SafetensorsDType.F32, f.info(n).dtype(), n);
        }
    }

    private static int countBlocks(Set<String> names) {
        int depth = 0;
        while (names.contains("blocks." + depth + ".attn.qkv.weight")) depth++;
        return depth;
    }

    @Test
    void vitValuesMatchPython() throws IOException {
        assumeTrue(isPublicSet("vit.safetensors"), "values pinned for the project's own golden set only");
        try (SafetensorsFile f = SafetensorsFile.open(golden("vit.safetensors"))) {
            long width = f.info("cls_token").shape()[2];
            float[] cls = f.readFloats("cls_token", 1, 1, width);
            assertEquals(-0.020222483202815056f, cls[0]);
            assertEquals(0.007989050820469856f, cls[1]);
            assertEquals(0.011110777035355568f, cls[2]);
            assertEquals(-0.052906591939972714, sum(cls), 1e-12);
            float[] qkv = f.readFloats("blocks.1.attn.qkv.weight", 3 * width, width);
            assertEquals(-0.2325262427330017f, qkv[5]);
            assertEquals(0.03173258155584335f, qkv[qkv.length - 1]);
            float[] pos = f.readFloats("pos_embed");
            assertEquals(0.014217649586498737f, pos[pos.length - 1]);
        }
    }

    @Test
    void everyVitTensorLoadsOntoTheCpuBackendAsRead() throws IOException {
        Backend cpu = new CpuBackend();
        try (SafetensorsFile f = SafetensorsFile.open(golden("vit.safetensors"))) {
            for (String n : f.names()) {
                try (Tensor t = f.load(cpu, n)) {
                    assertArrayEquals(f.info(n).shape(), t.shape(), n);
                    assertArrayEquals(f.readFloats(n), cpu.toFloatArray(t), n);
                }
            }
        }
    }

    @Test
    void goldenSetHasTheInputs() throws IOException {
        Object meta = meta();
        long batch = Json.intAt(meta, "batch"), side = Json.intAt(meta, "vit", "img_size");
        long channels;
        try (SafetensorsFile v = SafetensorsFile.open(golden("vit.safetensors"))) {
            channels = v.info("patch_embed.proj.weight").shape()[1];
        }
        long[] shape = {batch, channels, side, side};
        String shapeText = Arrays.toString(shape);
        try (SafetensorsFile f = SafetensorsFile.open(golden("golden.safetensors"))) {
            assertTrue(f.contains("vit.x"));
            float[] x = f.readFloats("vit.x", shape);
            assertEquals(1, f.readFloats("clip.logit_scale").length);
            long[] wrong = {batch, channels, side + 1, side + 1};
            SafetensorsException e = assertThrows(SafetensorsException.class, () -> f.readFloats("vit.x", wrong));
            assertTrue(e.getMessage().contains("golden.safetensors") && e.getMessage().contains("vit.x")
                    && e.getMessage().contains(shapeText) && e.getMessage().contains(Arrays.toString(wrong)), e.getMessage());
            if (isPublicSet("golden.safetensors")) { // values read with Python from the project's own set
                assertEquals(1.4452004432678223f, x[0]);
                assertEquals(-1.4505902528762817f, x[x.length - 1]);
                assertEquals(2991.6443100115057, sum(x), 1e-6);
                assertArrayEquals(new float[] {2.6591999530792236f}, f.readFloats("clip.logit_scale", 1));
            }
        }
    }

    /** Every tensor of every golden file, as the reader gives it and as the raw bytes say. */
    @Test
    void everyValueMatchesAnIndependentDecodingOfTheBytes() throws IOException {
        for (String file : new String[] {"vit.safetensors", "clip.safetensors", "golden.safetensors"}) {
            byte[] bytes = Files.readAllBytes(golden(file));
            ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            int headerLength = Math.toIntExact(b.getLong(0));
            Map<?, ?> header = (Map<?, ?>) Json.parse(new String(bytes, 8, headerLength, StandardCharsets.UTF_8));
            int checked = 0;
            try (SafetensorsFile f = SafetensorsFile.open(golden(file))) {
                for (String name : f.names()) {
                    Map<?, ?> entry = (Map<?, ?>) header.get(name);
                    assertEquals("F32", entry.get("dtype"), file + " " + name);
                    long begin = ((Double) ((List<?>) entry.get("data_offsets")).get(0)).longValue();
                    float[] values = f.readFloats(name);
                    for (int i = 0; i < values.length; i++) {
                        float raw = b.getFloat(Math.toIntExact(8 + headerLength + begin + 4L * i));
                        if (Float.floatToRawIntBits(raw) != Float.floatToRawIntBits(values[i])) {
                            assertEquals(raw, values[i], file + " " + name + "[" + i + "]");
                        }
                    }
                    checked++;
                }
            }
            assertEquals(header.size() - (header.containsKey("__metadata__") ? 1 : 0), checked, file);
        }
    }

    @Test
    void clipUsesTransformersNames() throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(golden("clip.safetensors"))) {
            long width = f.info("vision_model.embeddings.class_embedding").shape()[0];
            for (int l = 0; f.contains("vision_model.encoder.layers." + l + ".self_attn.q_proj.weight"); l++) {
                for (String proj : new String[] {"q_proj", "k_proj", "v_proj", "out_proj"}) {
                    assertArrayEquals(new long[] {width, width},
                            f.info("vision_model.encoder.layers." + l + ".self_attn." + proj + ".weight").shape());
                }
            }
            assertTrue(f.contains("text_model.embeddings.token_embedding.weight"));
            assertEquals(1, f.readFloats("logit_scale").length);
        }
    }

    private static double sum(float[] values) {
        double s = 0;
        for (float v : values) s += v;
        return s;
    }
}
