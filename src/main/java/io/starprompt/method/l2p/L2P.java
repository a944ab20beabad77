package io.starprompt.method.l2p;

import io.starprompt.backend.AdamConfig;
import io.starprompt.backend.Backend;
import io.starprompt.cl.TaskData;
import io.starprompt.cl.TaskSplit;
import io.starprompt.method.ContinualMethod;
import io.starprompt.method.MethodState;
import io.starprompt.method.TaskAccuracy;
import io.starprompt.method.TrainingDivergedException;
import io.starprompt.method.TrainingListener;
import io.starprompt.method.common.AccuracyCounter;
import io.starprompt.method.common.Adam;
import io.starprompt.method.common.EpochMeter;
import io.starprompt.method.common.FiniteCheck;
import io.starprompt.method.common.GradientClipping;
import io.starprompt.method.common.Seeds;
import io.starprompt.method.common.TaskProgress;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.List;

/**
 * L2P, Learning to Prompt (Wang et al., CVPR 2022), as methods/l2p.md specifies it: a pool of
 * prompts with learned keys over a frozen ViT, N prompts chosen per image by cosine similarity
 * of their keys to the image's frozen [CLS] feature and inserted as input tokens, a linear head
 * on the mean of the prompt tokens' outputs, and the loss CE − λ·R with the cross-entropy over
 * the current task's classes only (§6). Every task trains P, K and the head with a fresh Adam at
 * lr = baseLearningRate · B / 256, gradients clipped to a global norm (§7, §8). Evaluation is
 * class-IL over the classes seen so far, without masking.
 *
 * <pre>{@code
 * try (L2P l2p = new L2P(vit, data.classes(), L2PConfig.defaults(), seed)) {
 *     ... drive it as any ContinualMethod ...
 * }
 * }</pre>
 */
public final class L2P implements ContinualMethod {
    /** {@value #NAME}. */
    public static final String NAME = "l2p";

    /** The prefix of P, K, W and b in the saved state. */
    private static final String STATE_PREFIX = "l2p.";

    /** The gradients of P, K, W and b in words, for a divergence message. */
    private static final List<String> GRADIENTS = List.of("the gradient of the prompt pool P",
            "the gradient of the prompt keys K", "the gradient of the head weight W", "the gradient of the head bias b");

    private final VisionTransformer vit;
    private final L2PConfig cfg;
    private final long seed;
    private final int classes;
    private final L2PModel model;
    private final TaskProgress progress = new TaskProgress(NAME);
    private TrainingListener listener = TrainingListener.NONE;
    private TaskData data;
    private Adam adam;

    /**
     * An untrained L2P over a frozen ViT.
     *
     * @param vit the frozen ViT (borrowed; for the reference settings the ImageNet-21k ViT-B/16 of
     *     methods/l2p.md §2)
     * @param classes C, every class of the benchmark
     * @param cfg the settings
     * @param seed the run seed: initialisation and batch order derive from it
     */
    public L2P(VisionTransformer vit, int classes, L2PConfig cfg, long seed) {
        this.vit = vit;
        this.cfg = cfg;
        this.seed = seed;
        this.classes = classes;
        this.model = L2PModel.initialised(vit, classes, cfg, Seeds.mix(seed, 3, 0));
    }

    @Override
    public String name() {
        return NAME;
    }

    /**
     * The trainable model.
     *
     * @return the model
     */
    public L2PModel model() {
        return model;
    }

    /**
     * The settings.
     *
     * @return the config
     */
    public L2PConfig config() {
        return cfg;
    }

    @Override
    public String modelIdentity() {
        return "ViT " + vit.config() + "; " + classes + " classes; L2P " + model.shapes() + ", top " + cfg.topN();
    }

    @Override
    public void setListener(TrainingListener l) {
        listener = l == null ? TrainingListener.NONE : l;
    }

    @Override
    public int epochs(int task) {
        return cfg.epochs();
    }

    @Override
    public void beginTask(int t, TaskData d) {
        checkData(d);
        progress.begin(t);
        data = d;
        listener.phaseStarted(TrainingListener.Phase.TRAINING, t);
        adam = new Adam(vit.backend(), model.parameters(), new AdamConfig(cfg.learningRate(), 0.9f, 0.999f, 1e-8f, 0f));
    }

    @Override
    public TrainingListener.Epoch trainEpoch(int t, int epoch) {
        progress.require(t, "trainEpoch");
        if (epoch < 0 || epoch >= epochs(t)) throw new IllegalArgumentException(NAME + ": task " + t + " has no epoch " + epoch);
        TaskSplit split = data.split();
        int past = split.past(t), seen = split.seen(t);
        EpochMeter meter = new EpochMeter(listener, TrainingListener.Phase.TRAINING, t, epoch);
        try {
            for (TaskData.Batch batch : data.trainBatches(t, cfg.batchSize(), Seeds.mix(seed, t, epoch))) {
                meter.step(batch.size(), () -> step(batch, past, seen));
            }
        } catch (TrainingDivergedException e) {
            throw e.inMethod(NAME);
        }
        return meter.end(cfg.learningRate());
    }

    /** One Adam step on a batch: loss, gradients checked finite, clipped, applied. */
    private float step(TaskData.Batch batch, int past, int seen) {
        Backend be = vit.backend();
        try (TensorScope scope = TensorScope.open()) {
            Tensor images = images(batch);
            try (L2PModel.Result r = model.lossAndGradients(images, model.queries(images), batch.labels(), past, seen)) {
                float loss = (float) r.loss();
                FiniteCheck.loss(loss);
                FiniteCheck.gradients(be, GRADIENTS, r.gradients());
                if (cfg.clipNorm() > 0) GradientClipping.clip(be, r.gradients(), cfg.clipNorm());
                adam.step(r.gradients(), cfg.learningRate());
                return loss;
            }
        }
    }

    private Tensor images(TaskData.Batch batch) {
        if (batch.vitImages() == null) throw new IllegalArgumentException(NAME + ": batch has no ViT images");
        return vit.images(batch.vitImages(), batch.size());
    }

    @Override
    public void endTask(int t) {
        progress.require(t, "endTask");
        closeOptimiser();
        data = null;
        progress.end(t);
    }

    private void closeOptimiser() {
        if (adam != null) adam.close();
        adam = null;
    }

    @Override
    public int tasksLearned() {
        return progress.learned();
    }

    /**
     * Class-IL over the classes seen after the last learned task (logits cut to them, no mask)
     * and task-IL over the tested task's classes, in unshuffled test batches of evalBatchSize
     * (with batch-wise selection the vote sees one task's images at a time, methods/l2p.md §3).
     *
     * @param d the benchmark
     * @param testTask the task whose test set is evaluated
     * @return the class-IL and task-IL counts
     */
    @Override
    public TaskAccuracy evaluate(TaskData d, int testTask) {
        TaskSplit split = checkData(d);
        progress.requireLearned(testTask);
        int seen = split.seen(progress.learned() - 1);
        AccuracyCounter counter = new AccuracyCounter(testTask, split.past(testTask), split.seen(testTask));
        Backend be = vit.backend();
        for (TaskData.Batch batch : d.testBatches(testTask, cfg.evalBatchSize())) {
            try (TensorScope scope = TensorScope.open()) {
                Tensor images = images(batch);
                float[] logits = be.toFloatArray(model.logits(images, model.queries(images)));
                counter.add(firstColumns(logits, batch.size(), seen), seen, batch.labels());
            }
        }
        return counter.result();
    }

    /** The first {@code cols} columns of a row-major [rows, C] matrix. */
    private float[] firstColumns(float[] m, int rows, int cols) {
        float[] out = new float[rows * cols];
        for (int r = 0; r < rows; r++) System.arraycopy(m, r * classes, out, r * cols, cols);
        return out;
    }

    /**
     * P, K, W and b, the number of finished tasks, the config and the seed.
     *
     * @return the state
     */
    @Override
    public MethodState saveState() {
        if (adam != null) throw new IllegalStateException(NAME + ": cannot save while a task is in progress");
        return model.saveTo(progress.newState(cfg, seed), STATE_PREFIX);
    }

    @Override
    public void restoreState(MethodState s) {
        int learned = progress.checkRestorable(s, cfg, seed);
        model.restoreFrom(s, STATE_PREFIX);
        progress.restore(learned);
    }

    private TaskSplit checkData(TaskData d) {
        if (d.classes() != classes) {
            throw new IllegalArgumentException(NAME + ": the data has " + d.classes() + " classes, the model " + classes);
        }
        return d.split();
    }

    @Override
    public void close() {
        closeOptimiser();
        model.close();
    }

    @Override
    public String toString() {
        return NAME + " over " + classes + " classes, " + cfg + ", seed " + seed;
    }
}
