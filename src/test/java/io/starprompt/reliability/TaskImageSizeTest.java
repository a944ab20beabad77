package io.starprompt.reliability;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.backend.Backend;
import io.starprompt.backend.cpu.CpuBackend;
import io.starprompt.method.starprompt.StarPrompt;
import io.starprompt.method.starprompt.StarPromptConfig;
import io.starprompt.data.SyntheticTaskData;
import io.starprompt.demo.RandomCheckpoints;
import io.starprompt.model.clip.Clip;
import io.starprompt.model.vit.VisionTransformer;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Task data prepared at another image size than a tower takes is refused where the images enter
 * the tower, with both sizes in the message (it used to surface as "fromArray: 73728 values do not
 * fill shape [24, 3, 56, 56]").
 */
class TaskImageSizeTest {
    private static final int CLASSES = 2;

    @TempDir
    Path dir;

    private StarPrompt starPrompt(Backend be, VisionTransformer vit, Clip clip) {
        int[][] ids = new int[CLASSES][];
        for (int c = 0; c < CLASSES; c++) ids[c] = new int[] {98, 5, 20 + 3 * c, 21 + 3 * c, 99};
        StarPromptConfig cfg = StarPromptConfig.builder().epochs(1).set(StarPromptConfig::batchSize, 4)
                .set(StarPromptConfig::evalBatchSize, 24).build();
        return StarPrompt.builder().backend(be).vit(vit).clip(clip).promptIds(ids).config(cfg).seed(1).build();
    }

    private static SyntheticTaskData data(int vitSize, int clipSize) {
        return SyntheticTaskData.builder().classes(CLASSES).tasks(1).trainPerClass(12).testPerClass(2)
                .vitImageSize(vitSize).clipImageSize(clipSize).seed(2).build();
    }

    @Test
    void imagesOfAnotherSizeThanATowerNameBothSizes() throws IOException {
        RandomCheckpoints.Tower tower = new RandomCheckpoints.Tower(56, 8, 32, 1, 2);
        RandomCheckpoints.writeVit(dir.resolve("vit.safetensors"), tower, 3);
        RandomCheckpoints.writeClip(dir.resolve("clip.safetensors"), dir.resolve("config.json"), tower, 100, 32, 1, 2, 16, 4);
        try (Backend be = new CpuBackend();
                VisionTransformer vit = VisionTransformer.load(be, dir.resolve("vit.safetensors"), tower.heads());
                Clip clip = Clip.load(be, dir.resolve("clip.safetensors"), dir.resolve("config.json"))) {
            try (StarPrompt sp = starPrompt(be, vit, clip)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> sp.run(data(56, 32)));
                assertTrue(e.getMessage().contains("CLIP image tower input: 24 images of 3×32×32 (32 px)")
                        && e.getMessage().contains("takes 3×56×56 images (56 px)"), e.getMessage());
            }
            try (StarPrompt sp = starPrompt(be, vit, clip)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> sp.run(data(32, 56)));
                assertTrue(e.getMessage().contains("ViT input: 4 images of 3×32×32 (32 px)")
                        && e.getMessage().contains("the ViT takes 3×56×56 images (56 px)"), e.getMessage());
            }
        }
    }
}
