package io.starprompt.method.starprompt;

import io.starprompt.backend.Backend;
import io.starprompt.cl.AccuracyMatrix;
import io.starprompt.cl.TaskData;
import io.starprompt.cl.TaskSplit;
import io.starprompt.method.CheckpointException;
import io.starprompt.method.ContinualMethod;
import io.starprompt.method.MethodState;
import io.starprompt.method.TaskAccuracy;
import io.starprompt.method.TrainingDivergedException;
import io.starprompt.method.TrainingListener;
import io.starprompt.method.common.CosineClassifier;
import io.starprompt.method.common.Seeds;
import io.starprompt.model.clip.Clip;
import io.starprompt.model.tokenizer.ClipTokenizer;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.IntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * STAR-Prompt end to end (ALGORITHM.md §5): per task the first stage (CLIP context tokens, their
 * generative-replay alignment, the fixed keys of the task's classes), then the second stage
 * (prompted ViT training, statistics, head backup and re-alignment), then evaluation (§6).
 *
 * <pre>{@code
 * try (StarPrompt sp = StarPrompt.builder().backend(be).clip(clip).vit(vit)
 *         .tokenizer(tok).classNames(data.classNames())      // or .promptIds(ids)
 *         .config(StarPromptConfig.defaults()).seed(1993).build()) {
 *     StarPrompt.RunResult r = sp.run(data);                  // learnTask + accuracyRow per task
 *     System.out.println(r.accuracy());                       // FAA, forgetting, BWT
 * }
 * }</pre>
 *
 * The two-run variant: {@link #runFirstStageOnly} (all tasks, returns the keys of all classes,
 * save them with {@link FirstStage.KeyStore#writeTo}), then, possibly in another process,
 * {@link #runSecondStageFromKeys}.
 *
 * <p>As a {@link ContinualMethod} a task is {@link #epochs}(t) = E_S1 + E_S2 calls of
 * {@link #trainEpoch}: the first E_S1 are stage-1 epochs; the first stage-2 epoch first ends
 * stage 1 (mixtures, alignment, fixed keys) and recalls the head; {@link #endTask} runs the
 * statistics, the backup and the head alignment. An instance built without prompt ids (second
 * stage only) runs E_S2 epochs per task on installed keys.
 *
 * <p>CLIP and the ViT are borrowed; the first stage, the prompts and the head are owned (freed by
 * {@link #close()}). Build and use the object outside any {@link TensorScope} (a scope open at
 * build time would free the parameters when it closes). Not thread-safe.
 */
public final class StarPrompt implements ContinualMethod {
    private static final Logger LOG = LoggerFactory.getLogger(StarPrompt.class);

    private final Backend be;
    private final Clip clip;
    private final VisionTransformer vit;
    private final StarPromptConfig cfg;
    private final long seed;
    private final int classes;
    private final int keyDim;
    private final int[][] promptIds;
    private TrainingListener listener;
    private final PromptedClassifier model;
    private final SecondStageTrainer trainer;
    private final Inference inference;
    private final float[] keyTable;
    private int keysKnown;
    private FirstStage firstStage;
    private TaskRun current;
    private TaskResult lastTask;
    private int tasksLearned;

    private StarPrompt(Builder b) {
        this.be = Objects.requireNonNull(b.be, "backend");
        this.clip = Objects.requireNonNull(b.clip, "clip");
        this.vit = Objects.requireNonNull(b.vit, "vit");
        if (clip.backend() != be || vit.backend() != be) {
            throw new IllegalArgumentException("star-prompt: CLIP, ViT and the builder's backend must be the same object");
        }
        this.cfg = b.cfg == null ? StarPromptConfig.defaults() : b.cfg;
        this.seed = b.seed;
        this.listener = b.listener == null ? TrainingListener.NONE : b.listener;
        int[][] ids = b.promptIds;
        if (ids == null && b.tokenizer != null) {
            if (b.classNames == null) throw new IllegalArgumentException("star-prompt: a tokenizer needs classNames(...)");
            ids = FirstStage.promptIds(b.tokenizer, b.classNames);
        }
        this.promptIds = ids;
        int c = ids != null ? ids.length : b.classes;
        if (c < 1) {
            throw new IllegalArgumentException("star-prompt: give promptIds, tokenizer + classNames, or (second stage"
                    + " only) classes");
        }
        if (b.classes > 0 && b.classes != c) {
            throw new IllegalArgumentException("star-prompt: classes = " + b.classes + " but " + c + " prompts");
        }
        this.classes = c;
        this.keyDim = clip.config().projectionDim();
        this.keyTable = new float[classes * keyDim];
        this.model = PromptedClassifier.initialised(vit, classes, keyDim, cfg, Seeds.mix(seed, 2, 0));
        this.trainer = new SecondStageTrainer(clip, model, cfg, Seeds.mix(seed, 3, 0)).listener(listener);
        this.inference = new Inference(clip, model, this::keys);
    }

    /**
     * A builder; see the class comment.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /** Builder; backend, clip, vit and one of promptIds / tokenizer + classNames / classes are required. */
    public static final class Builder {
        private Backend be;
        private Clip clip;
        private VisionTransformer vit;
        private ClipTokenizer tokenizer;
        private List<String> classNames;
        private int[][] promptIds;
        private int classes;
        private StarPromptConfig cfg;
        private long seed;
        private TrainingListener listener;

        /**
         * The backend of CLIP and the ViT.
         *
         * @param b the backend
         * @return this builder
         */
        public Builder backend(Backend b) {
            be = b;
            return this;
        }

        /**
         * The frozen CLIP model (borrowed).
         *
         * @param c CLIP
         * @return this builder
         */
        public Builder clip(Clip c) {
            clip = c;
            return this;
        }

        /**
         * The frozen ViT (borrowed).
         *
         * @param v the ViT
         * @return this builder
         */
        public Builder vit(VisionTransformer v) {
            vit = v;
            return this;
        }

        /**
         * Tokenises "X {name}." for every class of {@link #classNames} (ALGORITHM.md §3.1).
         *
         * @param t the tokenizer
         * @return this builder
         */
        public Builder tokenizer(ClipTokenizer t) {
            tokenizer = t;
            return this;
        }

        /**
         * Class names in new-label order.
         *
         * @param names one name per label
         * @return this builder
         */
        public Builder classNames(List<String> names) {
            classNames = List.copyOf(names);
            return this;
        }

        /**
         * Precomputed stage-1 prompt ids per class (position 1 is replaced by the context token).
         *
         * @param ids one token sequence per class
         * @return this builder
         */
        public Builder promptIds(int[][] ids) {
            promptIds = ids.clone();
            return this;
        }

        /**
         * The number of classes, for a second-stage-only run without prompts.
         *
         * @param c C
         * @return this builder
         */
        public Builder classes(int c) {
            classes = c;
            return this;
        }

        /**
         * The configuration ({@link StarPromptConfig#defaults()} if not given).
         *
         * @param c the configuration
         * @return this builder
         */
        public Builder config(StarPromptConfig c) {
            cfg = c;
            return this;
        }

        /**
         * The run seed every random choice derives from.
         *
         * @param s the seed
         * @return this builder
         */
        public Builder seed(long s) {
            seed = s;
            return this;
        }

        /**
         * Progress callbacks (none if not given).
         *
         * @param l the listener, or null
         * @return this builder
         */
        public Builder listener(TrainingListener l) {
            listener = l;
            return this;
        }

        /**
         * The method, with freshly initialised parameters.
         *
         * @return the method; close it to free its parameters
         */
        public StarPrompt build() {
            return new StarPrompt(this);
        }
    }

    // ------------------------------------------------------------------ results

    /**
     * Losses of one task: stage-1 epoch means, stage-1 alignment batch losses, stage-2 epoch
     * means, head-alignment epoch means (empty where a phase did not run).
     */
    public record TaskResult(int task, double[] firstStageLosses, double[] firstStageAlignmentLosses,
            double[] secondStageLosses, double[] headAlignmentLosses, long millis) {}

    /** A whole run: the accuracy matrix, the stage-1-only accuracy matrix (null if not run) and per-task losses. */
    public record RunResult(AccuracyMatrix accuracy, AccuracyMatrix firstStageAccuracy, List<TaskResult> tasks) {}

    /** The stage-1-only run of the two-run variant: the keys of all classes and the stage-1 accuracy matrix. */
    public record FirstStageRun(FirstStage.KeyStore keys, AccuracyMatrix accuracy, List<TaskResult> tasks) {}

    // ------------------------------------------------------------------ accessors

    /**
     * The configuration.
     *
     * @return the configuration
     */
    public StarPromptConfig config() {
        return cfg;
    }

    /**
     * C, all classes of the benchmark.
     *
     * @return C
     */
    public int classes() {
        return classes;
    }

    /**
     * The second-stage model (prompts and head).
     *
     * @return the model
     */
    public PromptedClassifier model() {
        return model;
    }

    /**
     * The second-stage trainer (replay models, head backup).
     *
     * @return the trainer
     */
    public SecondStageTrainer trainer() {
        return trainer;
    }

    /**
     * Class-incremental inference with the known keys.
     *
     * @return the inference over the known keys
     */
    public Inference inference() {
        return inference;
    }

    /**
     * The first stage (created on first use; needs prompt ids).
     *
     * @return the first stage
     */
    public FirstStage firstStage() {
        if (firstStage == null) {
            if (promptIds == null) {
                throw new IllegalStateException("star-prompt: the first stage needs promptIds or tokenizer + classNames");
            }
            firstStage = FirstStage.forRun(clip, promptIds, cfg, seed);
        }
        return firstStage;
    }

    /**
     * Number of classes whose stage-2 key is known (classes [0, n)).
     *
     * @return the number of known keys
     */
    public int keysKnown() {
        return keysKnown;
    }

    /**
     * The stage-2 keys [seen, d] as a new tensor in the current scope.
     *
     * @param seen the classes [0, seen) whose keys are wanted
     * @return the keys
     */
    public Tensor keys(int seen) {
        if (seen < 1 || seen > keysKnown) {
            throw new IllegalStateException("star-prompt: keys of " + seen + " classes asked, " + keysKnown + " known");
        }
        return be.fromArray(Arrays.copyOf(keyTable, seen * keyDim), seen, keyDim);
    }

    /**
     * The known keys as a key store.
     *
     * @return the keys
     */
    public FirstStage.KeyStore keyStore() {
        if (keysKnown == 0) throw new IllegalStateException("star-prompt: no keys yet");
        return new FirstStage.KeyStore(keysKnown, keyDim, Arrays.copyOf(keyTable, keysKnown * keyDim));
    }

    /**
     * Installs stage-1 keys (two-run variant) for the classes [0, keys.seen()).
     *
     * @param keys the keys to install
     */
    public void installKeys(FirstStage.KeyStore keys) {
        if (keys.dim() != keyDim || keys.seen() > classes) {
            throw new IllegalArgumentException("star-prompt: key store " + keys.seen() + " × " + keys.dim()
                    + " does not fit " + classes + " classes × " + keyDim);
        }
        System.arraycopy(keys.keys(), 0, keyTable, 0, keys.seen() * keyDim);
        keysKnown = Math.max(keysKnown, keys.seen());
    }

    // ------------------------------------------------------------------ the continual-method contract

    /** {@value #NAME}. */
    public static final String NAME = "star-prompt";
    private static final String TASKS_LEARNED = "tasks_learned";
    private static final String KEYS_KNOWN = "keys_known";
    private static final String CONFIG = "config";
    private static final String SEED = "seed";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String modelIdentity() {
        return "ViT " + vit.config() + "; CLIP " + clip.config() + "; " + classes + " classes; " + model.mode()
                + " prompts " + Arrays.toString(model.prompter().prompts().shape()) + "; keys d = " + keyDim;
    }

    @Override
    public void setListener(TrainingListener l) {
        listener = l == null ? TrainingListener.NONE : l;
        trainer.listener(listener);
    }

    /** E_S1 + E_S2, or E_S2 for a task that runs the second stage only. */
    @Override
    public int epochs(int task) {
        if (current != null && current.task == task) return current.epochs();
        return (promptIds != null ? cfg.stage1().epochs() : 0) + cfg.stage2().epochs();
    }

    /** Starts task t: both stages, or the second stage only on installed keys when built without prompt ids. */
    @Override
    public void beginTask(int task, TaskData data) {
        begin(task, data, promptIds != null);
    }

    /**
     * {@inheritDoc}
     *
     * @throws TrainingDivergedException naming this method if a loss or gradient holds NaN or
     *     infinity (no update was made with it)
     */
    @Override
    public TrainingListener.Epoch trainEpoch(int task, int epoch) {
        try {
            return trainEpochOf(task, epoch);
        } catch (TrainingDivergedException e) {
            throw e.inMethod(name());
        }
    }

    private TrainingListener.Epoch trainEpochOf(int task, int epoch) {
        TaskRun run = inProgress(task, "trainEpoch");
        if (epoch != run.nextEpoch || epoch >= run.epochs()) {
            throw new IllegalStateException("star-prompt: task " + task + " expects epoch " + run.nextEpoch + " of "
                    + run.epochs() + ", got " + epoch);
        }
        run.nextEpoch++;
        if (epoch < run.firstStageEpochs()) return run.firstStage.epoch(epoch);
        run.finishFirstStage();
        run.startSecondStage();
        int e = epoch - run.firstStageEpochs();
        try (TensorScope scope = TensorScope.open()) {
            TrainingListener.Epoch r = trainer.trainEpoch(run.training, task, e, run.data, keys(run.seen));
            run.secondStageLosses[e] = r.meanLoss();
            return r;
        }
    }

    /**
     * {@inheritDoc}
     *
     * @throws TrainingDivergedException naming this method if a loss or gradient of the end-of-task
     *     alignments holds NaN or infinity
     */
    @Override
    public void endTask(int task) {
        try {
            endTaskOf(task);
        } catch (TrainingDivergedException e) {
            throw e.inMethod(name());
        }
    }

    private void endTaskOf(int task) {
        TaskRun run = inProgress(task, "endTask");
        if (run.nextEpoch != run.epochs()) {
            throw new IllegalStateException("star-prompt: task " + task + " ends after " + run.nextEpoch + " of "
                    + run.epochs() + " epochs");
        }
        run.finishFirstStage();
        run.startSecondStage();
        run.training.close();
        double[] alignment;
        try (TensorScope scope = TensorScope.open()) {
            alignment = trainer.finishTask(task, run.past, run.seen, run.data, keys(run.seen));
        }
        lastTask = new TaskResult(task, run.firstStageLosses, run.firstStageAlignment, run.secondStageLosses, alignment,
                millis(run.start));
        current = null;
        tasksLearned++;
    }

    @Override
    public int tasksLearned() {
        return tasksLearned;
    }

    /** Class-IL over the classes seen after the last finished task, task-IL over the tested task's classes (§6). */
    @Override
    public TaskAccuracy evaluate(TaskData data, int testTask) {
        TaskSplit split = checkData(data);
        if (testTask < 0 || testTask >= tasksLearned) {
            throw new IllegalArgumentException("star-prompt: task " + testTask + " cannot be tested after "
                    + tasksLearned + " learned tasks");
        }
        return inference.evaluateTask(data, split, testTask, split.seen(tasksLearned - 1), cfg.evalBatchSize());
    }

    /**
     * The key table, the second-stage parameters, replay models and head backup, and (when this
     * instance has prompt ids) the first stage's ctx, fixed keys and mixtures.
     */
    @Override
    public MethodState saveState() {
        if (current != null) throw new IllegalStateException("star-prompt: cannot save while task " + current.task + " is in progress");
        MethodState s = new MethodState().put(TASKS_LEARNED, tasksLearned).put(KEYS_KNOWN, keysKnown)
                .put(CONFIG, cfg.toString()).put(SEED, seed);
        s.putFloats("keys", keyTable, classes, keyDim);
        model.saveTo(s, "stage2.");
        trainer.saveTo(s, "stage2.");
        if (firstStage != null) firstStage.saveTo(s, "stage1.");
        return s;
    }

    @Override
    public void restoreState(MethodState s) {
        if (current != null || tasksLearned != 0 || keysKnown != 0) {
            throw new IllegalStateException("star-prompt: state can only be restored into a fresh instance");
        }
        s.requireProperty(CONFIG, cfg.toString());
        s.requireProperty(SEED, Long.toString(seed));
        float[] keys = s.floats("keys", classes, keyDim);
        int known = s.intProperty(KEYS_KNOWN), learned = s.intProperty(TASKS_LEARNED);
        if (s.has("stage1.ctx") && promptIds == null) {
            throw new CheckpointException("star-prompt: the state holds a first stage, this instance has no prompt ids");
        }
        model.restoreFrom(s, "stage2.");
        trainer.restoreFrom(s, "stage2.");
        if (s.has("stage1.ctx")) firstStage().restoreFrom(s, "stage1.");
        System.arraycopy(keys, 0, keyTable, 0, keys.length);
        keysKnown = known;
        tasksLearned = learned;
    }

    // ------------------------------------------------------------------ per task

    /**
     * End-to-end task t (ALGORITHM.md §5): stage 1, keys of the task's classes, stage 2.
     *
     * @param t the task, the next one
     * @param data the benchmark
     * @return the task's losses
     */
    public TaskResult learnTask(int t, TaskData data) {
        return learn(t, data, true);
    }

    /**
     * Second stage of task t only, with keys already installed (two-run variant).
     *
     * @param t the task, the next one
     * @param data the benchmark
     * @return the task's losses
     */
    public TaskResult learnSecondStage(int t, TaskData data) {
        return learn(t, data, false);
    }

    private TaskResult learn(int t, TaskData data, boolean withFirstStage) {
        begin(t, data, withFirstStage);
        for (int e = 0; e < epochs(t); e++) trainEpoch(t, e);
        endTask(t);
        return lastTask;
    }

    private void begin(int t, TaskData data, boolean withFirstStage) {
        TaskSplit split = checkData(data);
        if (current != null) {
            throw new IllegalStateException("star-prompt: task " + current.task + " is still in progress");
        }
        if (t != tasksLearned) {
            throw new IllegalStateException("star-prompt: task " + t + " out of order, " + tasksLearned
                    + " tasks learned");
        }
        if (withFirstStage) {
            LOG.info("task {}/{}: classes [{}, {})", t + 1, split.tasks(), split.past(t), split.seen(t));
        }
        current = new TaskRun(t, data, split, withFirstStage);
    }

    private TaskRun inProgress(int task, String op) {
        if (current == null || current.task != task) {
            throw new IllegalStateException("star-prompt: " + op + " of task " + task + ", but "
                    + (current == null ? "no task" : "task " + current.task) + " is in progress");
        }
        return current;
    }

    /**
     * Stage 1 of task t on its own (the two-run variant's first run): E_S1 epochs, then the end of
     * the task; the task's keys join the key table. Returns {epoch means, alignment losses}.
     *
     * @param t the task, the next one
     * @param data the benchmark
     * @return the epoch means and the alignment losses
     */
    public double[][] learnFirstStage(int t, TaskData data) {
        TaskSplit split = checkData(data);
        FirstStageTrainer.Task s1 = firstStageTask(t, data, split);
        for (int e = 0; e < cfg.stage1().epochs(); e++) s1.epoch(e);
        double[] align = s1.finish();
        copyKeys(split.past(t), split.seen(t));
        return new double[][] {s1.epochLosses(), align};
    }

    private FirstStageTrainer.Task firstStageTask(int t, TaskData data, TaskSplit split) {
        int past = split.past(t), seen = split.seen(t);
        if (keysKnown < past) {
            throw new IllegalStateException("star-prompt: task " + t + " first stage needs tasks < " + t
                    + " learned first (" + keysKnown + " keys known, " + past + " needed)");
        }
        return new FirstStageTrainer(firstStage(), cfg, seed, listener).begin(t, data, past, seen);
    }

    /** The first stage's fixed keys of classes [past, seen) into the key table. */
    private void copyKeys(int past, int seen) {
        float[] k = firstStage().cachedKeys(seen);
        System.arraycopy(k, past * keyDim, keyTable, past * keyDim, (seen - past) * keyDim);
        keysKnown = Math.max(keysKnown, seen);
    }

    /** The task in progress: which stages it runs and how far it got. */
    private final class TaskRun {
        final int task;
        final TaskData data;
        final int past;
        final int seen;
        final long start = System.nanoTime();
        final boolean withFirstStage;
        FirstStageTrainer.Task firstStage;  // dropped once finished: it holds the task's CLIP features
        final double[] secondStageLosses = new double[cfg.stage2().epochs()];
        double[] firstStageLosses = new double[0];
        double[] firstStageAlignment = new double[0];
        PromptedTraining training;
        int nextEpoch;

        TaskRun(int task, TaskData data, TaskSplit split, boolean withFirstStage) {
            this.task = task;
            this.data = data;
            this.past = split.past(task);
            this.seen = split.seen(task);
            this.withFirstStage = withFirstStage;
            this.firstStage = withFirstStage ? firstStageTask(task, data, split) : null;
        }

        int firstStageEpochs() {
            return withFirstStage ? cfg.stage1().epochs() : 0;
        }

        int epochs() {
            return firstStageEpochs() + cfg.stage2().epochs();
        }

        /** Once: the end of stage 1 (mixtures, alignment, the task's keys fixed and copied). */
        void finishFirstStage() {
            if (firstStage == null) return;
            firstStageLosses = firstStage.epochLosses();
            firstStageAlignment = firstStage.finish();
            firstStage = null;
            copyKeys(past, seen);
        }

        /** Once: the head recall and a fresh optimiser for stage 2 (§4.8 step 5, §4.7). */
        void startSecondStage() {
            if (training != null) return;
            if (keysKnown < seen) {
                throw new IllegalStateException("star-prompt: task " + task + " needs the keys of classes [0, " + seen
                        + "), " + keysKnown + " known (run its first stage or install keys)");
            }
            trainer.recallHead(task);
            training = trainer.beginTraining(task, past, seen);
        }
    }

    // ------------------------------------------------------------------ whole runs

    /**
     * End-to-end: learnTask and evaluation (STAR-Prompt and stage-1-only) after every task.
     *
     * @param data the benchmark
     * @return the accuracy matrices and the per-task losses
     */
    public RunResult run(TaskData data) {
        return learnAndEvaluate(data, checkData(data), t -> learnTask(t, data));
    }

    /** Every task in order: learnt by {@code learn}, then STAR-Prompt and stage 1 alone evaluated. */
    private RunResult learnAndEvaluate(TaskData data, TaskSplit split, IntFunction<TaskResult> learn) {
        AccuracyMatrix acc = new AccuracyMatrix(split.tasks()), acc1 = new AccuracyMatrix(split.tasks());
        List<TaskResult> results = new ArrayList<>();
        for (int t = 0; t < split.tasks(); t++) {
            results.add(learn.apply(t));
            acc.setRow(t, accuracyRow(data, t));
            acc1.setRow(t, evaluateFirstStage(data, t));
            LOG.info("after task {}: accuracy {} (stage 1 only {})", t + 1, Arrays.toString(acc.row(t)),
                    Arrays.toString(acc1.row(t)));
        }
        return new RunResult(acc, acc1, results);
    }

    /**
     * Two-run variant, run 1: stage 1 of every task; returns the keys of all classes and the stage-1
     * accuracies.
     *
     * @param data the benchmark
     * @return the keys, the stage-1 accuracy and the per-task losses
     */
    public FirstStageRun runFirstStageOnly(TaskData data) {
        TaskSplit split = checkData(data);
        AccuracyMatrix acc1 = new AccuracyMatrix(split.tasks());
        List<TaskResult> results = new ArrayList<>();
        for (int t = 0; t < split.tasks(); t++) {
            long start = System.nanoTime();
            double[][] s1 = learnFirstStage(t, data);
            results.add(new TaskResult(t, s1[0], s1[1], new double[0], new double[0], millis(start)));
            acc1.setRow(t, evaluateFirstStage(data, t));
        }
        return new FirstStageRun(firstStage().keyStore(split.classes()), acc1, results);
    }

    /**
     * Two-run variant, run 2: stage 2 of every task from saved keys, with evaluation after each.
     *
     * @param keys the keys of every class, from {@link #runFirstStageOnly}
     * @param data the benchmark
     * @return the accuracy matrices and the per-task losses
     */
    public RunResult runSecondStageFromKeys(FirstStage.KeyStore keys, TaskData data) {
        TaskSplit split = checkData(data);
        if (keys.seen() < split.classes()) {
            throw new IllegalArgumentException("star-prompt: the key store has " + keys.seen() + " keys, the benchmark "
                    + split.classes() + " classes");
        }
        installKeys(keys);
        return learnAndEvaluate(data, split, t -> learnSecondStage(t, data));
    }

    // ------------------------------------------------------------------ inference

    /**
     * §6: predictions over classes [0, seen) for ViT inputs [n,3,H,W] and their CLIP inputs [n,3,S,S].
     *
     * @param vitImages ViT inputs, planar
     * @param clipImages CLIP inputs, planar
     * @param batch images per forward pass
     * @param seen the classes to choose from
     * @return one predicted label per image
     */
    public int[] predict(float[] vitImages, float[] clipImages, int batch, int seen) {
        return inference.predict(vitImages, clipImages, batch, seen);
    }

    /**
     * Accuracy (%) on the test sets of tasks 0…t after task t (over the classes seen after t).
     *
     * @param data the benchmark
     * @param t the last learned task
     * @return one accuracy per tested task
     */
    public double[] accuracyRow(TaskData data, int t) {
        return inference.evaluate(data, t, checkData(data).seen(t), cfg.evalBatchSize());
    }

    /**
     * Stage-1-only accuracy (%): argmax cos(q, k_c) over the classes seen after t, clip_preprocess test
     * images.
     *
     * @param data the benchmark
     * @param t the last learned task
     * @return one accuracy per tested task
     */
    public double[] evaluateFirstStage(TaskData data, int t) {
        int seen = checkData(data).seen(t);
        if (keysKnown < seen) throw new IllegalStateException("star-prompt: keys of " + seen + " classes needed");
        return CosineClassifier.evaluate(clip, Arrays.copyOf(keyTable, seen * keyDim), data, t, seen, cfg.evalBatchSize());
    }

    private TaskSplit checkData(TaskData data) {
        TaskSplit split = data.split();
        if (split.classes() != classes) {
            throw new IllegalArgumentException("star-prompt: the data has " + split.classes() + " classes, the model "
                    + classes);
        }
        return split;
    }

    private static long millis(long startNanos) {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    @Override
    public void close() {
        if (current != null && current.training != null) current.training.close();
        model.close();
        if (firstStage != null) firstStage.close();
    }
}
