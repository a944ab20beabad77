package io.starprompt.method.starprompt;

import io.starprompt.backend.Backend;
import io.starprompt.cl.TaskData;
import io.starprompt.method.CheckpointException;
import io.starprompt.method.MethodState;
import io.starprompt.method.TrainingListener;
import io.starprompt.method.common.Adam;
import io.starprompt.method.common.ClipQueries;
import io.starprompt.method.common.CosineSchedule;
import io.starprompt.method.common.HeadSnapshot;
import io.starprompt.method.common.Seeds;
import io.starprompt.method.common.mixture.GaussianMixture;
import io.starprompt.model.clip.Clip;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The second stage of one task (ALGORITHM.md §4.6–§4.8, §5), in the order of the reference:
 * <ol>
 *   <li>{@link #recallHead}: for t &gt; 0 the head is overwritten with the un-aligned backup of the
 *       previous task;
 *   <li>{@link #beginTraining} and {@link #trainEpoch} per epoch: a new Adam over {A, P, W, b}
 *       ({@link PromptedTraining}); per epoch the (switchable) cosine learning rate; per batch
 *       the CLIP query of the augmented image, {@link PromptedClassifier#lossAndGradients} with
 *       past logits masked, plus λ2·L_o2 for t &gt; 0, and one Adam step;
 *   <li>{@link #fitStatistics}: MC2 augmented passes over the task's training set, features =
 *       final-norm CLS of the fully prompted model (retrieval over all seen classes), one mixture
 *       (or Gaussian) per current class;
 *   <li>{@link #backupHead}: a host copy of the head as trained;
 *   <li>{@link #alignHead} (t &gt; 0, if enabled): {@link HeadAlignment} for E2 + 5·t epochs.
 * </ol>
 * {@link #finishTask} runs steps 3–5 after the last epoch. The trainer borrows CLIP and the
 * model; it owns the class replay models and the backup.
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

    /**
     * A trainer of model (borrowed, like CLIP) whose randomness derives from seed.
     *
     * @param clip the frozen CLIP (borrowed)
     * @param model the model to train (borrowed)
     * @param cfg the run's configuration
     * @param seed the run's seed
     */
    public SecondStageTrainer(Clip clip, PromptedClassifier model, StarPromptConfig cfg, long seed) {
        this.be = model.vit().backend();
        if (clip.backend() != be) throw new IllegalArgumentException("second stage: CLIP and ViT use different backends");
        this.clip = clip;
        this.model = model;
        this.cfg = cfg;
        this.seed = seed;
        this.replayModels = new GaussianMixture[model.classes()];
    }

    /**
     * Progress callbacks (null = none).
     *
     * @param l the listener, or null
     * @return this trainer
     */
    public SecondStageTrainer listener(TrainingListener l) {
        this.listener = l == null ? TrainingListener.NONE : l;
        return this;
    }

    /**
     * lr_e = lr·cos(99π·e / (200·(K−1))) for epoch e of K (§4.7); K ≤ 1 gives the constant lr.
     *
     * @param lr the base learning rate
     * @param epoch e
     * @param epochs K
     * @return the learning rate of epoch e
     */
    public static float cosineLr(float lr, int epoch, int epochs) {
        return CosineSchedule.lr(lr, epoch, epochs);
    }

    /**
     * The learning rate of epoch e under this config (cosine or constant).
     *
     * @param epoch the epoch index
     * @return its learning rate
     */
    public float learningRate(int epoch) {
        return cfg.stage2().learningRate(epoch);
    }

    // ------------------------------------------------------------------ whole task

    /**
     * Steps 2–4 after the last epoch of task t: statistics, backup, and (t &gt; 0, if enabled)
     * the head alignment. Returns the alignment's epoch losses (empty when it did not run).
     *
     * @param t the task
     * @param past the first class of the task
     * @param seen the end of its classes
     * @param data the benchmark
     * @param keys unit keys of the seen classes
     * @return the alignment's epoch losses
     */
    public double[] finishTask(int t, int past, int seen, TaskData data, Tensor keys) {
        fitStatistics(t, past, seen, data, keys);
        backupHead();
        return t > 0 && cfg.alignment().enabled() ? alignHead(t, seen) : new double[0];
    }

    /**
     * §4.8 step 5: for t &gt; 0 restore the un-aligned head of task t − 1 (no-op without a backup).
     *
     * @param t the task about to be trained
     */
    public void recallHead(int t) {
        if (t <= 0) return;
        if (backup == null) {
            LOG.warn("task {}: no head backup to recall (was the previous task learned by this trainer?)", t + 1);
            return;
        }
        backup.restoreInto(be, model.head());
    }

    /**
     * The current backup (null before the first task ended).
     *
     * @return the backup, or null
     */
    public HeadSnapshot backup() {
        return backup;
    }

    /**
     * §4.8 step 2: copies the head as trained.
     *
     * @return the backup
     */
    public HeadSnapshot backupHead() {
        backup = HeadSnapshot.of(be, model.head());
        return backup;
    }

    /**
     * The replay model of class c (null until its task's statistics were fitted).
     *
     * @param c a class
     * @return its replay model, or null
     */
    public GaussianMixture replayModel(int c) {
        return replayModels[c];
    }

    /**
     * Installs a replay model (for resuming a run).
     *
     * @param c a class
     * @param m its replay model
     */
    public void setReplayModel(int c, GaussianMixture m) {
        replayModels[c] = m;
    }

    /**
     * Stores what the second stage carries to the next task under {@code prefix}: the replay
     * model of every class that has one and the head backup, if any.
     *
     * @param state the state to add to
     * @param prefix the names' prefix
     */
    public void saveTo(MethodState state, String prefix) {
        for (int c = 0; c < replayModels.length; c++) {
            if (replayModels[c] != null) replayModels[c].saveTo(state, prefix + "mixture." + c + ".");
        }
        if (backup != null) backup.saveTo(state, prefix + "head_backup.");
    }

    /**
     * Restores what {@link #saveTo} stored under prefix.
     *
     * @param state the state to read
     * @param prefix the names' prefix
     * @throws CheckpointException if an entry is missing or of another shape
     */
    public void restoreFrom(MethodState state, String prefix) {
        int classes = model.classes(), width = model.vit().config().width();
        GaussianMixture[] restored = new GaussianMixture[classes];
        for (int c = 0; c < classes; c++) {
            String mixture = prefix + "mixture." + c + ".";
            if (state.has(mixture + "weights")) restored[c] = GaussianMixture.restoreFrom(state, mixture, width);
        }
        HeadSnapshot b = state.has(prefix + "head_backup.weight")
                ? HeadSnapshot.restoreFrom(state, prefix + "head_backup.", classes, width) : null;
        System.arraycopy(restored, 0, replayModels, 0, classes);
        backup = b;
    }

    // ------------------------------------------------------------------ training

    /**
     * Starts the training of task t over classes [past, seen) (after {@link #recallHead}): a fresh
     * optimiser session, reported as the start of {@link TrainingListener.Phase#SECOND_STAGE}.
     *
     * @param t the task
     * @param past the first class of the task
     * @param seen the end of its classes
     * @return the training session; close it
     */
    public PromptedTraining beginTraining(int t, int past, int seen) {
        checkClasses(past, seen);
        listener.phaseStarted(TrainingListener.Phase.SECOND_STAGE, t);
        return new PromptedTraining(clip, model, TrainingListener.Phase.SECOND_STAGE, t,
                SecondStage.ClassRange.training(past, seen), cfg.stage2().lr(), cfg.stage2().lambdaOrtho(), listener);
    }

    /**
     * Epoch e of task t's training in that session, with the unit keys [seen, d] of the seen classes.
     *
     * @param session the training session
     * @param t the task
     * @param e the epoch index
     * @param data the benchmark
     * @param keys unit keys of the seen classes
     * @return the epoch's summary
     */
    public TrainingListener.Epoch trainEpoch(PromptedTraining session, int t, int e, TaskData data, Tensor keys) {
        float lr = learningRate(e);
        TrainingListener.Epoch r = session.epoch(e, data.trainBatches(t, cfg.batchSize(), Seeds.mix(seed, t, e)), keys, lr);
        LOG.info("task {} stage 2 epoch {}/{}: loss {} (lr {}, {} steps)", t + 1, e + 1, cfg.stage2().epochs(),
                String.format("%.4f", r.meanLoss()), lr, r.steps());
        return r;
    }

    // ------------------------------------------------------------------ statistics

    /**
     * §4.8 step 1: fits one replay model per current class [past, seen) on the final-norm CLS
     * features of MC2 augmented passes over task t's training set.
     *
     * @param t the task
     * @param past the first class of the task
     * @param seen the end of its classes
     * @param data the benchmark
     * @param keys unit keys of the seen classes
     */
    public void fitStatistics(int t, int past, int seen, TaskData data, Tensor keys) {
        checkRange(past, seen, keys);
        int width = model.vit().config().width();
        List<List<float[]>> perClass = new ArrayList<>();
        for (int c = past; c < seen; c++) perClass.add(new ArrayList<>());
        for (int pass = 0; pass < cfg.replay().monteCarlo(); pass++) {
            for (TaskData.Batch batch : data.trainBatches(t, cfg.evalBatchSize(), Seeds.mix(seed ^ 0x57A7L, t, pass))) {
                float[] f;
                try (TensorScope scope = TensorScope.open()) {
                    Tensor feats = model.features(PromptedTraining.vitImages(model.vit(), batch),
                            ClipQueries.compute(clip, batch.clipImages(), batch.size()), keys, seen);
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
            replayModels[c] = cfg.replay().model() == StarPromptConfig.ReplayModel.GAUSSIAN
                    ? GaussianMixture.singleGaussian(x, rows.size(), width)
                    : GaussianMixture.fit(x, rows.size(), width, cfg.replay().mixtureOptions(), Seeds.mix(seed ^ 0x6A55L, c, 0));
            LOG.debug("task {} class {}: replay model from {} features: {}", t + 1, c, rows.size(), replayModels[c]);
        }
    }

    // ------------------------------------------------------------------ alignment

    /**
     * §4.8 step 3: aligns the head over classes [0, seen) for E2 + 5·t epochs; returns epoch losses.
     *
     * @param t the task just trained
     * @param seen the classes [0, seen)
     * @return one mean loss per epoch
     */
    public double[] alignHead(int t, int seen) {
        HeadAlignment.Settings s = new HeadAlignment.Settings(cfg.alignEpochsOfTask(t), cfg.alignment().lr(),
                cfg.alignment().samplesPerClass(), cfg.alignment().batchSize(), cfg.alignment().logitTemperature());
        double[] losses = HeadAlignment.align(be, model.head(), replayModels, seen, s,
                new SplittableRandom(Seeds.mix(seed ^ 0xA11CL, t, 0)), t, listener);
        if (losses.length > 0) {
            LOG.info("task {} head alignment: {} epochs, loss {} → {}", t + 1, losses.length,
                    String.format("%.4f", losses[0]), String.format("%.4f", losses[losses.length - 1]));
        }
        return losses;
    }

    // ------------------------------------------------------------------ helpers

    private void checkRange(int past, int seen, Tensor keys) {
        checkClasses(past, seen);
        PromptedTraining.checkKeys(keys, seen);
    }

    private void checkClasses(int past, int seen) {
        if (past < 0 || seen <= past || seen > model.classes()) {
            throw new IllegalArgumentException("second stage: classes [" + past + ", " + seen + ") outside [0, "
                    + model.classes() + ")");
        }
    }

}
