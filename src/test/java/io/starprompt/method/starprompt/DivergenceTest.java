package io.starprompt.method.starprompt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.starprompt.cl.TaskData;
import io.starprompt.data.SyntheticTaskData;
import io.starprompt.method.Checkpoints;
import io.starprompt.method.ContinualRun;
import io.starprompt.method.RunIdentity;
import io.starprompt.method.TinyBackbones;
import io.starprompt.method.TrainingDivergedException;
import io.starprompt.method.starprompt.StarPromptConfig.Alignment;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A NaN that enters training in the second task stops the run at the step that meets it, with a
 * message naming the method, the task, epoch and step (counted from 1), the phase and the tensor;
 * the checkpoint of the first task stays the latest and still loads, and no checkpoint of the
 * second task is written.
 */
class DivergenceTest {
    private static final long SEED = 5;
    private static final StarPromptConfig CFG = SmallConfigs.small(1, 8, 10, 20).toBuilder()
            .change(StarPromptConfig::stage1, s -> s.set(FirstStageConfig::alignEpochs, 1))
            .change(StarPromptConfig::alignment, a -> a.set(Alignment::epochs, 1).set(Alignment::epochsPerTask, 0))
            .build();

    /** The images the CLIP tower sees (first stage) or the ViT sees (second stage) in one task's first batch, a NaN pixel in each. */
    private record Poisoned(TaskData data, int task, boolean vit) implements TaskData {
        @Override
        public int classes() {
            return data.classes();
        }

        @Override
        public int tasks() {
            return data.tasks();
        }

        @Override
        public int[] classesOfTask(int t) {
            return data.classesOfTask(t);
        }

        @Override
        public List<String> classNames() {
            return data.classNames();
        }

        @Override
        public Iterable<Batch> trainBatches(int t, int batchSize, long seed) {
            Iterable<Batch> b = data.trainBatches(t, batchSize, seed);
            return t == task && vit ? poisonFirst(b, true) : b;
        }

        @Override
        public Iterable<Batch> testBatches(int t, int batchSize) {
            return data.testBatches(t, batchSize);
        }

        @Override
        public Iterable<Batch> clipBatches(int t, Split split, int batchSize) {
            Iterable<Batch> b = data.clipBatches(t, split, batchSize);
            return t == task && !vit && split == Split.TRAIN ? poisonFirst(b, false) : b;
        }

        private static Iterable<Batch> poisonFirst(Iterable<Batch> batches, boolean vitImages) {
            List<Batch> out = new ArrayList<>();
            for (Batch b : batches) {
                if (out.isEmpty()) {
                    float[] vit = b.vitImages() == null ? null : b.vitImages().clone();
                    float[] clip = b.clipImages().clone();
                    float[] target = vitImages ? vit : clip;
                    int perImage = target.length / b.size();
                    for (int i = 0; i < b.size(); i++) target[i * perImage + 5] = Float.NaN; // every image of the batch
                    b = new Batch(vit, clip, b.labels());
                }
                out.add(b);
            }
            return out;
        }
    }

    private static TrainingDivergedException divergedInTask2(Path dir, boolean vit) throws IOException {
        try (TinyBackbones m = TinyBackbones.open();
                StarPrompt sp = StarPrompt.builder().backend(m.be).clip(m.clip).vit(m.vit)
                        .promptIds(TinyBackbones.promptIds(4)).config(CFG).seed(SEED).build()) {
            TaskData clean = SyntheticTaskData.builder().classes(4).tasks(2).trainPerClass(8).testPerClass(2).noise(0.2)
                    .seed(SEED).imageSize(m.imageSize()).build();
            TaskData data = new Poisoned(clean, 1, vit);
            RunIdentity id = RunIdentity.of(sp, data, SEED);
            ContinualRun.Checkpointing ckpt = new ContinualRun.Checkpointing(dir, id, Map.of());
            TrainingDivergedException e = assertThrows(TrainingDivergedException.class,
                    () -> ContinualRun.run(sp, data, ckpt));
            assertEquals(dir.resolve("task-001.ckpt"), Checkpoints.latest(dir).orElseThrow());
            assertEquals(0, Checkpoints.read(dir.resolve("task-001.ckpt"), id).task(), "the first task's checkpoint loads");
            assertFalse(Files.exists(dir.resolve("task-002.ckpt")));
            try (var files = Files.list(dir)) {
                assertEquals(1, files.count(), "no temporary file left behind");
            }
            return e;
        }
    }

    @Test
    void aNaNImageInTheSecondTaskStopsTheFirstStageAtItsFirstStep(@TempDir Path dir) throws IOException {
        TrainingDivergedException e = divergedInTask2(dir, false);
        assertEquals("star-prompt: training diverged at task 2, epoch 1, step 1 (first stage): the loss holds NaN",
                e.getMessage());
        assertEquals("star-prompt", e.method());
        assertEquals(1, e.task());
    }

    @Test
    void aNaNImageInTheSecondTaskStopsTheSecondStageAtItsFirstStep(@TempDir Path dir) throws IOException {
        TrainingDivergedException e = divergedInTask2(dir, true);
        assertEquals("star-prompt: training diverged at task 2, epoch 1, step 1 (second stage): the loss holds NaN",
                e.getMessage());
    }
}
