package io.starprompt.method.starprompt;

import io.starprompt.backend.Backend;
import io.starprompt.cl.TaskData;
import io.starprompt.method.TrainingListener.Phase;
import io.starprompt.method.TrainingDivergedException;
import io.starprompt.method.TrainingListener;
import io.starprompt.method.common.EpochMeter;
import io.starprompt.method.common.Seeds;
import io.starprompt.model.clip.ClipConfig;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The first stage's loop over one task (ALGORITHM.md §3.3–§3.5, §5): the CLIP features of the task's
 * un-augmented clip_preprocess training images are computed once (§10.4), every epoch trains on
 * them in shuffled mini-batches (the last partial batch kept), and the end of the task fits the
 * class mixtures on the same features (MC1 passes pooled, which duplicates points as in the
 * reference) and aligns and fixes the task's keys ({@link FirstStage#endTask}).
 *
 * <p>Randomness comes from (seed, task, epoch) only, so a task can be run again, or after a
 * restore, with the same result.
 */
public final class FirstStageTrainer {
    private static final Logger LOG = LoggerFactory.getLogger(FirstStageTrainer.class);

    private final FirstStage stage;
    private final Backend be;
    private final int epochs;
    private final int monteCarlo;
    private final int batchSize;
    private final int featureBatch;
    private final long seed;
    private final TrainingListener listener;

    /**
     * @param stage    the first stage it trains (borrowed)
     * @param cfg      the run's settings: E_S1, MC1, the training batch size, the feature batch
     *                 size (the evaluation batch size)
     * @param seed     the run seed the shuffles and the end of task derive from
     * @param listener progress (null = none)
     */
    public FirstStageTrainer(FirstStage stage, StarPromptConfig cfg, long seed, TrainingListener listener) {
        this.stage = stage;
        this.be = stage.clip().backend();
        this.epochs = cfg.stage1().epochs();
        this.monteCarlo = cfg.stage1().monteCarlo();
        this.batchSize = cfg.batchSize();
        this.featureBatch = cfg.evalBatchSize();
        this.seed = seed;
        this.listener = listener == null ? TrainingListener.NONE : listener;
    }

    /**
     * E_S1.
     *
     * @return the epochs per task
     */
    public int epochs() {
        return epochs;
    }

    /**
     * Starts task t (classes [past, seen)): reports the phase and computes the task's CLIP features.
     *
     * @param t the task
     * @param data the benchmark
     * @param past the first class of the task
     * @param seen the end of its classes
     * @return the task's training
     */
    public Task begin(int t, TaskData data, int past, int seen) {
        listener.phaseStarted(Phase.FIRST_STAGE, t);
        return new Task(t, data, past, seen);
    }

    /** One task's stage 1 in progress: its cached features, then epochs, then {@link #finish}. */
    public final class Task {
        private final int task;
        private final int past;
        private final int seen;
        private final float[] features;
        private final int[] labels;
        private final double[] epochLosses = new double[epochs];

        private Task(int task, TaskData data, int past, int seen) {
            this.task = task;
            this.past = past;
            this.seen = seen;
            int d = stage.featureDim();
            // Only features and labels are kept: the images of a whole task would not fit in memory.
            List<float[]> featureBatches = new ArrayList<>();
            List<int[]> labelBatches = new ArrayList<>();
            for (TaskData.Batch b : data.clipBatches(task, TaskData.Split.TRAIN, featureBatch)) {
                try (TensorScope scope = TensorScope.open()) {
                    Tensor px = stage.clip().pixels(b.clipImages(), b.size());
                    featureBatches.add(be.toFloatArray(stage.imageFeatures(px)));
                }
                labelBatches.add(b.labels());
            }
            int n = labelBatches.stream().mapToInt(l -> l.length).sum();
            features = new float[n * d];
            labels = new int[n];
            int off = 0;
            for (int i = 0; i < labelBatches.size(); i++) {
                int m = labelBatches.get(i).length;
                System.arraycopy(featureBatches.get(i), 0, features, off * d, m * d);
                System.arraycopy(labelBatches.get(i), 0, labels, off, m);
                off += m;
            }
        }

        /**
         * Epoch e: a fresh shuffle, one SGD step per mini-batch.
         *
         * @param e the epoch index
         * @return the epoch's summary
         */
        public TrainingListener.Epoch epoch(int e) {
            if (e < 0 || e >= epochs) throw new IllegalArgumentException("first stage: epoch " + e + " of " + epochs);
            int n = labels.length, d = stage.featureDim();
            int[] perm = ReplayEpoch.permutation(n, new SplittableRandom(Seeds.mix(seed ^ 0xF1L, task, e)));
            EpochMeter meter = new EpochMeter(listener, Phase.FIRST_STAGE, task, e);
            for (int s = 0; s < n; s += batchSize) {
                int m = Math.min(batchSize, n - s);
                float[] x = new float[m * d];
                int[] y = new int[m];
                for (int i = 0; i < m; i++) {
                    System.arraycopy(features, perm[s + i] * d, x, i * d, d);
                    y[i] = labels[perm[s + i]];
                }
                meter.step(m, () -> {
                    try (TensorScope scope = TensorScope.open()) {
                        return stage.trainStep(be.fromArray(x, m, d), y, past, seen);
                    }
                });
            }
            TrainingListener.Epoch result = meter.end(stage.config().lr());
            epochLosses[e] = result.meanLoss();
            LOG.info("task {} stage 1 epoch {}/{}: loss {}", task + 1, e + 1, epochs, String.format("%.4f", epochLosses[e]));
            return result;
        }

        /**
         * The mean loss of every epoch (0 before it ran).
         *
         * @return one mean per epoch
         */
        public double[] epochLosses() {
            return epochLosses.clone();
        }

        /**
         * The end of the task: mixtures on the features, alignment, the keys of [past, seen)
         * fixed in the first stage. Returns the alignment's epoch losses.
         *
         * @return the alignment's epoch losses
         */
        public double[] finish() {
            try {
                stage.endTask(featuresPerClass(), past, seen, new SplittableRandom(Seeds.mix(seed ^ 0xE7DL, task, 0)));
            } catch (TrainingDivergedException e) {
                throw e.at(FirstStage.ALIGNMENT_PHASE, task, -1, -1);
            }
            return stage.lastAlignmentLosses().stream().mapToDouble(Float::doubleValue).toArray();
        }

        /** Each current class's features, repeated MC1 times. */
        private Map<Integer, float[]> featuresPerClass() {
            int d = stage.featureDim();
            Map<Integer, float[]> perClass = new HashMap<>();
            for (int c = past; c < seen; c++) {
                int count = 0;
                for (int y : labels) if (y == c) count++;
                float[] rows = new float[count * monteCarlo * d];
                int r = 0;
                for (int pass = 0; pass < monteCarlo; pass++) {
                    for (int i = 0; i < labels.length; i++) {
                        if (labels[i] == c) System.arraycopy(features, i * d, rows, (r++) * d, d);
                    }
                }
                perClass.put(c, rows);
            }
            return perClass;
        }
    }

    @Override
    public String toString() {
        return "FirstStageTrainer[" + epochs + " epochs, batch " + batchSize + ", MC1 " + monteCarlo + "]";
    }
}
