package io.starprompt.method;

import io.starprompt.backend.Backend;
import io.starprompt.cl.AccuracyMatrix;
import io.starprompt.cl.TaskSplit;
import io.starprompt.model.clip.Clip;
import io.starprompt.model.tokenizer.ClipTokenizer;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * STAR-Prompt end to end (spec §5): per task the first stage (CLIP context tokens, their
 * generative-replay alignment, the fixed keys of the task's classes), then the second stage
 * (prompted ViT training, statistics, head backup and re-alignment), then evaluation (§6).
 *
 * <pre>{@code
 * try (StarPrompt sp = StarPrompt.builder().backend(be).clip(clip).vit(vit)
 *         .tokenizer(tok).classNames(data.classNames())      // or .promptIds(ids)
 *         .config(StarPromptConfig.defaults()).seed(1993).build()) {
 *     StarPrompt.RunResult r = sp.run(data);                  // learnTask + evaluate per task
 *     System.out.println(r.accuracy());                       // FAA, forgetting, BWT
 * }
 * }</pre>
 *
 * The two-run variant: {@link #runFirstStageOnly} (all tasks, returns the keys of all classes,
 * save them with {@link FirstStage.KeyStore#writeTo}), then, possibly in another process,
 * {@link #runSecondStageFromKeys}.
 *
 * <p>CLIP and the ViT are borrowed; the first stage, the prompts and the head are owned (freed by
 * {@link #close()}). Build and use the object outside any {@link TensorScope} (a scope open at
 * build time would free the parameters when it closes). Not thread-safe.
 */
public final class StarPrompt implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StarPrompt.class);

    private final Backend be;
    private final Clip clip;
    private final VisionTransformer vit;
    private final StarPromptConfig cfg;
    private final long seed;
    private final int classes;
    private final int keyDim;
    private final int[][] promptIds;
    private final TrainingListener listener;
    private final PromptedClassifier model;
    private final SecondStageTrainer trainer;
    private final Inference inference;
    private final float[] keyTable;
    private int keysKnown;
    private FirstStage firstStage;

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
        this.model = PromptedClassifier.initialised(vit, classes, keyDim, cfg, SecondStageTrainer.mix(seed, 2, 0));
        this.trainer = new SecondStageTrainer(clip, model, cfg, SecondStageTrainer.mix(seed, 3, 0)).listener(listener);
        this.inference = new Inference(clip, model, this::keys);
    }

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

        public Builder backend(Backend b) {
            be = b;
            return this;
        }

        public Builder clip(Clip c) {
            clip = c;
            return this;
        }

        public Builder vit(VisionTransformer v) {
            vit = v;
            return this;
        }

        /** Tokenises "X {name}." for every class of {@link #classNames} (spec §3.1). */
        public Builder tokenizer(ClipTokenizer t) {
            tokenizer = t;
            return this;
        }

        /** Class names in new-label order. */
        public Builder classNames(List<String> names) {
            classNames = List.copyOf(names);
            return this;
        }

        /** Precomputed stage-1 prompt ids per class (position 1 is replaced by the context token). */
        public Builder promptIds(int[][] ids) {
            promptIds = ids.clone();
            return this;
        }

        /** The number of classes, for a second-stage-only run without prompts. */
        public Builder classes(int c) {
            classes = c;
            return this;
        }

        public Builder config(StarPromptConfig c) {
            cfg = c;
            return this;
        }

        public Builder seed(long s) {
            seed = s;
            return this;
        }

        public Builder listener(TrainingListener l) {
            listener = l;
            return this;
        }

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

    public StarPromptConfig config() {
        return cfg;
    }

    public int classes() {
        return classes;
    }

    public PromptedClassifier model() {
        return model;
    }

    public SecondStageTrainer trainer() {
        return trainer;
    }

    public Inference inference() {
        return inference;
    }

    /** The first stage (created on first use; needs prompt ids). */
    public FirstStage firstStage() {
        if (firstStage == null) {
            if (promptIds == null) {
                throw new IllegalStateException("star-prompt: the first stage needs promptIds or tokenizer + classNames");
            }
            firstStage = new FirstStage(clip, promptIds, cfg.firstStage().withDensity(cfg.density()),
                    SecondStageTrainer.mix(seed, 1, 0));
        }
        return firstStage;
    }

    /** Number of classes whose stage-2 key is known (classes [0, n)). */
    public int keysKnown() {
        return keysKnown;
    }

    /** The stage-2 keys [seen, d] as a new tensor in the current scope. */
    public Tensor keys(int seen) {
        if (seen < 1 || seen > keysKnown) {
            throw new IllegalStateException("star-prompt: keys of " + seen + " classes asked, " + keysKnown + " known");
        }
        return be.fromArray(Arrays.copyOf(keyTable, seen * keyDim), seen, keyDim);
    }

    /** The known keys as a key store. */
    public FirstStage.KeyStore keyStore() {
        if (keysKnown == 0) throw new IllegalStateException("star-prompt: no keys yet");
        return new FirstStage.KeyStore(keysKnown, keyDim, Arrays.copyOf(keyTable, keysKnown * keyDim));
    }

    /** Installs stage-1 keys (two-run variant) for the classes [0, keys.seen()). */
    public void installKeys(FirstStage.KeyStore keys) {
        if (keys.dim() != keyDim || keys.seen() > classes) {
            throw new IllegalArgumentException("star-prompt: key store " + keys.seen() + " × " + keys.dim()
                    + " does not fit " + classes + " classes × " + keyDim);
        }
        System.arraycopy(keys.keys(), 0, keyTable, 0, keys.seen() * keyDim);
        keysKnown = Math.max(keysKnown, keys.seen());
    }

    // ------------------------------------------------------------------ per task

    /** End-to-end task t (spec §5): stage 1, keys of the task's classes, stage 2. */
    public TaskResult learnTask(int t, TaskData data) {
        long start = System.nanoTime();
        TaskSplit split = checkData(data);
        LOG.info("task {}/{}: classes [{}, {})", t + 1, split.tasks(), split.past(t), split.seen(t));
        double[][] s1 = learnFirstStage(t, data);
        SecondStageTrainer.TaskLosses s2 = secondStage(t, split, data);
        return new TaskResult(t, s1[0], s1[1], s2.epochLosses(), s2.alignmentLosses(), millis(start));
    }

    /** Second stage of task t only, with keys already installed (two-run variant). */
    public TaskResult learnSecondStage(int t, TaskData data) {
        long start = System.nanoTime();
        TaskSplit split = checkData(data);
        SecondStageTrainer.TaskLosses s2 = secondStage(t, split, data);
        return new TaskResult(t, new double[0], new double[0], s2.epochLosses(), s2.alignmentLosses(), millis(start));
    }

    private SecondStageTrainer.TaskLosses secondStage(int t, TaskSplit split, TaskData data) {
        int past = split.past(t), seen = split.seen(t);
        if (keysKnown < seen) {
            throw new IllegalStateException("star-prompt: task " + t + " needs the keys of classes [0, " + seen + "), "
                    + keysKnown + " known (run its first stage or install keys)");
        }
        try (TensorScope scope = TensorScope.open()) {
            return trainer.learnTask(t, past, seen, data, keys(seen));
        }
    }

    /**
     * Stage 1 of task t: CLIP features of the task's clip_preprocess training images computed
     * once, E_S1 epochs of shuffled SGD steps, then {@link FirstStage#endTask} on the features
     * (pooled MC1 times) and the task's keys copied into the key table. Returns {epoch means,
     * alignment losses}.
     */
    public double[][] learnFirstStage(int t, TaskData data) {
        TaskSplit split = checkData(data);
        int past = split.past(t), seen = split.seen(t);
        if (keysKnown < past) {
            throw new IllegalStateException("star-prompt: task " + t + " first stage needs tasks < " + t
                    + " learned first (" + keysKnown + " keys known, " + past + " needed)");
        }
        FirstStage fs = firstStage();
        listener.phaseStarted(TrainingListener.Phase.FIRST_STAGE, t);
        // CLIP features of the deterministic stage-1 inputs, once per task (spec §10.4).
        List<float[]> featureBatches = new ArrayList<>();
        List<int[]> labelBatches = new ArrayList<>();
        int n = 0;
        for (TaskData.Batch b : data.clipBatches(t, TaskData.Split.TRAIN, cfg.evalBatchSize())) {
            try (TensorScope scope = TensorScope.open()) {
                Tensor px = clip.pixels(b.clipImages(), b.size());
                featureBatches.add(be.toFloatArray(fs.imageFeatures(px)));
            }
            labelBatches.add(b.labels());
            n += b.size();
        }
        float[] feats = new float[n * keyDim];
        int[] labels = new int[n];
        int off = 0;
        for (int i = 0; i < featureBatches.size(); i++) {
            int m = labelBatches.get(i).length;
            System.arraycopy(featureBatches.get(i), 0, feats, off * keyDim, m * keyDim);
            System.arraycopy(labelBatches.get(i), 0, labels, off, m);
            off += m;
        }
        // Training: shuffled mini-batches every epoch, last partial batch kept.
        double[] epochLosses = new double[cfg.firstStageEpochs()];
        for (int e = 0; e < cfg.firstStageEpochs(); e++) {
            int[] perm = ReplayEpoch.permutation(n, new SplittableRandom(SecondStageTrainer.mix(seed ^ 0xF1L, t, e)));
            double sum = 0;
            int steps = 0;
            for (int s = 0; s < n; s += cfg.batchSize(), steps++) {
                int m = Math.min(cfg.batchSize(), n - s);
                float[] x = new float[m * keyDim];
                int[] y = new int[m];
                for (int i = 0; i < m; i++) {
                    System.arraycopy(feats, perm[s + i] * keyDim, x, i * keyDim, keyDim);
                    y[i] = labels[perm[s + i]];
                }
                float loss;
                try (TensorScope scope = TensorScope.open()) {
                    loss = fs.trainStep(be.fromArray(x, m, keyDim), y, past, seen);
                }
                sum += loss;
                listener.step(TrainingListener.Phase.FIRST_STAGE, t, e, steps, loss);
            }
            epochLosses[e] = steps == 0 ? Double.NaN : sum / steps;
            LOG.info("task {} stage 1 epoch {}/{}: loss {}", t, e + 1, cfg.firstStageEpochs(),
                    String.format("%.4f", epochLosses[e]));
            listener.epochEnded(TrainingListener.Phase.FIRST_STAGE, t, e, epochLosses[e], cfg.firstStage().lr());
        }
        // End of task: mixtures on the raw features (MC1 passes pooled), alignment, fixed keys.
        Map<Integer, float[]> perClass = new HashMap<>();
        int mc = cfg.firstStageMonteCarlo();
        for (int c = past; c < seen; c++) {
            int count = 0;
            for (int y : labels) if (y == c) count++;
            float[] rows = new float[count * mc * keyDim];
            int r = 0;
            for (int pass = 0; pass < mc; pass++) {
                for (int i = 0; i < n; i++) {
                    if (labels[i] == c) System.arraycopy(feats, i * keyDim, rows, (r++) * keyDim, keyDim);
                }
            }
            perClass.put(c, rows);
        }
        fs.endTask(perClass, past, seen, new SplittableRandom(SecondStageTrainer.mix(seed ^ 0xE7DL, t, 0)));
        float[] k = fs.cachedKeys(seen);
        System.arraycopy(k, past * keyDim, keyTable, past * keyDim, (seen - past) * keyDim);
        keysKnown = Math.max(keysKnown, seen);
        List<Float> al = fs.lastAlignmentLosses();
        double[] align = new double[al.size()];
        for (int i = 0; i < align.length; i++) align[i] = al.get(i);
        return new double[][] {epochLosses, align};
    }

    // ------------------------------------------------------------------ whole runs

    /** End-to-end: learnTask and evaluation (STAR-Prompt and stage-1-only) after every task. */
    public RunResult run(TaskData data) {
        TaskSplit split = checkData(data);
        AccuracyMatrix acc = new AccuracyMatrix(split.tasks()), acc1 = new AccuracyMatrix(split.tasks());
        List<TaskResult> results = new ArrayList<>();
        for (int t = 0; t < split.tasks(); t++) {
            results.add(learnTask(t, data));
            acc.setRow(t, evaluate(data, t));
            acc1.setRow(t, evaluateFirstStage(data, t));
            LOG.info("after task {}: accuracy {} (stage 1 only {})", t, Arrays.toString(acc.row(t)),
                    Arrays.toString(acc1.row(t)));
        }
        return new RunResult(acc, acc1, results);
    }

    /** Two-run variant, run 1: stage 1 of every task; returns the keys of all classes and the stage-1 accuracies. */
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

    /** Two-run variant, run 2: stage 2 of every task from saved keys, with evaluation after each. */
    public RunResult runSecondStageFromKeys(FirstStage.KeyStore keys, TaskData data) {
        TaskSplit split = checkData(data);
        if (keys.seen() < split.classes()) {
            throw new IllegalArgumentException("star-prompt: the key store has " + keys.seen() + " keys, the benchmark "
                    + split.classes() + " classes");
        }
        installKeys(keys);
        AccuracyMatrix acc = new AccuracyMatrix(split.tasks()), acc1 = new AccuracyMatrix(split.tasks());
        List<TaskResult> results = new ArrayList<>();
        for (int t = 0; t < split.tasks(); t++) {
            results.add(learnSecondStage(t, data));
            acc.setRow(t, evaluate(data, t));
            acc1.setRow(t, evaluateFirstStage(data, t));
        }
        return new RunResult(acc, acc1, results);
    }

    // ------------------------------------------------------------------ inference

    /** §6: predictions over classes [0, seen) for ViT inputs [n,3,H,W] and their CLIP inputs [n,3,S,S]. */
    public int[] predict(float[] vitImages, float[] clipImages, int batch, int seen) {
        return inference.predict(vitImages, clipImages, batch, seen);
    }

    /** Accuracy (%) on the test sets of tasks 0…t after task t (over the classes seen after t). */
    public double[] evaluate(TaskData data, int t) {
        return inference.evaluate(data, t, checkData(data).seen(t), cfg.evalBatchSize());
    }

    /** Stage-1-only accuracy (%): argmax cos(q, k_c) over the classes seen after t, clip_preprocess test images. */
    public double[] evaluateFirstStage(TaskData data, int t) {
        int seen = checkData(data).seen(t);
        if (keysKnown < seen) throw new IllegalStateException("star-prompt: keys of " + seen + " classes needed");
        return Baselines.evaluateCosine(clip, Arrays.copyOf(keyTable, seen * keyDim), data, t, seen, cfg.evalBatchSize());
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
        model.close();
        if (firstStage != null) firstStage.close();
    }
}
