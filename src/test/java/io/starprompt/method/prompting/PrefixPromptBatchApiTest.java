package io.starprompt.method.prompting;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.starprompt.backend.Backend;
import io.starprompt.backend.Backends;
import io.starprompt.cl.TaskData;
import io.starprompt.method.TaskAccuracy;
import io.starprompt.method.codaprompt.CodaPrompt;
import io.starprompt.method.codaprompt.CodaPromptConfig;
import io.starprompt.method.common.Seeds;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The per-batch API of the prefix-prompt methods against the epoch API: trainBatch on the batch
 * an epoch would draw leaves exactly the parameters the epoch leaves, and logits scores the test
 * set as evaluate does.
 */
class PrefixPromptBatchApiTest {
    private static final long SEED = 5;
    /** 2 tasks of 2 classes, 12 training images per class: task 1's epoch is one batch of 24. */
    private static final int TASKS = 2, CLASSES = 4, BATCH = 24;
    private static final CodaPromptConfig CFG = CodaPromptConfig.builder().set(CodaPromptConfig::components, 4)
            .set(CodaPromptConfig::promptLength, 4).set(CodaPromptConfig::epochs, 1)
            .set(CodaPromptConfig::batchSize, BATCH).set(CodaPromptConfig::evalBatchSize, 16).build();

    @TempDir
    static Path dir;

    @Test
    void aBatchTrainsAsTheEpochThatDrawsIt() {
        TaskData data = PrefixPromptChecks.stream(TASKS, CLASSES, SEED);
        try (Backend be = Backends.create("cpu"); VisionTransformer vit = PrefixPromptChecks.vit(be, dir);
                CodaPrompt byEpoch = new CodaPrompt(vit, CLASSES, CFG, SEED);
                CodaPrompt byBatch = new CodaPrompt(vit, CLASSES, CFG, SEED)) {
            byEpoch.beginTask(0, data);
            byEpoch.trainEpoch(0, 0);
            byBatch.beginTask(0, data);
            assertThrows(IllegalArgumentException.class, () -> {
                try (TensorScope s = TensorScope.open()) {
                    byBatch.trainBatch(0, 0, PrefixPromptChecks.images(be, 1, 1), new int[] {3});
                }
            }, "a label of the next task");
            for (TaskData.Batch b : data.trainBatches(0, BATCH, Seeds.mix(SEED, 0, 0))) {
                try (TensorScope s = TensorScope.open()) {
                    byBatch.trainBatch(0, 0, vit.images(b.vitImages(), b.size()), b.labels());
                }
            }
            for (Map.Entry<String, Tensor> p : byEpoch.parameters().entrySet()) {
                assertArrayEquals(be.toFloatArray(p.getValue()), be.toFloatArray(byBatch.parameters().get(p.getKey())),
                        p.getKey());
            }
            byEpoch.endTask(0);
            assertLogitsScoreAsEvaluate(be, vit, byEpoch, data);
        }
    }

    private static void assertLogitsScoreAsEvaluate(Backend be, VisionTransformer vit, CodaPrompt m, TaskData data) {
        TaskAccuracy expected = m.evaluate(data, 0);
        int seen = data.split().seen(0);
        long correct = 0;
        for (TaskData.Batch b : data.testBatches(0, 16)) {
            float[] logits;
            try (TensorScope s = TensorScope.open()) {
                logits = be.toFloatArray(m.logits(vit.images(b.vitImages(), b.size())));
            }
            for (int i = 0; i < b.size(); i++) {
                int best = 0;
                for (int c = 1; c < seen; c++) if (logits[i * CLASSES + c] > logits[i * CLASSES + best]) best = c;
                if (best == b.labels()[i]) correct++;
            }
        }
        assertEquals(expected.classIlCorrect(), correct);
    }
}
