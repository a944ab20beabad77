package io.starprompt.method.dualprompt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.backend.Backend;
import io.starprompt.backend.Backends;
import io.starprompt.method.prompting.PrefixPromptChecks;
import io.starprompt.method.prompting.PrefixPromptMethod.ClassRange;
import io.starprompt.model.vit.Prompts;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.IntPredicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DualPrompt on a tiny random ViT of 6 layers (G in 0–1, E in 2–4): the gradient of every
 * trainable tensor against finite differences on the float64 reference backend, the CPU backend
 * against the reference, the E-prompt copy at a task's start, learning a synthetic stream, and
 * resuming from a checkpoint.
 */
class DualPromptTest {
    private static final long SEED = 13;
    /** A pool of 4 E-prompts of length 2, G-prompts of length 3. */
    private static final DualPromptConfig CFG = DualPromptConfig.builder().set(DualPromptConfig::gLength, 3).set(DualPromptConfig::eLength, 2).set(DualPromptConfig::poolSize, 4).set(DualPromptConfig::epochs, 2)
            .set(DualPromptConfig::batchSize, 8).set(DualPromptConfig::evalBatchSize, 16).build();
    private static final int TASK = 1, TASKS = 3, CLASSES = 6;
    private static final List<String> NAMES = PrefixPromptChecks.classNames(CLASSES);
    private static final int[] LABELS = {2, 3, 3, 2};
    private static final ClassRange RANGE = new ClassRange(2, 4);

    @TempDir
    static Path dir;

    @Test
    void gradientsMatchFiniteDifferences() {
        try (Backend be = Backends.create("reference"); VisionTransformer vit = PrefixPromptChecks.vit(be, dir);
                DualPrompt m = new DualPrompt(vit, NAMES.size(), CFG, SEED);
                TensorScope scope = TensorScope.open()) {
            PrefixPromptChecks.prepareUpTo(m, TASK, TASKS);
            int width = vit.config().width(), eRow = 2 * CFG.eLength() * width;
            Map<String, IntPredicate> trained = Map.of(
                    "g-prompt", i -> true,
                    "e-prompts", i -> (i / eRow) % CFG.poolSize() == TASK,
                    "e-keys", i -> i / width == TASK,
                    "head.weight", i -> i / width >= RANGE.past() && i / width < RANGE.seen(),
                    "head.bias", i -> i >= RANGE.past() && i < RANGE.seen());
            PrefixPromptChecks.gradientsMatchFiniteDifferences(m, TASK, TASKS, PrefixPromptChecks.images(be, 4, 3),
                    LABELS, RANGE, trained, 3e-3);
        }
    }

    @Test
    void cpuMatchesTheReference() {
        PrefixPromptChecks.cpuMatchesReference(vit -> new DualPrompt(vit, NAMES.size(), CFG, SEED), dir, TASK, TASKS,
                LABELS, RANGE);
    }

    @Test
    void aTaskStartsFromTheLastEPromptButNotFromItsKey() {
        try (Backend be = Backends.create("cpu"); VisionTransformer vit = PrefixPromptChecks.vit(be, dir);
                DualPrompt m = new DualPrompt(vit, NAMES.size(), CFG, SEED)) {
            float[] keysBefore = be.toFloatArray(m.parameters().get("e-keys"));
            PrefixPromptChecks.prepareUpTo(m, 2, TASKS);
            Tensor e = m.parameters().get("e-prompts");
            float[] v = be.toFloatArray(e);
            int row = (int) e.dim(2);
            for (int l = 0; l < CFG.eLayers(); l++) {
                int base = l * CFG.poolSize() * row;
                float[] first = Arrays.copyOfRange(v, base, base + row);
                for (int t = 1; t <= 2; t++) {
                    assertArrayEquals(first, Arrays.copyOfRange(v, base + t * row, base + (t + 1) * row),
                            "layer " + l + ": E-prompt " + t + " copies E-prompt " + (t - 1));
                }
                assertTrue(v[base + 3 * row] != first[0], "E-prompt 3 is untouched until its task");
            }
            assertArrayEquals(keysBefore, be.toFloatArray(m.parameters().get("e-keys")), "keys are not copied");
        }
    }

    /**
     * With every query closest to key 2, swapping E-prompts 2 and 3 together with their keys leaves
     * the test logits as they are, and swapping the E-prompts alone changes them.
     */
    @Test
    void theTestPromptIsTheOneOfTheClosestKey() {
        try (Backend be = Backends.create("cpu"); VisionTransformer vit = PrefixPromptChecks.vit(be, dir);
                DualPrompt m = new DualPrompt(vit, NAMES.size(), CFG.toBuilder().set(DualPromptConfig::batchwisePrompt, false).build(), SEED);
                TensorScope scope = TensorScope.open()) {
            Tensor images = PrefixPromptChecks.images(be, 4, 9), queries = vit.encodePooled(images, Prompts.none());
            Tensor keys = m.parameters().get("e-keys"), prompts = m.parameters().get("e-prompts");
            float[] q = be.toFloatArray(queries), k = be.toFloatArray(keys);
            int width = vit.config().width();
            Arrays.fill(k, 2 * width, 3 * width, 0f);
            for (int i = 0; i < q.length; i++) k[2 * width + i % width] += q[i];
            be.copy(be.fromArray(k, keys.shape()), keys);
            float[] chosen = be.toFloatArray(m.testLogits(1, TASKS, images, queries));
            swapRows(be, keys, 2, 3);
            swapRows(be, prompts, 2, 3);
            assertArrayEquals(chosen, be.toFloatArray(m.testLogits(1, TASKS, images, queries)), 0f);
            swapRows(be, prompts, 2, 3);
            assertFalse(Arrays.equals(chosen, be.toFloatArray(m.testLogits(1, TASKS, images, queries))),
                    "the logits do not depend on the E-prompt of the closest key");
        }
    }

    /** Swaps rows i and j of every layer of a [L, M, W] or [M, W] tensor. */
    private static void swapRows(Backend be, Tensor t, int i, int j) {
        float[] v = be.toFloatArray(t);
        int rows = (int) t.dim(t.rank() - 2), width = (int) t.dim(t.rank() - 1);
        for (int base = 0; base < v.length; base += rows * width) {
            for (int c = 0; c < width; c++) {
                float x = v[base + i * width + c];
                v[base + i * width + c] = v[base + j * width + c];
                v[base + j * width + c] = x;
            }
        }
        be.copy(be.fromArray(v, t.shape()), t);
    }

    @Test
    void refusesMoreTasksThanEPromptsAndMoreLayersThanTheVit() {
        try (Backend be = Backends.create("cpu"); VisionTransformer vit = PrefixPromptChecks.vit(be, dir)) {
            assertThrows(IllegalArgumentException.class,
                    () -> new DualPrompt(vit, 4, CFG.toBuilder().set(DualPromptConfig::eLayers, 5).build(), SEED));
            try (DualPrompt m = new DualPrompt(vit, 5, CFG, SEED)) {
                assertThrows(IllegalArgumentException.class, () -> m.beginTask(0, PrefixPromptChecks.stream(5, 5, SEED)));
                assertEquals(0, m.tasksLearned());
                m.saveState(); // no task was left in progress
            }
        }
    }

    @Test
    void learnsASyntheticStreamAboveChance() {
        PrefixPromptChecks.learnsAboveChance((vit, names) -> new DualPrompt(vit, names.size(),
                CFG.toBuilder().set(DualPromptConfig::epochs, 4).build(), SEED), dir, SEED);
    }

    @Test
    void resumesToTheSameResult(@TempDir Path runs) throws IOException {
        PrefixPromptChecks.resumesToTheSameResult(vit -> new DualPrompt(vit, NAMES.size(), CFG, SEED),
                PrefixPromptChecks.stream(3, CLASSES, SEED), runs, SEED);
    }

    @Test
    void effectiveRateIsRescaledByTheBatch() {
        assertEquals(0.015f, DualPromptConfig.defaults().effectiveLr(), 1e-9f);
    }
}
