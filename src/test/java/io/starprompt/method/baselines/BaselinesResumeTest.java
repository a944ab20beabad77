package io.starprompt.method.baselines;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.starprompt.cl.TaskData;
import io.starprompt.data.SyntheticTaskData;
import io.starprompt.method.Checkpoints;
import io.starprompt.method.ContinualMethod;
import io.starprompt.method.ContinualRun;
import io.starprompt.method.RunIdentity;
import io.starprompt.method.TinyBackbones;
import io.starprompt.method.starprompt.FirstStageConfig;
import io.starprompt.method.starprompt.StarPromptConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every baseline resumes from a checkpoint to the same matrices and final state as an uninterrupted run. */
class BaselinesResumeTest {
    private static final long SEED = 5;
    private static final int CLASSES = 6;
    private static final StarPromptConfig CFG = StarPromptConfig.builder().epochs(2)
            .set(StarPromptConfig::batchSize, 16).set(StarPromptConfig::evalBatchSize, 64)
            .change(StarPromptConfig::stage1, s -> s.set(FirstStageConfig::mogIterations, 30)
                    .set(FirstStageConfig::alignEpochs, 2)).build();

    private static ContinualMethod create(String name, TinyBackbones m) {
        Map<String, Function<TinyBackbones, ContinualMethod>> methods = Map.of(
                ZeroShotClip.NAME, b -> new ZeroShotClip(b.clip, TinyBackbones.zeroShotIds(CLASSES), 64),
                FirstStageOnly.NAME, b -> new FirstStageOnly(b.clip, TinyBackbones.promptIds(CLASSES), CFG, SEED),
                SequentialFineTuning.NAME,
                b -> new SequentialFineTuning(b.clip, b.vit, TinyBackbones.zeroShotIds(CLASSES), CFG, SEED),
                JointTraining.NAME, b -> new JointTraining(b.clip, b.vit, TinyBackbones.zeroShotIds(CLASSES), CFG, SEED));
        return methods.get(name).apply(m);
    }

    private static TaskData data(TinyBackbones m) {
        return SyntheticTaskData.builder().classes(CLASSES).tasks(3).trainPerClass(8).testPerClass(4).noise(0.2)
                .seed(SEED).imageSize(m.imageSize()).build();
    }

    private static ContinualRun.Checkpointing checkpointing(Path dir, ContinualMethod method, TaskData data) {
        return new ContinualRun.Checkpointing(dir, RunIdentity.of(method, data, SEED), Map.of());
    }

    @ParameterizedTest
    @ValueSource(strings = {ZeroShotClip.NAME, FirstStageOnly.NAME, SequentialFineTuning.NAME, JointTraining.NAME})
    void resumesToTheSameResult(String name, @TempDir Path dir) throws IOException {
        Path full = dir.resolve("full"), part = dir.resolve("part");
        ContinualRun.Result uninterrupted, resumed;
        try (TinyBackbones m = TinyBackbones.open(); ContinualMethod method = create(name, m)) {
            TaskData data = data(m);
            uninterrupted = ContinualRun.run(method, data, checkpointing(full, method, data));
        }
        try (TinyBackbones m = TinyBackbones.open(); ContinualMethod method = create(name, m)) {
            TaskData data = data(m);
            ContinualRun.run(method, data, checkpointing(part, method, data), 2);
        }
        try (TinyBackbones m = TinyBackbones.open(); ContinualMethod method = create(name, m)) {
            TaskData data = data(m);
            resumed = ContinualRun.resume(method, data, checkpointing(part, method, data));
        }
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(uninterrupted.classIl().row(i), resumed.classIl().row(i), 0.0, name + " row " + i);
            assertArrayEquals(uninterrupted.taskIl().row(i), resumed.taskIl().row(i), 0.0, name + " row " + i);
        }
        assertEquals(Checkpoints.read(full.resolve("task-003.ckpt")).state(),
                Checkpoints.read(part.resolve("task-003.ckpt")).state());
    }
}
