package io.starprompt.method.baselines;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.cl.AccuracyMatrix;
import io.starprompt.cl.TaskData;
import io.starprompt.data.SyntheticTaskData;
import io.starprompt.method.ContinualRun;
import io.starprompt.method.TinyBackbones;
import io.starprompt.method.common.ClipQueries;
import io.starprompt.method.common.CosineClassifier;
import io.starprompt.tensor.TensorScope;
import org.junit.jupiter.api.Test;

/** Zero-shot CLIP and the cosine classifier behind it and the stage-1-only baseline. */
class ZeroShotClipTest {
    @Test
    void zeroShotKeysAreUnitAndPredictionsAreArgmaxCosine() {
        try (TinyBackbones m = TinyBackbones.open()) {
            int classes = 4, d = m.clip.config().projectionDim();
            float[] keys = CosineClassifier.textKeys(m.clip, TinyBackbones.zeroShotIds(classes));
            assertEquals(classes * d, keys.length);
            for (int c = 0; c < classes; c++) {
                double n = 0;
                for (int k = 0; k < d; k++) n += keys[c * d + k] * keys[c * d + k];
                assertEquals(1.0, n, 1e-5);
            }
            SyntheticTaskData data = SyntheticTaskData.builder().classes(classes).tasks(2).trainPerClass(2).testPerClass(3)
                    .imageSize(m.imageSize()).seed(1).build();
            TaskData.Batch b = data.clipBatches(1, TaskData.Split.TEST, 100).iterator().next();
            int[] pred = CosineClassifier.predict(m.clip, keys, b.clipImages(), 2, classes);
            assertArrayEquals(pred, CosineClassifier.predict(m.clip, keys, b.clipImages(), 100, classes)); // batching
            float[] q;
            try (TensorScope s = TensorScope.open()) {
                q = m.be.toFloatArray(ClipQueries.compute(m.clip, b.clipImages(), b.size()));
            }
            for (int i = 0; i < b.size(); i++) {
                int best = 0;
                double bestCos = -2;
                for (int c = 0; c < classes; c++) {
                    double dot = 0, nq = 0;
                    for (int k = 0; k < d; k++) {
                        dot += q[i * d + k] * keys[c * d + k];
                        nq += q[i * d + k] * q[i * d + k];
                    }
                    if (dot / Math.sqrt(nq) > bestCos) {
                        bestCos = dot / Math.sqrt(nq);
                        best = c;
                    }
                }
                assertEquals(best, pred[i]);
            }
            // Restricting to the seen classes: predictions never exceed them.
            for (int p : CosineClassifier.predict(m.clip, keys, b.clipImages(), 4, 2)) assertTrue(p < 2);
            AccuracyMatrix acc;
            try (ZeroShotClip zeroShot = new ZeroShotClip(m.clip, TinyBackbones.zeroShotIds(classes), 8)) {
                assertArrayEquals(keys, zeroShot.keys());
                acc = ContinualRun.run(zeroShot, data).classIl();
            }
            assertEquals(2, acc.rows());
            for (int i = 0; i < 2; i++) {
                for (double v : acc.row(i)) assertTrue(v >= 0 && v <= 100);
            }
        }
    }
}
