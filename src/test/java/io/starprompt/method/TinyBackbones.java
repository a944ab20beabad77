package io.starprompt.method;

import io.starprompt.GoldenSet;
import io.starprompt.backend.Backend;
import io.starprompt.backend.Backends;
import io.starprompt.model.Precision;
import io.starprompt.model.clip.Clip;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.util.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The tiny golden checkpoints as frozen backbones on the CPU backend (or the one named by
 * {@code -Dstarprompt.test.backend}): ViT (heads from meta.json)
 * and HF CLIP (clip_config.json), plus stage-1 prompt ids for the tiny vocabulary
 * ([BOS, X, name tokens…, EOS]). Close it to free everything.
 */
public final class TinyBackbones implements AutoCloseable {
    public final Backend be;
    public final Clip clip;
    public final VisionTransformer vit;

    private TinyBackbones(Backend be, Clip clip, VisionTransformer vit) {
        this.be = be;
        this.clip = clip;
        this.vit = vit;
    }

    public static TinyBackbones open() {
        return open(Precision.FP32);
    }

    /** The backbones loaded in that precision. */
    public static TinyBackbones open(Precision precision) {
        Path dir = GoldenSet.dir();
        Backend be = Backends.create(System.getProperty("starprompt.test.backend", "cpu"));
        try {
            Object meta = Json.parse(Files.readString(dir.resolve("meta.json")));
            Clip clip = Clip.load(be, dir.resolve("clip.safetensors"), dir.resolve("clip_config.json"), precision);
            VisionTransformer vit = VisionTransformer.load(be, dir.resolve("vit.safetensors"),
                    Json.intAt(meta, "vit", "num_heads"), precision);
            return new TinyBackbones(be, clip, vit);
        } catch (IOException e) {
            be.close();
            throw new UncheckedIOException(e);
        }
    }

    public int imageSize() {
        return vit.config().imageSize();
    }

    /** "X name." stand-ins for the tiny vocabulary: BOS, X, two class tokens, EOS. */
    public static int[][] promptIds(int classes) {
        int[][] ids = new int[classes][];
        for (int c = 0; c < classes; c++) ids[c] = new int[] {98, 5, 20 + 3 * c, 21 + 3 * c, 99};
        return ids;
    }

    /** Stand-ins for "a photo of a {name}.". */
    public static int[][] zeroShotIds(int classes) {
        int[][] ids = new int[classes][];
        for (int c = 0; c < classes; c++) ids[c] = new int[] {98, 7, 8, 9, 20 + 3 * c, 21 + 3 * c, 99};
        return ids;
    }

    @Override
    public void close() {
        vit.close();
        clip.close();
        be.close();
    }
}
