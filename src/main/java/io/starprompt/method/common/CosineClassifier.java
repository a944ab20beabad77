package io.starprompt.method.common;

import io.starprompt.backend.Backend;
import io.starprompt.cl.TaskData;
import io.starprompt.cl.TaskSplit;
import io.starprompt.method.TaskAccuracy;
import io.starprompt.model.clip.Clip;
import io.starprompt.tensor.TensorScope;
import java.util.Arrays;

/**
 * The CLIP-only classifier (ALGORITHM.md §6, last paragraph): argmax over the seen classes of
 * cos(q, k_c), q the CLIP query of the un-augmented clip_preprocess image, k_c a unit text key.
 * The zero-shot baseline uses fixed-template keys, the first-stage-only model the learned keys.
 * Since every key has unit norm, the dot product q·k_c ranks the classes like the cosine.
 */
public final class CosineClassifier {
    /** torch.nn.functional.normalize's eps. */
    private static final double NORMALIZE_EPS = 1e-12;

    private CosineClassifier() {}

    /**
     * Unit text features [C, d] of the given prompts (token ids per class), host row-major.
     *
     * @param clip the frozen CLIP
     * @param promptIds the token ids of every class's prompt
     * @return the keys
     */
    public static float[] textKeys(Clip clip, int[][] promptIds) {
        float[] f;
        try (TensorScope scope = TensorScope.open()) {
            f = clip.backend().toFloatArray(clip.textFeatures(promptIds));
        }
        normalizeRows(f, f.length / promptIds.length);
        return f;
    }

    /**
     * Divides each row by max(‖row‖, 1e-12) in place (torch.nn.functional.normalize).
     *
     * @param x rows of width values, row-major
     * @param width the row length
     */
    public static void normalizeRows(float[] x, int width) {
        for (int row = 0; row < x.length / width; row++) {
            double sq = 0;
            for (int j = 0; j < width; j++) sq += (double) x[row * width + j] * x[row * width + j];
            double norm = Math.max(Math.sqrt(sq), NORMALIZE_EPS);
            for (int j = 0; j < width; j++) x[row * width + j] = (float) (x[row * width + j] / norm);
        }
    }

    /**
     * argmax_{c &lt; seen} cos(q, k_c) for CLIP-normalised images [n,3,S,S]; keys host [≥ seen, d]
     * (unit rows).
     *
     * @param clip the frozen CLIP
     * @param keys the unit keys
     * @param clipImages the images, planar
     * @param batch images per forward pass
     * @param seen the classes to choose from
     * @return one predicted label per image
     */
    public static int[] predict(Clip clip, float[] keys, float[] clipImages, int batch, int seen) {
        double[] scores = scores(clip, keys, clipImages, batch, seen);
        int n = scores.length / seen;
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = AccuracyCounter.argmax(scores, i * seen, 0, seen);
        return out;
    }

    /**
     * Accuracy (%) on the test sets of tasks 0…upToTask over classes [0, seen).
     *
     * @param clip the frozen CLIP
     * @param keys the unit keys
     * @param data the benchmark
     * @param upToTask the last task to test
     * @param seen the classes to choose from
     * @param batch images per forward pass
     * @return one accuracy per task
     */
    public static double[] evaluate(Clip clip, float[] keys, TaskData data, int upToTask, int seen, int batch) {
        TaskSplit split = data.split();
        double[] acc = new double[upToTask + 1];
        for (int j = 0; j <= upToTask; j++) acc[j] = evaluateTask(clip, keys, data, split, j, seen, batch).classIl();
        return acc;
    }

    /**
     * Class-IL (over classes [0, seen)) and task-IL accuracy on the test set of one task.
     *
     * @param clip the frozen CLIP
     * @param keys the unit keys
     * @param data the benchmark
     * @param split its task split
     * @param task the task to test
     * @param seen the classes to choose from
     * @param batch images per forward pass
     * @return the counts
     */
    public static TaskAccuracy evaluateTask(Clip clip, float[] keys, TaskData data, TaskSplit split, int task, int seen,
            int batch) {
        AccuracyCounter counter = new AccuracyCounter(task, split.past(task), split.seen(task));
        for (TaskData.Batch b : data.clipBatches(task, TaskData.Split.TEST, batch)) {
            counter.add(scores(clip, keys, b.clipImages(), batch, seen), seen, b.labels());
        }
        return counter.result();
    }

    /** q·k_c for every image and class c &lt; seen, row-major [n, seen], queries computed batch by batch. */
    private static double[] scores(Clip clip, float[] keys, float[] clipImages, int batch, int seen) {
        Backend be = clip.backend();
        var v = clip.config().vision();
        int per = v.channels() * v.imageSize() * v.imageSize(), d = clip.config().projectionDim();
        if (clipImages.length % per != 0) throw new IllegalArgumentException("cosine classifier: ragged images");
        if (keys.length < seen * d) throw new IllegalArgumentException("cosine classifier: fewer than " + seen + " keys");
        int n = clipImages.length / per;
        double[] out = new double[n * seen];
        for (int start = 0; start < n; start += batch) {
            int b = Math.min(batch, n - start);
            float[] q;
            try (TensorScope scope = TensorScope.open()) {
                q = be.toFloatArray(ClipQueries.compute(clip,
                        Arrays.copyOfRange(clipImages, start * per, (start + b) * per), b));
            }
            for (int i = 0; i < b; i++) {
                for (int c = 0; c < seen; c++) {
                    double dot = 0;
                    for (int k = 0; k < d; k++) dot += (double) q[i * d + k] * keys[c * d + k];
                    out[(start + i) * seen + c] = dot;
                }
            }
        }
        return out;
    }
}
