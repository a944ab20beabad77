package io.starprompt.method;

import io.starprompt.backend.Backend;
import io.starprompt.cl.AccuracyMatrix;
import io.starprompt.cl.TaskSplit;
import io.starprompt.model.clip.Clip;
import io.starprompt.model.tokenizer.ClipTokenizer;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.ArrayList;
import java.util.List;

/**
 * CLIP-only classifiers on the same engine (spec §6, §9):
 * <ul>
 *   <li>zero-shot CLIP: keys = unit text features of "a photo of a {name}.", prediction = argmax
 *       of cos(q, k_c) over the seen classes;
 *   <li>first-stage only: the same argmax with the stage-1 keys.
 * </ul>
 * Both use the un-augmented clip_preprocess test images ({@link TaskData#clipBatches} TEST).
 */
public final class Baselines {
    /** The zero-shot template of the single-template CLIP baseline. */
    public static final String TEMPLATE = "a photo of a %s.";

    private Baselines() {}

    /** Token ids of "a photo of a {name}." per class. */
    public static int[][] zeroShotPromptIds(ClipTokenizer tok, List<String> classNames) {
        List<String> texts = new ArrayList<>();
        for (String n : classNames) texts.add(String.format(TEMPLATE, n));
        return tok.tokenize(texts);
    }

    /** Unit text features [C, d] of the given prompts, host row-major. */
    public static float[] textKeys(Clip clip, int[][] promptIds) {
        Backend be = clip.backend();
        float[] f;
        try (TensorScope scope = TensorScope.open()) {
            f = be.toFloatArray(clip.textFeatures(promptIds));
        }
        int d = f.length / promptIds.length;
        for (int c = 0; c < promptIds.length; c++) {
            double n = 0;
            for (int k = 0; k < d; k++) n += (double) f[c * d + k] * f[c * d + k];
            double inv = 1 / Math.max(Math.sqrt(n), 1e-12);
            for (int k = 0; k < d; k++) f[c * d + k] = (float) (f[c * d + k] * inv);
        }
        return f;
    }

    /** Zero-shot keys from class names ({@link #TEMPLATE}), host [C, d]. */
    public static float[] zeroShotKeys(Clip clip, ClipTokenizer tok, List<String> classNames) {
        return textKeys(clip, zeroShotPromptIds(tok, classNames));
    }

    /**
     * argmax_{c &lt; seen} cos(q, k_c) for CLIP-normalised images [n,3,S,S]; keys host [≥ seen, d]
     * (unit rows).
     */
    public static int[] cosinePredict(Clip clip, float[] keys, float[] clipImages, int batch, int seen) {
        Backend be = clip.backend();
        var v = clip.config().vision();
        int per = v.channels() * v.imageSize() * v.imageSize(), d = clip.config().projectionDim();
        if (clipImages.length % per != 0) throw new IllegalArgumentException("cosinePredict: ragged images");
        if (keys.length < seen * d) throw new IllegalArgumentException("cosinePredict: fewer than " + seen + " keys");
        int n = clipImages.length / per;
        int[] out = new int[n];
        for (int start = 0; start < n; start += batch) {
            int b = Math.min(batch, n - start);
            float[] q;
            try (TensorScope scope = TensorScope.open()) {
                q = be.toFloatArray(SecondStageTrainer.clipQueries(be, clip,
                        java.util.Arrays.copyOfRange(clipImages, start * per, (start + b) * per), b));
            }
            for (int i = 0; i < b; i++) {
                int best = 0;
                double bestDot = Double.NEGATIVE_INFINITY;
                for (int c = 0; c < seen; c++) {
                    double dot = 0;
                    for (int k = 0; k < d; k++) dot += (double) q[i * d + k] * keys[c * d + k];
                    if (dot > bestDot) {
                        bestDot = dot;
                        best = c;
                    }
                }
                out[start + i] = best;
            }
        }
        return out;
    }

    /** Accuracy (%) of the cosine classifier on the test sets of tasks 0…upToTask over classes [0, seen). */
    public static double[] evaluateCosine(Clip clip, float[] keys, TaskData data, int upToTask, int seen, int batch) {
        double[] acc = new double[upToTask + 1];
        for (int j = 0; j <= upToTask; j++) {
            long correct = 0, total = 0;
            for (TaskData.Batch b : data.clipBatches(j, TaskData.Split.TEST, batch)) {
                int[] pred = cosinePredict(clip, keys, b.clipImages(), batch, seen);
                for (int i = 0; i < pred.length; i++) {
                    if (pred[i] == b.labels()[i]) correct++;
                }
                total += pred.length;
            }
            acc[j] = total == 0 ? Double.NaN : 100.0 * correct / total;
        }
        return acc;
    }

    /**
     * The zero-shot CLIP accuracy matrix: nothing is learned, row t evaluates tasks 0…t over the
     * classes seen after task t.
     */
    public static AccuracyMatrix zeroShot(Clip clip, float[] keys, TaskData data, int batch) {
        TaskSplit split = data.split();
        AccuracyMatrix m = new AccuracyMatrix(split.tasks());
        for (int t = 0; t < split.tasks(); t++) m.setRow(t, evaluateCosine(clip, keys, data, t, split.seen(t), batch));
        return m;
    }

    /** Convenience: zero-shot keys as a tensor [C, d] in the current scope. */
    public static Tensor zeroShotKeyTensor(Clip clip, int[][] promptIds) {
        float[] k = textKeys(clip, promptIds);
        return clip.backend().fromArray(k, promptIds.length, k.length / promptIds.length);
    }
}
