package io.starprompt.model.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.backend.Backend;
import io.starprompt.backend.cpu.CpuBackend;
import io.starprompt.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import io.starprompt.GoldenSet;
import org.junit.jupiter.api.Test;

/**
 * Reads the golden files written by the Python safetensors library. Sizes are taken from the
 * files and checked for internal consistency; a few values were read independently with Python.
 */
class GoldenSafetensorsTest {
    private static Path golden(String file) {
        Path p = GoldenSet.dir().resolve(file);
        assertTrue(Files.isRegularFile(p), "golden file missing: " + p.toAbsolutePath() + " (set -Dstarprompt.golden.dir)");
        return p;
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
            assertEquals(3, patch[1]);
            assertEquals(patch[2], patch[3], "square patches");
            long tokens = f.info("pos_embed").shape()[1];
            assertArrayEquals(new long[] {1, tokens, width}, f.info("pos_embed").shape());

            int depth = countBlocks(f.names());
            assertTrue(depth >= 1);
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
        try (SafetensorsFile f = SafetensorsFile.open(golden("golden.safetensors"))) {
            assertTrue(f.contains("vit.x"));
            float[] x = f.readFloats("vit.x", 6, 3, 32, 32);
            assertEquals(1.4452004432678223f, x[0]);
            assertEquals(-1.4505902528762817f, x[x.length - 1]);
            assertEquals(2991.6443100115057, sum(x), 1e-6);
            assertArrayEquals(new float[] {2.6591999530792236f}, f.readFloats("clip.logit_scale", 1));
            SafetensorsException e = assertThrows(SafetensorsException.class, () -> f.readFloats("vit.x", 6, 3, 224, 224));
            assertTrue(e.getMessage().contains("golden.safetensors") && e.getMessage().contains("vit.x")
                    && e.getMessage().contains("[6, 3, 32, 32]") && e.getMessage().contains("[6, 3, 224, 224]"), e.getMessage());
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
