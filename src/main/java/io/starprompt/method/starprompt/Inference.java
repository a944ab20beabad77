package io.starprompt.method.starprompt;

import io.starprompt.backend.Backend;
import io.starprompt.cl.TaskData;
import io.starprompt.cl.TaskSplit;
import io.starprompt.method.TaskAccuracy;
import io.starprompt.method.common.AccuracyCounter;
import io.starprompt.method.common.ClipQueries;
import io.starprompt.model.clip.Clip;
import io.starprompt.model.vit.VitConfig;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.Arrays;
import java.util.function.IntFunction;

/**
 * Class-incremental inference without task id (ALGORITHM.md §6): CLIP query of the (renormalised) test
 * image → per-layer retrieval over all seen classes → prompted ViT → head logits over the seen
 * classes (no masking) → argmax (ties → lowest class). Borrows CLIP and the model.
 */
public final class Inference {
    private final Backend be;
    private final Clip clip;
    private final PromptedClassifier model;
    private final IntFunction<Tensor> keys;

    /**
     * Inference with the given model and keys.
     *
     * @param clip the frozen CLIP (borrowed)
     * @param model the second-stage model (borrowed)
     * @param keys gives the unit keys [seen, d] of classes [0, seen) as a new tensor in the
     *             current scope
     */
    public Inference(Clip clip, PromptedClassifier model, IntFunction<Tensor> keys) {
        this.be = model.vit().backend();
        this.clip = clip;
        this.model = model;
        this.keys = keys;
    }

    /**
     * Predicted labels of n images given as ViT input [n,3,H,W] and CLIP input [n,3,S,S].
     *
     * @param vitImages ViT inputs, planar
     * @param clipImages CLIP inputs, planar
     * @param batch images per forward pass
     * @param seen the classes to choose from
     * @return one predicted label per image
     */
    public int[] predict(float[] vitImages, float[] clipImages, int batch, int seen) {
        float[] z = logits(vitImages, clipImages, batch, seen);
        int n = z.length / seen;
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = AccuracyCounter.argmax(z, i * seen, 0, seen);
        return out;
    }

    /**
     * Head logits of the seen classes, row-major [n, seen].
     *
     * @param vitImages ViT inputs, planar
     * @param clipImages CLIP inputs, planar
     * @param batch images per forward pass
     * @param seen the classes to score
     * @return the logits
     */
    public float[] logits(float[] vitImages, float[] clipImages, int batch, int seen) {
        VitConfig v = model.vit().config();
        var cv = clip.config().vision();
        int vitPer = v.channels() * v.imageSize() * v.imageSize(), clipPer = cv.channels() * cv.imageSize() * cv.imageSize();
        if (vitImages.length % vitPer != 0 || clipImages.length % clipPer != 0
                || vitImages.length / vitPer != clipImages.length / clipPer) {
            throw new IllegalArgumentException("inference: " + vitImages.length + " ViT values and " + clipImages.length
                    + " CLIP values are not the same number of [" + v.channels() + "," + v.imageSize() + ","
                    + v.imageSize() + "] and [" + cv.channels() + "," + cv.imageSize() + "," + cv.imageSize() + "] images");
        }
        if (batch < 1) throw new IllegalArgumentException("inference: batch " + batch);
        if (seen < 1 || seen > model.classes()) {
            throw new IllegalArgumentException("inference: seen = " + seen + " outside [1, " + model.classes() + "]");
        }
        int n = vitImages.length / vitPer, classes = model.classes();
        float[] out = new float[n * seen];
        try (TensorScope outer = TensorScope.open()) {
            Tensor k = keys.apply(seen);
            for (int start = 0; start < n; start += batch) {
                int b = Math.min(batch, n - start);
                float[] all;
                try (TensorScope scope = TensorScope.open()) {
                    float[] vi = Arrays.copyOfRange(vitImages, start * vitPer, (start + b) * vitPer);
                    float[] ci = Arrays.copyOfRange(clipImages, start * clipPer, (start + b) * clipPer);
                    Tensor images = model.vit().images(vi, b);
                    Tensor q = ClipQueries.compute(clip, ci, b);
                    all = be.toFloatArray(model.logits(images, q, k, seen));
                }
                for (int i = 0; i < b; i++) System.arraycopy(all, i * classes, out, (start + i) * seen, seen);
            }
        }
        return out;
    }

    /**
     * Accuracy (%) on the test set of every task 0…upToTask, predicting over classes [0, seen).
     *
     * @param data the benchmark
     * @param upToTask the last task to test
     * @param seen the classes to choose from
     * @param batch images per forward pass
     * @return one accuracy per task
     */
    public double[] evaluate(TaskData data, int upToTask, int seen, int batch) {
        TaskSplit split = data.split();
        double[] acc = new double[upToTask + 1];
        for (int j = 0; j <= upToTask; j++) acc[j] = evaluateTask(data, split, j, seen, batch).classIl();
        return acc;
    }

    /**
     * Class-IL (over classes [0, seen)) and task-IL accuracy on the test set of one task.
     *
     * @param data the benchmark
     * @param split its task split
     * @param task the task to test
     * @param seen the classes to choose from
     * @param batch images per forward pass
     * @return the counts
     */
    public TaskAccuracy evaluateTask(TaskData data, TaskSplit split, int task, int seen, int batch) {
        AccuracyCounter counter = new AccuracyCounter(task, split.past(task), split.seen(task));
        for (TaskData.Batch b : data.testBatches(task, batch)) {
            counter.add(logits(b.vitImages(), b.clipImages(), batch, seen), seen, b.labels());
        }
        return counter.result();
    }
}
