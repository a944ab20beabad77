package io.starprompt.method.baselines;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.cl.AccuracyMatrix;
import io.starprompt.cl.TaskData;
import io.starprompt.data.SyntheticTaskData;
import io.starprompt.method.ContinualMethod;
import io.starprompt.method.ContinualRun;
import io.starprompt.method.TinyBackbones;
import io.starprompt.method.starprompt.SmallConfigs;
import io.starprompt.method.starprompt.StarPrompt;
import io.starprompt.method.starprompt.StarPromptConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * STAR-Prompt and its baselines through the {@link ContinualMethod} contract on one synthetic
 * stream with the tiny golden backbones: the contract reproduces STAR-Prompt's own run, the
 * first-stage-only method reproduces its stage-1 accuracy, sequential fine-tuning (the lower
 * bound) forgets visibly more than STAR-Prompt, joint training (the upper bound) trains once and
 * reports prefixes of one row.
 */
class BoundsTest {
    private static final long SEED = 7;
    private static final StarPromptConfig CFG = SmallConfigs.small(3, 16, 50, 100);
    private static final int CLASSES = 8;

    private static TinyBackbones m;
    private static TaskData data;
    private static ContinualRun.Result star;
    private static ContinualRun.Result fineTuning;

    @BeforeAll
    static void runStarPromptAndTheLowerBound() {
        m = TinyBackbones.open();
        data = SyntheticTaskData.builder().classes(CLASSES).tasks(2).trainPerClass(24).testPerClass(12).noise(0.3)
                .seed(SEED).imageSize(m.imageSize()).build();
        try (StarPrompt sp = starPrompt()) {
            star = ContinualRun.run(sp, data);
        }
        try (SequentialFineTuning ft = new SequentialFineTuning(m.clip, m.vit, TinyBackbones.zeroShotIds(CLASSES), CFG,
                SEED)) {
            fineTuning = ContinualRun.run(ft, data);
        }
    }

    @AfterAll
    static void close() {
        m.close();
    }

    private static StarPrompt starPrompt() {
        return StarPrompt.builder().backend(m.be).clip(m.clip).vit(m.vit).promptIds(TinyBackbones.promptIds(CLASSES))
                .config(CFG).seed(SEED).build();
    }

    @Test
    void theContractReproducesStarPromptsRunAndItsFirstStage() {
        StarPrompt.RunResult own;
        try (StarPrompt sp = starPrompt()) {
            own = sp.run(data);
        }
        ContinualRun.Result stage1;
        try (FirstStageOnly fs = new FirstStageOnly(m.clip, TinyBackbones.promptIds(CLASSES), CFG, SEED)) {
            stage1 = ContinualRun.run(fs, data);
        }
        for (int t = 0; t < data.tasks(); t++) {
            assertArrayEquals(own.accuracy().row(t), star.classIl().row(t), 0.0, "STAR-Prompt row " + t);
            assertArrayEquals(own.firstStageAccuracy().row(t), stage1.classIl().row(t), 0.0, "stage-1 row " + t);
        }
        for (ContinualRun.Result r : List.of(star, stage1, fineTuning)) assertTaskIlAtLeastClassIl(r);
    }

    @Test
    void sequentialFineTuningLearnsEachTaskThenForgetsTheOldOne() {
        AccuracyMatrix ft = fineTuning.classIl(), sp = star.classIl();
        assertTrue(ft.get(0, 0) > 60, "fine-tuning learns task 0: " + ft);
        assertTrue(ft.get(1, 1) > 60, "fine-tuning learns task 1: " + ft);
        assertTrue(ft.forgetting() > sp.forgetting() + 30, "fine-tuning " + ft + " vs STAR-Prompt " + sp);
        assertTrue(ft.get(1, 0) < sp.get(1, 0) - 30, "fine-tuning " + ft + " vs STAR-Prompt " + sp);
        // Its task-IL accuracy stays up: the features still separate the old classes, the head ranks them last.
        assertTrue(fineTuning.taskIl().get(1, 0) > ft.get(1, 0) + 30, "task-IL " + fineTuning.taskIl());
    }

    @Test
    void jointTrainingTrainsOnceOnEverythingAndReportsPrefixesOfOneRow() {
        List<Integer> epochs = new ArrayList<>();
        ContinualRun.Result joint;
        try (JointTraining jt = new JointTraining(m.clip, m.vit, TinyBackbones.zeroShotIds(CLASSES), CFG, SEED)) {
            for (int t = 0; t < data.tasks(); t++) epochs.add(jt.epochs(t));
            joint = ContinualRun.run(jt, data);
        }
        assertEquals(List.of(CFG.stage2().epochs(), 0), epochs);
        AccuracyMatrix j = joint.classIl();
        double[] last = j.row(data.tasks() - 1);
        for (int t = 0; t < data.tasks(); t++) assertArrayEquals(Arrays.copyOf(last, t + 1), j.row(t), 0.0, "row " + t);
        assertEquals(0.0, j.forgetting(), 0.0);
        assertTrue(j.finalAverageAccuracy() > fineTuning.classIl().finalAverageAccuracy() + 20,
                "joint " + j + " vs fine-tuning " + fineTuning.classIl());
    }

    @Test
    void jointBatchesCoverTheUnionOnceAndMixTheTasks() {
        int batch = 10;
        List<TaskData.Batch> batches = new ArrayList<>();
        new JointBatches(data, batch, SEED, 0).forEach(batches::add);
        TaskData.Batch one = data.trainBatches(0, 1, 1).iterator().next();
        int vitValues = one.vitImages().length, clipValues = one.clipImages().length;
        List<Integer> labels = new ArrayList<>();
        boolean mixed = false;
        for (int i = 0; i < batches.size(); i++) {
            TaskData.Batch b = batches.get(i);
            if (i < batches.size() - 1) assertEquals(batch, b.size(), "batch " + i);
            Set<Integer> tasks = new HashSet<>();
            for (int y : b.labels()) {
                labels.add(y);
                tasks.add(y / (CLASSES / data.tasks()));
            }
            mixed |= tasks.size() > 1;
            assertEquals(b.size() * vitValues, b.vitImages().length, "batch " + i);
            assertEquals(b.size() * clipValues, b.clipImages().length, "batch " + i);
        }
        List<Integer> expected = new ArrayList<>();
        for (int t = 0; t < data.tasks(); t++) {
            for (TaskData.Batch b : data.trainBatches(t, 64, 1)) for (int y : b.labels()) expected.add(y);
        }
        labels.sort(null);
        expected.sort(null);
        assertEquals(expected, labels, "every training image once per epoch");
        assertTrue(mixed, "batches mix the tasks");
        List<TaskData.Batch> again = new ArrayList<>();
        new JointBatches(data, batch, SEED, 0).forEach(again::add);
        for (int i = 0; i < batches.size(); i++) {
            assertArrayEquals(batches.get(i).labels(), again.get(i).labels());
            assertArrayEquals(batches.get(i).vitImages(), again.get(i).vitImages());
        }
    }

    private static void assertTaskIlAtLeastClassIl(ContinualRun.Result r) {
        for (int t = 0; t < r.classIl().rows(); t++) {
            for (int j = 0; j <= t; j++) {
                assertTrue(r.taskIl().get(t, j) >= r.classIl().get(t, j), r.method() + " " + t + "," + j);
            }
        }
    }
}
