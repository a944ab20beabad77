package io.starprompt.fuzz;

import io.starprompt.GoldenSet;
import io.starprompt.model.clip.ClipConfig;
import io.starprompt.model.vit.VitConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HF CLIP config.json reader on mutated files: a config is read with all its derived sizes,
 * or refused with an IllegalArgumentException naming the file.
 */
class ClipConfigFuzzTest {
    @TempDir(factory = Fuzzer.MemoryTempDir.class)
    static Path dir;

    /** Only the fields the reader looks at, so that most mutations hit them. */
    static final String COMPACT = "{\"projection_dim\": 32, \"text_config\": {\"vocab_size\": 100, \"hidden_size\": 48,"
            + " \"intermediate_size\": 192, \"num_hidden_layers\": 2, \"num_attention_heads\": 4,"
            + " \"max_position_embeddings\": 77, \"hidden_act\": \"quick_gelu\", \"layer_norm_eps\": 1e-05,"
            + " \"eos_token_id\": 99}, \"vision_config\": {\"image_size\": 32, \"patch_size\": 8, \"hidden_size\": 64,"
            + " \"intermediate_size\": 256, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_channels\": 3,"
            + " \"hidden_act\": \"gelu\", \"layer_norm_eps\": 1e-05}}";

    static byte[][] seeds() throws IOException {
        return new byte[][] {
            COMPACT.getBytes(StandardCharsets.UTF_8),
            // The original OpenAI layout: no num_channels, eos_token_id 2 (pool at the largest id).
            COMPACT.replace(", \"num_channels\": 3", "").replace("\"eos_token_id\": 99", "\"eos_token_id\": 2")
                    .getBytes(StandardCharsets.UTF_8),
            Files.readAllBytes(GoldenSet.dir().resolve("clip_config.json")),
        };
    }

    /** Reads the config and every size derived from it. */
    static void readEverything(Path file) {
        ClipConfig c;
        try {
            c = ClipConfig.read(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        VitConfig v = c.vision().asVit();
        if (c.vision().tokens() != v.tokens() || v.tokens() < 2 || v.patchDim() < 1 || v.headDim() < 1) {
            throw new AssertionError("inconsistent derived sizes: " + c);
        }
        if (!(c.vision().layerNormEps() > 0) || !(c.text().layerNormEps() > 0)
                || Float.isInfinite(c.vision().layerNormEps()) || Float.isInfinite(c.text().layerNormEps())) {
            throw new AssertionError("accepted a LayerNorm eps that is not a positive float: " + c);
        }
    }

    @Test
    void clipConfigReader() throws IOException {
        Path file = dir.resolve("config.json");
        Fuzzer.target("clip config.json")
                .seeds(seeds())
                .parseFile(file, ClipConfigFuzzTest::readEverything)
                .run();
    }
}
