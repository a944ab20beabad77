package io.starprompt.method.starprompt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.cl.TaskData;
import io.starprompt.data.SyntheticTaskData;
import io.starprompt.method.CheckpointException;
import io.starprompt.method.Checkpoints;
import io.starprompt.method.ContinualRun;
import io.starprompt.method.MethodState;
import io.starprompt.method.RunIdentity;
import io.starprompt.method.TinyBackbones;
import io.starprompt.method.starprompt.StarPromptConfig.Alignment;
import io.starprompt.method.starprompt.StarPromptConfig.Stage2;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoint and resume of STAR-Prompt: 3 tasks uninterrupted, and 2 tasks, checkpoint, everything
 * closed, a new instance (new backend, backbones and data) restored from the file and task 3 →
 * the same accuracy matrices and the same final state, bit for bit. State of another model or
 * configuration is refused.
 */
class StarPromptResumeTest {
    private static final long SEED = 11;
    private static final int CLASSES = 6;
    private static final StarPromptConfig CFG = SmallConfigs.small(2, 16, 30, 50).toBuilder()
            .change(StarPromptConfig::stage1, s -> s.set(FirstStageConfig::alignEpochs, 2))
            .change(StarPromptConfig::alignment, a -> a.set(Alignment::epochs, 2).set(Alignment::epochsPerTask, 1))
            .build();

    private static TaskData data(int imageSize) {
        return SyntheticTaskData.builder().classes(CLASSES).tasks(3).trainPerClass(12).testPerClass(6).noise(0.2)
                .seed(SEED).imageSize(imageSize).build();
    }

    private static StarPrompt starPrompt(TinyBackbones m, int classes, StarPromptConfig cfg) {
        return StarPrompt.builder().backend(m.be).clip(m.clip).vit(m.vit).promptIds(TinyBackbones.promptIds(classes))
                .config(cfg).seed(SEED).build();
    }

    private static ContinualRun.Checkpointing checkpointing(Path dir, StarPrompt sp, TaskData data) {
        return new ContinualRun.Checkpointing(dir, RunIdentity.of(sp, data, SEED), Map.of("epochs", "2"));
    }

    @Test
    void aResumedRunEndsExactlyLikeAnUninterruptedOne(@TempDir Path dir) throws IOException {
        Path full = dir.resolve("full"), part = dir.resolve("part");
        ContinualRun.Result uninterrupted, resumed;
        try (TinyBackbones m = TinyBackbones.open(); StarPrompt sp = starPrompt(m, CLASSES, CFG)) {
            TaskData data = data(m.imageSize());
            uninterrupted = ContinualRun.run(sp, data, checkpointing(full, sp, data));
        }
        try (TinyBackbones m = TinyBackbones.open(); StarPrompt sp = starPrompt(m, CLASSES, CFG)) {
            TaskData data = data(m.imageSize());
            ContinualRun.Result twoTasks = ContinualRun.run(sp, data, checkpointing(part, sp, data), 2);
            assertEquals(2, twoTasks.classIl().rows());
        }
        assertEquals(part.resolve("task-002.ckpt"), Checkpoints.latest(part).orElseThrow());
        try (TinyBackbones m = TinyBackbones.open(); StarPrompt sp = starPrompt(m, CLASSES, CFG)) {
            TaskData data = data(m.imageSize());
            resumed = ContinualRun.resume(sp, data, checkpointing(part, sp, data));
            assertEquals(3, sp.tasksLearned());
        }
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(uninterrupted.classIl().row(i), resumed.classIl().row(i), 0.0, "class-IL row " + i);
            assertArrayEquals(uninterrupted.taskIl().row(i), resumed.taskIl().row(i), 0.0, "task-IL row " + i);
        }
        assertEquals(Checkpoints.read(full.resolve("task-003.ckpt")).state(),
                Checkpoints.read(part.resolve("task-003.ckpt")).state(), "state after the last task");
    }

    @Test
    void aCorruptLatestCheckpointStopsTheResumeAndThePreviousOneStillResumes(@TempDir Path dir) throws IOException {
        try (TinyBackbones m = TinyBackbones.open(); StarPrompt sp = starPrompt(m, CLASSES, CFG)) {
            TaskData data = data(m.imageSize());
            ContinualRun.run(sp, data, checkpointing(dir, sp, data), 2);
        }
        Path last = dir.resolve("task-002.ckpt");
        try (RandomAccessFile f = new RandomAccessFile(last.toFile(), "rw")) {
            f.setLength(f.length() - 100);
        }
        try (TinyBackbones m = TinyBackbones.open(); StarPrompt sp = starPrompt(m, CLASSES, CFG)) {
            TaskData data = data(m.imageSize());
            ContinualRun.Checkpointing ckpt = checkpointing(dir, sp, data);
            CheckpointException e = assertThrows(CheckpointException.class, () -> ContinualRun.resume(sp, data, ckpt));
            assertTrue(e.getMessage().contains("task-002.ckpt"), e.getMessage());
            assertEquals(0, sp.tasksLearned(), "nothing restored from a refused file");
            Checkpoints.Checkpoint previous = Checkpoints.read(dir.resolve("task-001.ckpt"), ckpt.identity());
            ContinualRun.Result r = ContinualRun.resume(sp, data, ckpt, previous);
            assertEquals(3, r.classIl().rows());
        }
        assertTrue(Files.isRegularFile(dir.resolve("task-003.ckpt")));
    }

    @Test
    void stateOfAnotherModelOrConfigurationIsRefused() {
        try (TinyBackbones m = TinyBackbones.open()) {
            MethodState saved;
            try (StarPrompt sp = starPrompt(m, CLASSES, CFG)) {
                sp.firstStage();
                saved = sp.saveState();
            }
            try (StarPrompt other = starPrompt(m, CLASSES + 2, CFG)) {
                CheckpointException e = assertThrows(CheckpointException.class, () -> other.restoreState(saved));
                assertTrue(e.getMessage().contains("'keys' has shape [6, 32], this model needs [8, 32]"), e.getMessage());
            }
            try (StarPrompt other = starPrompt(m, CLASSES, CFG.toBuilder()
                    .change(StarPromptConfig::stage2, s -> s.set(Stage2::lr, 0.5f)).build())) {
                CheckpointException e = assertThrows(CheckpointException.class, () -> other.restoreState(saved));
                assertTrue(e.getMessage().startsWith("state config differs"), e.getMessage());
            }
        }
    }
}
