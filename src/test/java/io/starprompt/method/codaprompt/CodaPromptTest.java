package io.starprompt.method.codaprompt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.starprompt.backend.Backend;
import io.starprompt.backend.Backends;
import io.starprompt.method.prompting.PrefixPromptChecks;
import io.starprompt.method.prompting.PrefixPromptMethod.ClassRange;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.IntPredicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * CODA-Prompt on a tiny random ViT of 6 layers (5 prompted): the gradient of every trainable
 * tensor against finite differences on the float64 reference backend (with and without the
 * orthogonality loss), the CPU backend against the reference, the Gram–Schmidt re-draw, learning a
 * synthetic stream, and resuming from a checkpoint.
 */
class CodaPromptTest {
    private static final long SEED = 11;
    /** 6 components over 3 tasks: task 1 trains components [2, 4) and uses [0, 4). */
    private static final CodaPromptConfig CFG = CodaPromptConfig.builder().set(CodaPromptConfig::components, 6).set(CodaPromptConfig::promptLength, 4).set(CodaPromptConfig::epochs, 2)
            .set(CodaPromptConfig::batchSize, 8).set(CodaPromptConfig::evalBatchSize, 16).build();

    @TempDir
    static Path dir;

    /** Task 1 of 3 over 6 classes: classes [2, 4), components [2, 4). */
    private static final int TASK = 1, TASKS = 3, CLASSES = 6, FROM = 2, USED = 4;
    private static final List<String> NAMES = PrefixPromptChecks.classNames(CLASSES);
    private static final int[] LABELS = {2, 3, 3, 2};
    private static final ClassRange RANGE = new ClassRange(2, 4);

    @ParameterizedTest
    @ValueSource(floats = {0f, 0.5f})
    void gradientsMatchFiniteDifferences(float mu) {
        CodaPromptConfig cfg = CFG.toBuilder().set(CodaPromptConfig::mu, mu).build();
        try (Backend be = Backends.create("reference"); VisionTransformer vit = PrefixPromptChecks.vit(be, dir);
                CodaPrompt m = new CodaPrompt(vit, NAMES.size(), cfg, SEED);
                TensorScope scope = TensorScope.open()) {
            PrefixPromptChecks.prepareUpTo(m, TASK, TASKS);
            // Unit rows move the cross-entropy little: larger components make K and A matter to it.
            // With μ > 0, noise instead takes the rows off orthonormality, so that the Gram term has a
            // gradient (and the loss stays small enough for float differences).
            Random r = new Random(8);
            for (String name : List.of("keys", "attention", "components")) {
                Tensor t = m.parameters().get(name);
                float[] v = be.toFloatArray(t);
                for (int i = 0; i < v.length; i++) v[i] = mu > 0 ? v[i] + (float) (0.3 * r.nextGaussian()) : v[i] * 20;
                if (mu > 0 || name.equals("components")) be.copy(be.fromArray(v, t.shape()), t);
            }
            Tensor p = m.parameters().get("components");
            int width = vit.config().width(), row = (int) p.dim(2);
            Map<String, IntPredicate> trained = Map.of(
                    "keys", componentRows(width), "attention", componentRows(width), "components", componentRows(row),
                    "head.weight", i -> i / width >= RANGE.past() && i / width < RANGE.seen(),
                    "head.bias", i -> i >= RANGE.past() && i < RANGE.seen());
            PrefixPromptChecks.gradientsMatchFiniteDifferences(m, TASK, TASKS, PrefixPromptChecks.images(be, 4, 3),
                    LABELS, RANGE, trained, 3e-3);
        }
    }

    /** Flat indices of [L, M, width] in the components [FROM, USED) of every layer. */
    private static IntPredicate componentRows(int width) {
        return i -> {
            int k = (i / width) % CFG.components();
            return k >= FROM && k < USED;
        };
    }

    @Test
    void cpuMatchesTheReference() {
        PrefixPromptChecks.cpuMatchesReference(vit -> new CodaPrompt(vit, NAMES.size(), CFG.toBuilder().set(CodaPromptConfig::mu, 0.5f).build(),
                SEED), dir, TASK, TASKS, LABELS, RANGE);
    }

    @Test
    void eachTaskRedrawsItsComponentsOrthonormalAndLeavesTheOthers() {
        try (Backend be = Backends.create("cpu"); VisionTransformer vit = PrefixPromptChecks.vit(be, dir);
                CodaPrompt m = new CodaPrompt(vit, NAMES.size(), CFG, SEED)) {
            float[] before = be.toFloatArray(m.parameters().get("keys"));
            PrefixPromptChecks.prepareUpTo(m, TASK, TASKS);
            float[] after = be.toFloatArray(m.parameters().get("keys"));
            int width = vit.config().width(), comps = CFG.components();
            for (int l = 0; l < CFG.promptedLayers(); l++) {
                for (int i = 0; i < USED; i++) {
                    for (int j = 0; j < USED; j++) {
                        assertEquals(i == j ? 1 : 0, dot(after, (l * comps + i) * width, (l * comps + j) * width, width),
                                1e-5, "layer " + l + " rows " + i + ", " + j);
                    }
                }
                for (int i = (l * comps + USED) * width; i < (l + 1) * comps * width; i++) {
                    assertEquals(before[i], after[i], "components of later tasks stay as they were");
                }
            }
        }
    }

    private static double dot(float[] v, int a, int b, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) s += (double) v[a + i] * v[b + i];
        return s;
    }

    @Test
    void refusesMoreTasksThanComponentsAndMoreLayersOrComponentsThanTheVitHolds() {
        try (Backend be = Backends.create("cpu"); VisionTransformer vit = PrefixPromptChecks.vit(be, dir)) {
            assertThrows(IllegalArgumentException.class,
                    () -> new CodaPrompt(vit, 4, CFG.toBuilder().set(CodaPromptConfig::promptedLayers, 7).build(), SEED));
            assertThrows(IllegalArgumentException.class,
                    () -> new CodaPrompt(vit, 4, CFG.toBuilder().set(CodaPromptConfig::components, 33).build(), SEED));
            try (CodaPrompt m = new CodaPrompt(vit, 4, CFG, SEED)) {
                assertThrows(IllegalArgumentException.class, () -> m.componentsPerTask(7));
            }
        }
    }

    @Test
    void learnsASyntheticStreamAboveChance() {
        PrefixPromptChecks.learnsAboveChance((vit, names) -> new CodaPrompt(vit, names.size(),
                CFG.toBuilder().set(CodaPromptConfig::epochs, 4).set(CodaPromptConfig::lr, 0.01f).build(), SEED), dir, SEED);
    }

    @Test
    void resumesToTheSameResult(@TempDir Path runs) throws IOException {
        PrefixPromptChecks.resumesToTheSameResult(vit -> new CodaPrompt(vit, NAMES.size(), CFG, SEED),
                PrefixPromptChecks.stream(3, CLASSES, SEED), runs, SEED);
    }
}
