package io.starprompt.method;

import io.starprompt.backend.AdamConfig;
import io.starprompt.backend.Backend;
import io.starprompt.model.clip.Clip;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The second stage of one task (spec §4.6–§4.8, §5), in the order of the reference:
 * <ol>
 *   <li>{@link #recallHead}: for t &gt; 0 the head is overwritten with the un-aligned backup of the
 *       previous task;
 *   <li>{@link #train}: a new Adam (β 0.9/0.999, ε 1e-8, no weight decay) over {A, P, W, b}; per
 *       epoch the (switchable) cosine learning rate; per batch the CLIP query of the augmented
 *       image, {@link PromptedClassifier#lossAndGradients} with past logits masked, plus λ2·L_o2
 *       for t &gt; 0, and one Adam step;
 *   <li>{@link #fitStatistics}: MC2 augmented passes over the task's training set, features =
 *       final-norm CLS of the fully prompted model (retrieval over all seen classes), one mixture
 *       (or Gaussian) per current class;
 *   <li>{@link #backupHead}: a host copy of the head as trained;
 *   <li>{@link #alignHead} (t &gt; 0, if enabled): {@link HeadAlignment} for E2 + 5·t epochs.
 * </ol>
 * {@link #learnTask} runs all five. The trainer borrows CLIP and the model; it owns the class
 * replay models and the backup.
 */
public final class SecondStageTrainer {
    private static final Logger LOG = LoggerFactory.getLogger(SecondStageTrainer.class);

    private final Backend be;
    private final Clip clip;
    private final PromptedClassifier model;
    private final StarPromptConfig cfg;
    private final long seed;
    private final GaussianMixture[] replayModels;
    private HeadSnapshot backup;
    private TrainingListener listener = TrainingListener.NONE;

    public SecondStageTrainer(Clip clip, PromptedClassifier model, StarPromptConfig cfg, long seed) {
        this.be = model.vit().backend();
        if (clip.backend() != be) throw new IllegalArgumentException("second stage: CLIP and ViT use different backends");
        this.clip = clip;
        this.model = model;
        this.cfg = cfg;
        this.seed = seed;
        this.replayModels = new GaussianMixture[model.classes()];
    }

    /** Progress callbacks (null = none). */
    public SecondStageTrainer listener(TrainingListener l) {
        this.listener = l == null ? TrainingListener.NONE : l;
        return this;
    }

    /** Losses of one task's second stage. */
    public record TaskLosses(double[] epochLosses, double[] alignmentLosses) {}

    /**
     * lr_e = lr·cos(99π·e / (200·(K−1))) for epoch e of K (§4.7); K ≤ 1 gives the constant lr.
     */
    public static float cosineLr(float lr, int epoch, int epochs) {
        if (epochs <= 1) return lr;
        return (float) (lr * Math.cos(99 * Math.PI * epoch / (200.0 * (epochs - 1))));
    }

    /** The learning rate of epoch e under this config (cosine or constant). */
    public float learningRate(int epoch) {
        return cfg.cosineSchedule() ? cosineLr(cfg.lr(), epoch, cfg.secondStageEpochs()) : cfg.lr();
    }

    // ------------------------------------------------------------------ whole task

    /** Steps 1–5 for task t with the unit keys of the seen classes [seen, d]. */
    public TaskLosses learnTask(int t, int past, int seen, TaskData data, Tensor keys) {
        recallHead(t);
        double[] losses = train(t, past, seen, data, keys);
        fitStatistics(t, past, seen, data, keys);
        backupHead();
        double[] align = new double[0];
        if (t > 0 && cfg.headAlignment()) align = alignHead(t, seen);
        return new TaskLosses(losses, align);
    }

    /** §4.8 step 5: for t &gt; 0 restore the un-aligned head of task t − 1 (no-op without a backup). */
    public void recallHead(int t) {
        if (t <= 0) return;
        if (backup == null) {
            LOG.warn("task {}: no head backup to recall (was the previous task learned by this trainer?)", t);
            return;
        }
        backup.restoreInto(be, model.head());
    }

    /** The current backup (null before the first task ended). */
    public HeadSnapshot backup() {
        return backup;
    }

    /** §4.8 step 2: copies the head as trained. */
    public HeadSnapshot backupHead() {
        backup = HeadSnapshot.of(be, model.head());
        return backup;
    }

    /** The replay model of class c (null until its task's statistics were fitted). */
    public GaussianMixture replayModel(int c) {
        return replayModels[c];
    }

    /** Installs a replay model (for resuming a run). */
    public void setReplayModel(int c, GaussianMixture m) {
        replayModels[c] = m;
    }

    // ------------------------------------------------------------------ training

    /** Stage-2 training of task t; returns the mean loss of every epoch. */
    public double[] train(int t, int past, int seen, TaskData data, Tensor keys) {
        checkRange(past, seen, keys);
        listener.phaseStarted(TrainingListener.Phase.SECOND_STAGE, t);
        int epochs = cfg.secondStageEpochs();
        double[] epochLosses = new double[epochs];
        SecondStage.ClassRange range = SecondStage.ClassRange.training(past, seen);
        AdamConfig adamCfg = new AdamConfig(cfg.lr(), 0.9f, 0.999f, 1e-8f, 0f);
        try (Adam adam = new Adam(be, model.parameters(), adamCfg)) {
            for (int e = 0; e < epochs; e++) {
                float lr = learningRate(e);
                double sum = 0;
                int step = 0;
                for (TaskData.Batch batch : data.trainBatches(t, cfg.batchSize(), mix(seed, t, e))) {
                    float loss = trainStep(adam, batch, keys, range, lr);
                    sum += loss;
                    listener.step(TrainingListener.Phase.SECOND_STAGE, t, e, step, loss);
                    step++;
                }
                epochLosses[e] = step == 0 ? Double.NaN : sum / step;
                LOG.info("task {} stage 2 epoch {}/{}: loss {} (lr {}, {} steps)", t, e + 1, epochs,
                        String.format("%.4f", epochLosses[e]), lr, step);
                listener.epochEnded(TrainingListener.Phase.SECOND_STAGE, t, e, epochLosses[e], lr);
            }
        }
        return epochLosses;
    }

    private float trainStep(Adam adam, TaskData.Batch batch, Tensor keys, SecondStage.ClassRange range, float lr) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor images = vitImages(batch);
            Tensor queries = queries(batch.clipImages(), batch.size());
            try (SecondStage.Result r = model.lossAndGradients(images, queries, keys, batch.labels(), range)) {
                double ortho = model.addOrthogonalityLoss(range.seen(), range.past(), cfg.lambdaOrtho(), r.dPrompts());
                adam.step(List.of(r.dModulation(), r.dPrompts(), r.dHeadWeight(), r.dHeadBias()), lr);
                return (float) (r.loss() + ortho);
            }
        }
    }

    // ------------------------------------------------------------------ statistics

    /**
     * §4.8 step 1: fits one replay model per current class [past, seen) on the final-norm CLS
     * features of MC2 augmented passes over task t's training set.
     */
    public void fitStatistics(int t, int past, int seen, TaskData data, Tensor keys) {
        checkRange(past, seen, keys);
        int width = model.vit().config().width();
        List<List<float[]>> perClass = new ArrayList<>();
        for (int c = past; c < seen; c++) perClass.add(new ArrayList<>());
        for (int pass = 0; pass < cfg.monteCarlo(); pass++) {
            for (TaskData.Batch batch : data.trainBatches(t, cfg.evalBatchSize(), mix(seed ^ 0x57A7L, t, pass))) {
                float[] f;
                try (TensorScope scope = TensorScope.open()) {
                    Tensor feats = model.features(vitImages(batch), queries(batch.clipImages(), batch.size()), keys, seen);
                    f = be.toFloatArray(feats);
                }
                for (int i = 0; i < batch.size(); i++) {
                    int y = batch.labels()[i];
                    if (y < past || y >= seen) {
                        throw new IllegalStateException("second stage: task " + t + " training label " + y
                                + " outside its classes [" + past + ", " + seen + ")");
                    }
                    perClass.get(y - past).add(java.util.Arrays.copyOfRange(f, i * width, (i + 1) * width));
                }
            }
        }
        for (int c = past; c < seen; c++) {
            List<float[]> rows = perClass.get(c - past);
            float[] x = new float[rows.size() * width];
            for (int i = 0; i < rows.size(); i++) System.arraycopy(rows.get(i), 0, x, i * width, width);
            replayModels[c] = cfg.replayModel() == StarPromptConfig.ReplayModel.GAUSSIAN
                    ? GaussianMixture.singleGaussian(x, rows.size(), width)
                    : GaussianMixture.fit(x, rows.size(), width, cfg.mixtureOptions(), mix(seed ^ 0x6A55L, c, 0));
            LOG.debug("task {} class {}: replay model from {} features: {}", t, c, rows.size(), replayModels[c]);
        }
    }

    // ------------------------------------------------------------------ alignment

    /** §4.8 step 3: aligns the head over classes [0, seen) for E2 + 5·t epochs; returns epoch losses. */
    public double[] alignHead(int t, int seen) {
        HeadAlignment.Settings s = new HeadAlignment.Settings(cfg.alignEpochsOfTask(t), cfg.alignLr(),
                cfg.samplesPerClass(), cfg.replayBatch(), cfg.logitTemperature());
        double[] losses = HeadAlignment.align(be, model.head(), replayModels, seen, s,
                new SplittableRandom(mix(seed ^ 0xA11CL, t, 0)), t, listener);
        if (losses.length > 0) {
            LOG.info("task {} head alignment: {} epochs, loss {} → {}", t, losses.length,
                    String.format("%.4f", losses[0]), String.format("%.4f", losses[losses.length - 1]));
        }
        return losses;
    }

    // ------------------------------------------------------------------ helpers

    Tensor vitImages(TaskData.Batch batch) {
        if (batch.vitImages() == null) throw new IllegalArgumentException("second stage: batch has no ViT images");
        return model.vit().images(batch.vitImages(), batch.size());
    }

    Tensor queries(float[] clipImages, int n) {
        return clipQueries(be, clip, clipImages, n);
    }

    /** Raw CLIP image features [n, d] of CLIP-normalised images [n, 3, S, S]. */
    static Tensor clipQueries(Backend be, Clip clip, float[] clipImages, int n) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor px = clip.pixels(clipImages, n);
            return scope.retain(clip.imageFeatures(px));
        }
    }

    private void checkRange(int past, int seen, Tensor keys) {
        if (past < 0 || seen <= past || seen > model.classes()) {
            throw new IllegalArgumentException("second stage: classes [" + past + ", " + seen + ") outside [0, "
                    + model.classes() + ")");
        }
        if (keys.rank() != 2 || keys.dim(0) != seen) {
            throw new IllegalArgumentException("second stage: keys must be [seen = " + seen + ", d], got " + keys);
        }
    }

    static long mix(long a, long b, long c) {
        long h = a * 0x9E3779B97F4A7C15L + b * 0xC2B2AE3D27D4EB4FL + c * 0x165667B19E3779F9L;
        h ^= h >>> 31;
        h *= 0xBF58476D1CE4E5B9L;
        h ^= h >>> 29;
        h *= 0x94D049BB133111EBL;
        return h ^ (h >>> 32);
    }
}
