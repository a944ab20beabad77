package io.starprompt.method.starprompt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.cl.AccuracyMatrix;
import io.starprompt.cl.TaskData;
import io.starprompt.data.SyntheticTaskData;
import io.starprompt.method.TinyBackbones;
import io.starprompt.method.TrainingListener;
import io.starprompt.method.common.Adam;
import io.starprompt.method.common.HeadSnapshot;
import io.starprompt.method.starprompt.StarPromptConfig.Alignment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * STAR-Prompt end to end on {@link SyntheticTaskData} with the tiny golden backbones (CPU
 * backend): learning across tasks, the effect of the stage-2 replay alignment, the cosine
 * schedule as used by training, head backup/recall, and the two-run variant.
 */
class StarPromptTest {
    private static final long SEED = 7;

    private static StarPromptConfig smallConfig(int epochs) {
        return SmallConfigs.small(epochs, 16, 50, 100);
    }

    /** A synthetic benchmark at the backbones' own image sizes, whatever the golden set's. */
    private static SyntheticTaskData.Builder sizedFor(TinyBackbones m) {
        return SyntheticTaskData.builder().vitImageSize(m.vit.config().imageSize())
                .clipImageSize(m.clip.config().vision().imageSize());
    }

    private static StarPrompt build(TinyBackbones m, int classes, StarPromptConfig cfg, TrainingListener l) {
        return StarPrompt.builder().backend(m.be).clip(m.clip).vit(m.vit).promptIds(TinyBackbones.promptIds(classes))
                .config(cfg).seed(SEED).listener(l).build();
    }

    /** Mean over task-0 test images of (best new-class logit − best old-class logit) after the last task. */
    private static double newClassBias(StarPrompt sp, TaskData data) {
        int seen = data.classes(), old = data.classesOfTask(0).length;
        double gap = 0;
        int n = 0;
        for (TaskData.Batch b : data.testBatches(0, 64)) {
            float[] z = sp.inference().logits(b.vitImages(), b.clipImages(), 64, seen);
            for (int i = 0; i < b.size(); i++) {
                float mo = Float.NEGATIVE_INFINITY, mn = Float.NEGATIVE_INFINITY;
                for (int c = 0; c < seen; c++) {
                    if (c < old) mo = Math.max(mo, z[i * seen + c]);
                    else mn = Math.max(mn, z[i * seen + c]);
                }
                gap += mn - mo;
                n++;
            }
        }
        return gap / n;
    }

    /** (a) + (b): two tasks, 8 classes; replay alignment on vs off from the same stage-1 keys. */
    @Test
    void learnsTwoTasksAndReplayAlignmentPreventsTheNewClassBias() {
        StarPromptConfig cfg = smallConfig(4);
        List<float[]> lrs = new ArrayList<>();
        TrainingListener recorder = new TrainingListener() {
            @Override
            public void epochEnded(Epoch e) {
                if (e.phase() == Phase.SECOND_STAGE) lrs.add(new float[] {e.task(), e.epoch(), e.lr()});
                assertTrue(Double.isFinite(e.meanLoss()), e.phase() + " loss " + e.meanLoss());
            }
        };
        try (TinyBackbones m = TinyBackbones.open()) {
            SyntheticTaskData data = sizedFor(m).classes(8).tasks(2).trainPerClass(32).testPerClass(16)
                    .noise(0.4).seed(SEED).build();
            StarPrompt.RunResult aligned, unaligned;
            double biasAligned, biasUnaligned;
            FirstStage.KeyStore keys;
            try (StarPrompt sp = build(m, 8, cfg, recorder)) {
                StarPrompt.FirstStageRun s1 = sp.runFirstStageOnly(data);
                keys = s1.keys();
                assertEquals(8, keys.seen());
                // Stage 1 alone already beats chance (1/8) clearly.
                assertTrue(s1.accuracy().finalAverageAccuracy() > 40, "stage 1: " + s1.accuracy());
                aligned = sp.runSecondStageFromKeys(keys, data);
                biasAligned = newClassBias(sp, data);
                assertEquals(1 + cfg.alignEpochsOfTask(1) - 1, aligned.tasks().get(1).headAlignmentLosses().length);
                assertEquals(0, aligned.tasks().get(0).headAlignmentLosses().length); // no alignment at t = 0
            }
            try (StarPrompt sp = build(m, 8, cfg.toBuilder()
                    .change(StarPromptConfig::alignment, a -> a.set(Alignment::enabled, false)).build(), null)) {
                unaligned = sp.runSecondStageFromKeys(keys, data);
                biasUnaligned = newClassBias(sp, data);
                assertEquals(0, unaligned.tasks().get(1).headAlignmentLosses().length);
            }
            AccuracyMatrix a = aligned.accuracy(), u = unaligned.accuracy();
            // Identical until the first alignment (same seeds, same keys).
            assertEquals(a.get(0, 0), u.get(0, 0), 0.0);
            assertTrue(a.get(0, 0) > 70, "task 0 after task 0: " + a);
            // Old task after the new one: well above chance with alignment, clearly worse without.
            assertTrue(a.get(1, 0) > 60, "task 0 after task 1 with alignment: " + a);
            assertTrue(a.get(1, 1) > 60, "task 1 after task 1 with alignment: " + a);
            assertTrue(a.get(1, 0) > u.get(1, 0) + 20, "alignment " + a + " vs none " + u);
            assertTrue(a.finalAverageAccuracy() > u.finalAverageAccuracy() + 15, "alignment " + a + " vs none " + u);
            assertTrue(biasAligned < biasUnaligned, "new-class logit bias " + biasAligned + " vs " + biasUnaligned);
        }
        // (b) training used the cosine schedule, restarted every task.
        assertEquals(8, lrs.size());
        for (float[] r : lrs) {
            assertEquals(SecondStageTrainer.cosineLr(cfg.stage2().lr(), (int) r[1], 4), r[2], 0f);
        }
        assertTrue(lrs.get(3)[2] < 0.02f * cfg.stage2().lr());
        assertEquals(cfg.stage2().lr(), lrs.get(4)[2], 0f);
    }

    /** (e) backup/recall: the head at the start of task t + 1 is the un-aligned head of task t. */
    @Test
    void headAtTheStartOfTheNextTaskIsTheUnalignedBackup() {
        StarPromptConfig cfg = smallConfig(2).toBuilder()
                .change(StarPromptConfig::alignment, a -> a.set(Alignment::epochs, 3)
                        .set(Alignment::epochsPerTask, 1)).build();
        List<HeadSnapshot> atStart = new ArrayList<>();
        StarPrompt[] holder = new StarPrompt[1];
        TrainingListener capture = new TrainingListener() {
            @Override
            public void phaseStarted(Phase phase, int task) {
                if (phase == Phase.SECOND_STAGE) atStart.add(HeadSnapshot.of(holder[0].model().vit().backend(),
                        holder[0].model().head()));
            }
        };
        try (TinyBackbones m = TinyBackbones.open(); StarPrompt sp = build(m, 6, cfg, capture)) {
            SyntheticTaskData data = sizedFor(m).classes(6).tasks(3).trainPerClass(12).testPerClass(4)
                    .noise(0.2).seed(SEED).build();
            holder[0] = sp;
            SecondStageTrainer tr = sp.trainer();
            StarPrompt.TaskResult r0 = sp.learnTask(0, data);
            assertEquals(2, r0.firstStageLosses().length);
            assertEquals(2, r0.secondStageLosses().length);
            HeadSnapshot backup0 = tr.backup();
            assertTrue(backup0.matches(m.be, sp.model().head()), "no alignment at t = 0");
            StarPrompt.TaskResult r1 = sp.learnTask(1, data);
            assertEquals(4, r1.headAlignmentLosses().length); // E2 + 1·t
            HeadSnapshot backup1 = tr.backup();
            assertFalse(backup1.matches(m.be, sp.model().head()), "task 1 alignment must change the head");
            float[] promptsBefore = m.be.toFloatArray(sp.model().prompter().prompts());
            float[] modulationBefore = m.be.toFloatArray(sp.model().prompter().modulation());
            sp.learnTask(2, data);
            HeadSnapshot backup2 = tr.backup();

            assertEquals(3, atStart.size());
            assertEquals(backup0, atStart.get(1), "start of task 1 = backup of task 0");
            assertEquals(backup1, atStart.get(2), "start of task 2 = un-aligned backup of task 1");
            // Training task 2 leaves the head rows of past classes [0, 4) untouched (masked CE, fresh Adam) …
            int w = backup1.width();
            assertArrayEquals(Arrays.copyOf(backup1.weight(), 4 * w), Arrays.copyOf(backup2.weight(), 4 * w));
            assertArrayEquals(Arrays.copyOf(backup1.bias(), 4), Arrays.copyOf(backup2.bias(), 4));
            assertFalse(Arrays.equals(Arrays.copyOfRange(backup1.weight(), 4 * w, 6 * w),
                    Arrays.copyOfRange(backup2.weight(), 4 * w, 6 * w)), "current rows must train");
            // … and the prompts and modulation of past classes too.
            assertPastRowsUnchanged(promptsBefore, m.be.toFloatArray(sp.model().prompter().prompts()),
                    sp.model().prompter().layers(), 6, 4);
            assertPastRowsUnchanged(modulationBefore, m.be.toFloatArray(sp.model().prompter().modulation()),
                    sp.model().prompter().layers(), 6, 4);
            for (int c = 0; c < 6; c++) assertNotNull(tr.replayModel(c));
            double[] acc = sp.accuracyRow(data, 2);
            assertEquals(3, acc.length);
        }
    }

    private static void assertPastRowsUnchanged(float[] before, float[] after, int layers, int classes, int past) {
        int row = before.length / (layers * classes);
        for (int l = 0; l < layers; l++) {
            int from = l * classes * row;
            assertArrayEquals(Arrays.copyOfRange(before, from, from + past * row),
                    Arrays.copyOfRange(after, from, from + past * row), "layer " + l);
        }
    }

    /** The two-run variant through a saved key file reproduces the end-to-end run exactly. */
    @Test
    void twoRunVariantFromSavedKeysEqualsEndToEnd(@TempDir Path dir) throws Exception {
        StarPromptConfig cfg = smallConfig(2).toBuilder()
                .change(StarPromptConfig::alignment, a -> a.set(Alignment::epochs, 2)).build();
        try (TinyBackbones m = TinyBackbones.open()) {
            SyntheticTaskData data = sizedFor(m).classes(4).tasks(2).trainPerClass(12).testPerClass(6)
                    .noise(0.2).seed(SEED).build();
            StarPrompt.RunResult e2e;
            FirstStage.KeyStore e2eKeys;
            try (StarPrompt sp = build(m, 4, cfg, null)) {
                e2e = sp.run(data);
                e2eKeys = sp.keyStore();
            }
            Path file = dir.resolve("keys.safetensors");
            try (StarPrompt sp = build(m, 4, cfg, null)) {
                sp.runFirstStageOnly(data).keys().writeTo(file);
            }
            FirstStage.KeyStore loaded = FirstStage.KeyStore.readFrom(file);
            assertEquals(e2eKeys, loaded);
            StarPrompt.RunResult twoRun;
            try (StarPrompt sp = StarPrompt.builder().backend(m.be).clip(m.clip).vit(m.vit).classes(4).config(cfg)
                    .seed(SEED).build()) {
                twoRun = sp.runSecondStageFromKeys(loaded, data);
                // predict() agrees with the evaluation and does not depend on the batch size.
                TaskData.Batch b = data.testBatches(1, 100).iterator().next();
                assertArrayEquals(sp.predict(b.vitImages(), b.clipImages(), 100, 4),
                        sp.predict(b.vitImages(), b.clipImages(), 5, 4));
            }
            for (int i = 0; i < 2; i++) {
                assertArrayEquals(e2e.accuracy().row(i), twoRun.accuracy().row(i), 0.0, "row " + i);
                assertArrayEquals(e2e.firstStageAccuracy().row(i), twoRun.firstStageAccuracy().row(i), 0.0);
                assertArrayEquals(e2e.tasks().get(i).secondStageLosses(), twoRun.tasks().get(i).secondStageLosses(), 0.0);
            }
        }
    }
}
