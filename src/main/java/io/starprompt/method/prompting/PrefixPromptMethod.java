package io.starprompt.method.prompting;

import io.starprompt.method.common.Adam;
import io.starprompt.method.common.EpochMeter;
import io.starprompt.method.common.TaskProgress;
import io.starprompt.method.common.Seeds;
import io.starprompt.method.common.LinearHead;
import io.starprompt.method.common.FiniteCheck;
import io.starprompt.method.common.AccuracyCounter;

import io.starprompt.backend.AdamConfig;
import io.starprompt.backend.Backend;
import io.starprompt.cl.TaskData;
import io.starprompt.cl.TaskSplit;
import io.starprompt.method.ContinualMethod;
import io.starprompt.method.MethodState;
import io.starprompt.method.TaskAccuracy;
import io.starprompt.method.TrainingDivergedException;
import io.starprompt.method.TrainingListener;
import io.starprompt.model.vit.Activations;
import io.starprompt.model.vit.PromptGradients;
import io.starprompt.model.vit.Prompts;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the prefix-prompt baselines (CODA-Prompt, DualPrompt) share: the query of an image is the
 * frozen ViT's own [CLS] feature without prompts, computed once per batch; the prompts enter the
 * ViT as key/value prefixes; a linear head reads the prompted [CLS] feature; the cross-entropy of
 * task t covers its classes only (past logits masked, future ones dropped); a fresh Adam (β
 * 0.9/0.999, ε 1e-8, no weight decay) per task over every trainable tensor; evaluation over the
 * seen classes, without task identity. A subclass says how the prompts are made and
 * differentiated ({@link #step}), what happens at a task's start ({@link #prepareTask}) and how
 * a test batch is scored ({@link #testLogits}). Borrows the ViT; owns its tensors.
 */
public abstract class PrefixPromptMethod implements ContinualMethod {
    private final String name;
    /** The frozen ViT (borrowed). */
    protected final VisionTransformer vit;
    /** The ViT's backend, where every tensor of the method lives. */
    protected final Backend be;
    /** C, the classes of the head. */
    protected final int classes;
    /** The run's seed; every random choice derives from it and the task. */
    protected final long seed;
    private final Settings settings;
    /** The classifier over all C classes on the prompted [CLS] feature. */
    protected final LinearHead head;
    private final TaskProgress progress;
    private TrainingListener listener = TrainingListener.NONE;
    private TaskData data;
    /** The task count of the benchmark last begun (the component split and test prompts depend on it). */
    private int tasks;
    private Adam adam;

    /** How a method goes over the data; a method's config record implements it with its components. */
    public interface Settings {
        /**
         * Training epochs of every task.
         *
         * @return the epochs
         */
        int epochs();

        /**
         * Images per training step.
         *
         * @return the batch size
         */
        int batchSize();

        /**
         * Images per test batch (a batch-wise vote sees one such batch).
         *
         * @return the test batch size
         */
        int evalBatchSize();
    }

    /** How the head starts. */
    public enum HeadInit {
        /** W, b uniform on (−1/√D, 1/√D), PyTorch's default ({@link LinearHead#uniform}). */
        UNIFORM,
        /** W ~ N(0, 0.02²), b = 0 ({@link LinearHead#initialised}). */
        GAUSSIAN
    }

    /**
     * A method of that name over vit for C classes.
     *
     * @param name the method's name, as in messages and checkpoints
     * @param vit the frozen ViT (borrowed)
     * @param classes C
     * @param seed the run's seed
     * @param settings epochs and batch sizes (the method's config)
     * @param promptedLayers how many layers from layer 0 the method prompts (the ViT must have them)
     * @param headInit how the head starts
     */
    protected PrefixPromptMethod(String name, VisionTransformer vit, int classes, long seed, Settings settings,
            int promptedLayers, HeadInit headInit) {
        if (classes < 1) throw new IllegalArgumentException(name + ": " + classes + " classes");
        if (promptedLayers > vit.config().depth()) {
            throw new IllegalArgumentException(name + ": " + promptedLayers + " prompted layers, the ViT has "
                    + vit.config().depth());
        }
        this.name = name;
        this.settings = settings;
        this.vit = vit;
        this.be = vit.backend();
        this.classes = classes;
        this.seed = seed;
        this.progress = new TaskProgress(name);
        long headSeed = Seeds.mix(seed, 2, 0);
        int width = vit.config().width();
        this.head = headInit == HeadInit.UNIFORM ? LinearHead.uniform(be, classes, width, headSeed)
                : LinearHead.initialised(be, classes, width, headSeed);
    }

    // ------------------------------------------------------------------ what a method supplies

    /**
     * The method's configuration, whose text a checkpoint must match.
     *
     * @return the configuration
     */
    protected abstract Object config();

    /**
     * The learning rate of epoch e of task t.
     *
     * @param task the task
     * @param epoch the epoch
     * @return the rate
     */
    protected abstract float learningRate(int task, int epoch);

    /**
     * The method's own trainable tensors by name, in optimiser order (the head comes after them).
     *
     * @return the named tensors (owned by the method)
     */
    protected abstract Map<String, Tensor> promptParameters();

    /**
     * Names and tensors in the given order, for {@link #promptParameters()}.
     *
     * @param namesAndTensors a name, its tensor, the next name, …
     * @return the map, in that order
     */
    protected static Map<String, Tensor> inOrder(Object... namesAndTensors) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (int i = 0; i < namesAndTensors.length; i += 2) {
            m.put((String) namesAndTensors[i], (Tensor) namesAndTensors[i + 1]);
        }
        return m;
    }

    /**
     * Every trainable tensor by name, in optimiser order: the method's own, then the head's
     * ({@code head.weight}, {@code head.bias}); what Adam updates and what a checkpoint holds.
     *
     * @return the named tensors (owned by the method)
     */
    public final Map<String, Tensor> parameters() {
        Map<String, Tensor> p = new LinkedHashMap<>(promptParameters());
        p.put("head.weight", head.weight());
        p.put("head.bias", head.bias());
        return p;
    }

    /**
     * Refuses a benchmark of T tasks the method cannot split its prompts over; called before a
     * task begins, so that nothing has changed when it throws. The default accepts any T.
     *
     * @param tasks T
     * @throws IllegalArgumentException if the method cannot learn T tasks
     */
    protected void checkTasks(int tasks) {}

    /**
     * Called at the start of task t, before its optimiser is built (re-initialisations, copies).
     *
     * @param task the task
     * @param tasks T, the tasks of the benchmark
     */
    protected abstract void prepareTask(int task, int tasks);

    /**
     * Loss and gradients of one training batch of task t, the gradients in the order of
     * {@link #parameters()}, in the current scope.
     *
     * @param task the task
     * @param tasks T
     * @param images ViT input [B, C, H, W]
     * @param queries the frozen [CLS] queries [B, D]
     * @param labels the labels, in the task's classes
     * @param range the classes of the cross-entropy: [past, seen)
     * @return the loss and gradients
     */
    protected abstract Step step(int task, int tasks, Tensor images, Tensor queries, int[] labels, ClassRange range);

    /**
     * Head logits [B, C] of a test batch after {@code learned} tasks, in the current scope.
     *
     * @param learned the tasks learned
     * @param tasks T
     * @param images ViT input [B, C, H, W]
     * @param queries the frozen [CLS] queries [B, D]
     * @return the logits over all C classes
     */
    protected abstract Tensor testLogits(int learned, int tasks, Tensor images, Tensor queries);

    /**
     * Called with the checked gradients just before the optimiser step; the default does nothing
     * (a method that clips gradients overrides it).
     *
     * @param grads the gradients, in the order of {@link #parameters()}
     */
    protected void beforeUpdate(List<Tensor> grads) {}

    /** The classes of one task's cross-entropy: [past, seen). */
    public record ClassRange(int past, int seen) {}

    /** Loss and gradients of one batch. */
    public record Step(float loss, List<Tensor> grads) {}

    /** The loss of the prompted pass and its gradients: head, and prompts of every prompted layer. */
    public record HeadPass(float loss, Tensor dWeight, Tensor dBias, PromptGradients prompts) {}

    // ------------------------------------------------------------------ helpers for subclasses

    /**
     * The frozen [CLS] feature after the final LayerNorm, without prompts: the query.
     *
     * @param images ViT input [B, C, H, W]
     * @return [B, D], in the current scope
     */
    protected final Tensor queries(Tensor images) {
        return vit.encodePooled(images, Prompts.none());
    }

    /**
     * Prefix prompts over all layers of the ViT from per-layer lists with nulls (or shorter lists)
     * for the plain layers.
     *
     * @param keys the prefix keys by layer
     * @param values the prefix values by layer
     * @return the prompts
     */
    protected final Prompts prefixes(List<Tensor> keys, List<Tensor> values) {
        List<Tensor> k = new ArrayList<>(keys), v = new ArrayList<>(values);
        while (k.size() < vit.config().depth()) {
            k.add(null);
            v.add(null);
        }
        return Prompts.prefix(k, v);
    }

    /**
     * The prompted pass and its backward: [CLS] features, head, masked cross-entropy over range,
     * and the gradients of W, b and every prompt (in the current scope).
     *
     * @param images ViT input
     * @param prompts the batch's prompts
     * @param labels the labels
     * @param range the classes of the loss
     * @return the loss and gradients
     */
    protected final HeadPass headPass(Tensor images, Prompts prompts, int[] labels, ClassRange range) {
        try (Activations act = vit.forwardPooled(images, prompts)) {
            Tensor logits = head.forward(act.pooled());
            Tensor dLogits = be.empty(logits.shape());
            float loss = be.crossEntropy(logits, labels, range.past(), range.seen(), dLogits);
            Tensor dW = be.empty(head.weight().shape()), db = be.empty(head.bias().shape());
            Tensor dPooled = head.backward(act.pooled(), dLogits, dW, db);
            return new HeadPass(loss, dW, db, vit.backwardPooled(act, dPooled, false));
        }
    }

    /**
     * Overwrites dst with src (same shape) on the method's backend.
     *
     * @param values the values, row-major
     * @param dst the tensor to overwrite
     */
    protected final void upload(float[] values, Tensor dst) {
        try (Tensor src = be.fromArray(values, dst.shape())) {
            be.copy(src, dst);
        }
    }

    // ------------------------------------------------------------------ ContinualMethod

    @Override
    public final String name() {
        return name;
    }

    /** The configured epochs, the same for every task. */
    @Override
    public final int epochs(int task) {
        return settings.epochs();
    }

    @Override
    public String modelIdentity() {
        StringBuilder sb = new StringBuilder("ViT " + vit.config() + "; " + classes + " classes;");
        parameters().forEach((n, t) -> sb.append(' ').append(n).append(Tensor.shapeString(t.shape())));
        return sb.toString();
    }

    @Override
    public void setListener(TrainingListener l) {
        listener = l == null ? TrainingListener.NONE : l;
    }

    @Override
    public final void beginTask(int t, TaskData d) {
        checkData(d);
        checkTasks(d.tasks());
        progress.begin(t);
        data = d;
        tasks = d.tasks();
        prepareTask(t, d.tasks());
        if (epochs(t) == 0) return;
        listener.phaseStarted(TrainingListener.Phase.TRAINING, t);
        adam = new Adam(be, List.copyOf(parameters().values()), new AdamConfig(1f, 0.9f, 0.999f, 1e-8f, 0f));
    }

    @Override
    public final TrainingListener.Epoch trainEpoch(int t, int epoch) {
        requireEpoch(t, epoch, "trainEpoch");
        ClassRange range = range(t);
        float lr = learningRate(t, epoch);
        List<String> names = gradientNames();
        EpochMeter meter = new EpochMeter(listener, TrainingListener.Phase.TRAINING, t, epoch);
        try {
            for (TaskData.Batch batch : data.trainBatches(t, settings.batchSize(), Seeds.mix(seed, t, epoch))) {
                meter.step(batch.size(), () -> update(t, vit.images(requireVit(batch), batch.size()), batch.labels(),
                        range, names, lr));
            }
        } catch (TrainingDivergedException e) {
            throw e.inMethod(name);
        }
        return meter.end(lr);
    }

    /** Task t is in progress and trains an epoch e (its optimiser exists). */
    private void requireEpoch(int t, int epoch, String op) {
        progress.require(t, op);
        if (adam == null || epoch < 0 || epoch >= epochs(t)) {
            throw new IllegalArgumentException(name + ": task " + t + " has no epoch " + epoch);
        }
    }

    /** The classes of task t of the benchmark in progress, those its loss is over. */
    private ClassRange range(int t) {
        TaskSplit split = data.split();
        return new ClassRange(split.past(t), split.seen(t));
    }

    /** The gradients' names for the finite check, in parameter order. */
    private List<String> gradientNames() {
        return parameters().keySet().stream().map(n -> "the gradient of " + n).toList();
    }

    private float update(int t, Tensor images, int[] labels, ClassRange range, List<String> names, float lr) {
        try (TensorScope scope = TensorScope.open()) {
            Step s = step(t, data.tasks(), images, queries(images), labels, range);
            FiniteCheck.loss(s.loss());
            FiniteCheck.gradients(be, names, s.grads());
            beforeUpdate(s.grads());
            adam.step(s.grads(), lr);
            return s.loss();
        }
    }

    /**
     * One update of the task in progress on a batch the caller supplies, exactly as
     * {@link #trainEpoch} makes for each of its batches (query pass, prompted pass, masked loss,
     * checks, Adam at epoch e's learning rate). For callers that feed their own batches, and for
     * timing one step.
     *
     * @param t the task in progress
     * @param epoch the epoch whose learning rate applies
     * @param images ViT input [B, C, H, W] on the method's backend
     * @param labels B labels, among the task's classes
     * @return the batch's loss
     * @throws IllegalStateException if task t is not in progress
     * @throws IllegalArgumentException if the task trains no epoch or a label lies outside the task's classes
     */
    public final float trainBatch(int t, int epoch, Tensor images, int[] labels) {
        requireEpoch(t, epoch, "trainBatch");
        ClassRange range = range(t);
        for (int y : labels) {
            if (y < range.past() || y >= range.seen()) {
                throw new IllegalArgumentException(name + ": label " + y + " is not a class of task " + (t + 1) + " ["
                        + range.past() + ", " + range.seen() + ")");
            }
        }
        List<String> names = gradientNames();
        return update(t, images, labels, range, names, learningRate(t, epoch));
    }

    /**
     * The head's logits over all classes for a batch, with the prompts the learned model selects at
     * test time (the query pass included), as {@link #evaluate} scores them.
     *
     * @param images ViT input [B, C, H, W] on the method's backend
     * @return the logits [B, classes], in the current scope
     * @throws IllegalStateException if no task has been learned yet, or none has begun in this instance
     *     (a restored method learns the benchmark's task count from its next {@link #beginTask})
     */
    public final Tensor logits(Tensor images) {
        int learned = progress.learned();
        if (learned == 0) throw new IllegalStateException(name + ": no task learned yet");
        if (tasks == 0) throw new IllegalStateException(name + ": the task count is unknown until a task begins");
        return testLogits(learned, tasks, images, queries(images));
    }

    @Override
    public final void endTask(int t) {
        progress.require(t, "endTask");
        closeOptimiser();
        data = null;
        progress.end(t);
    }

    @Override
    public final int tasksLearned() {
        return progress.learned();
    }

    /** Class-IL over the classes seen so far (argmax of the head's logits, no masking), and task-IL. */
    @Override
    public final TaskAccuracy evaluate(TaskData d, int testTask) {
        TaskSplit split = checkData(d);
        progress.requireLearned(testTask);
        int learned = progress.learned(), seen = split.seen(learned - 1);
        AccuracyCounter counter = new AccuracyCounter(testTask, split.past(testTask), split.seen(testTask));
        for (TaskData.Batch b : d.testBatches(testTask, settings.evalBatchSize())) {
            float[] all;
            try (TensorScope scope = TensorScope.open()) {
                Tensor images = vit.images(requireVit(b), b.size());
                all = be.toFloatArray(testLogits(learned, d.tasks(), images, queries(images)));
            }
            float[] scores = new float[b.size() * seen];
            for (int i = 0; i < b.size(); i++) System.arraycopy(all, i * classes, scores, i * seen, seen);
            counter.add(scores, seen, b.labels());
        }
        return counter.result();
    }

    /** Every trainable tensor under "model.", the number of finished tasks, the config and the seed. */
    @Override
    public final MethodState saveState() {
        if (data != null) throw new IllegalStateException(name + ": cannot save while a task is in progress");
        MethodState s = progress.newState(config(), seed);
        parameters().forEach((n, t) -> s.putFloats("model." + n, be.toFloatArray(t), t.shape()));
        return s;
    }

    @Override
    public final void restoreState(MethodState s) {
        int learned = progress.checkRestorable(s, config(), seed);
        Map<String, float[]> values = new LinkedHashMap<>();
        parameters().forEach((n, t) -> values.put(n, s.floats("model." + n, t.shape())));
        parameters().forEach((n, t) -> upload(values.get(n), t));
        progress.restore(learned);
    }

    private static float[] requireVit(TaskData.Batch batch) {
        if (batch.vitImages() == null) throw new IllegalArgumentException("prefix prompts: batch has no ViT images");
        return batch.vitImages();
    }

    private TaskSplit checkData(TaskData d) {
        if (d.classes() != classes) {
            throw new IllegalArgumentException(name + ": the data has " + d.classes() + " classes, the model " + classes);
        }
        return d.split();
    }

    private void closeOptimiser() {
        if (adam != null) adam.close();
        adam = null;
    }

    /** Frees the optimiser and the head; a subclass frees its own tensors and calls this. */
    @Override
    public void close() {
        closeOptimiser();
        head.close();
    }
}
