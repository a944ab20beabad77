package io.starprompt.method.starprompt;

import io.starprompt.backend.Backend;
import io.starprompt.method.TrainingListener;
import io.starprompt.method.common.EpochMeter;
import io.starprompt.method.common.FiniteCheck;
import io.starprompt.method.common.LinearHead;
import io.starprompt.method.common.mixture.GaussianMixture;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Stage-2 generative replay: re-alignment of the classifier on synthetic features (ALGORITHM.md §4.8
 * step 3). For every epoch a fresh synthetic set of {@code samplesPerClass} features per seen
 * class is drawn from the class models, shuffled and cut into batches; per batch the logits
 * z = W x + b restricted to the seen classes are L2-normalised and divided by the temperature
 * (z̃ = z / (τ(‖z‖₂ + 1e-7))), and plain SGD minimises the mean cross-entropy over all seen classes
 * (no masking). Rows of classes ≥ seen get zero gradient and stay unchanged.
 *
 * <p>The logits are tiny ([batch, seen]), so the normalisation, the loss and their backward run on
 * the host in float64; the head's GEMMs and SGD steps run on the backend.
 */
public final class HeadAlignment {
    /** ε added to the logit norm. */
    public static final double NORM_EPS = 1e-7;

    private HeadAlignment() {}

    /**
     * Mean cross-entropy of the normalised logits z̃ = z / (τ(‖z‖ + 1e-7)) for z [batch, n]
     * (row-major) and labels in [0, n); writes d(mean loss)/dz into dz (nullable) and returns the loss.
     *
     * @param z logits [batch, n], row-major
     * @param batch the number of rows
     * @param n the number of classes
     * @param labels one label per row, in [0, n)
     * @param temperature τ
     * @param dz gradient of the mean loss, overwritten, or null
     * @return the mean loss
     */
    public static double normalizedCrossEntropy(double[] z, int batch, int n, int[] labels, double temperature,
            double[] dz) {
        if (z.length != batch * n || labels.length != batch || (dz != null && dz.length != z.length)) {
            throw new IllegalArgumentException("normalizedCrossEntropy: z has " + z.length + " values for " + batch
                    + " × " + n + ", " + labels.length + " labels");
        }
        double total = 0;
        double[] zt = new double[n], g = new double[n];
        for (int b = 0; b < batch; b++) {
            int off = b * n;
            double norm = 0;
            for (int c = 0; c < n; c++) norm += z[off + c] * z[off + c];
            norm = Math.sqrt(norm);
            double scale = 1 / (temperature * (norm + NORM_EPS));
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < n; c++) {
                zt[c] = z[off + c] * scale;
                max = Math.max(max, zt[c]);
            }
            double sum = 0;
            for (int c = 0; c < n; c++) sum += Math.exp(zt[c] - max);
            double lse = max + Math.log(sum);
            int y = labels[b];
            if (y < 0 || y >= n) throw new IllegalArgumentException("normalizedCrossEntropy: label " + y + " outside [0, " + n + ")");
            total += lse - zt[y];
            if (dz == null) continue;
            // g = dL_b/dz̃ / batch; dz = scale·g − z·(g·z)·scale / ((‖z‖ + ε)·‖z‖)
            double gz = 0;
            for (int c = 0; c < n; c++) {
                g[c] = (Math.exp(zt[c] - lse) - (c == y ? 1 : 0)) / batch;
                gz += g[c] * z[off + c];
            }
            double radial = norm > 0 ? scale * gz / ((norm + NORM_EPS) * norm) : 0;
            for (int c = 0; c < n; c++) dz[off + c] = scale * g[c] - radial * z[off + c];
        }
        return total / batch;
    }

    /** Settings of one alignment run. */
    public record Settings(int epochs, float lr, int samplesPerClass, int batchSize, float temperature) {
        /**
         * Validates: epochs ≥ 0, samples and batch ≥ 1, τ &gt; 0, lr ≥ 0.
         *
         * @param epochs alignment epochs
         * @param lr the learning rate
         * @param samplesPerClass generated features per class and epoch
         * @param batchSize the batch size
         * @param temperature τ
         */
        public Settings {
            if (epochs < 0 || samplesPerClass < 1 || batchSize < 1 || !(temperature > 0) || !(lr >= 0)) {
                throw new IllegalArgumentException("head alignment: bad settings " + epochs + ", " + lr + ", "
                        + samplesPerClass + ", " + batchSize + ", " + temperature);
            }
        }
    }

    /**
     * Aligns the head in place on replayed features of classes [0, seen), class c drawn from
     * models[c]; returns the mean loss of each epoch.
     *
     * @param be the backend of the head
     * @param head the head to align in place
     * @param models the replay model of every seen class
     * @param seen the classes [0, seen)
     * @param s the alignment settings
     * @param rnd the sampling and shuffling randomness
     * @param task the task, for progress reports
     * @param listener progress callbacks
     * @return one mean loss per epoch
     */
    public static double[] align(Backend be, LinearHead head, GaussianMixture[] models, int seen, Settings s,
            RandomGenerator rnd, int task, TrainingListener listener) {
        int width = (int) head.weight().dim(1), classes = (int) head.weight().dim(0);
        if (seen < 1 || seen > classes || models.length < seen) {
            throw new IllegalArgumentException("head alignment: seen = " + seen + " with " + classes + " head rows and "
                    + models.length + " class models");
        }
        for (int c = 0; c < seen; c++) {
            if (models[c] == null) throw new IllegalStateException("head alignment: class " + c + " has no replay model");
            if (models[c].dimension() != width) {
                throw new IllegalArgumentException("head alignment: class " + c + " model has d = "
                        + models[c].dimension() + ", the head width is " + width);
            }
        }
        TrainingListener l = listener == null ? TrainingListener.NONE : listener;
        l.phaseStarted(TrainingListener.Phase.HEAD_ALIGNMENT, task);
        double[] losses = new double[s.epochs()];
        for (int e = 0; e < s.epochs(); e++) {
            EpochMeter meter = new EpochMeter(l, TrainingListener.Phase.HEAD_ALIGNMENT, task, e);
            losses[e] = ReplayEpoch.run(models, seen, s.samplesPerClass(), width, s.batchSize(), rnd,
                    (x, y, step) -> meter.step(y.length, () -> step(be, head, x, y, y.length, seen, classes, width, s)));
            meter.end(s.lr());
        }
        return losses;
    }

    /** The head's gradients in words, for a divergence message. */
    private static final List<String> GRADIENTS = List.of("the gradient of the head weight W",
            "the gradient of the head bias b");

    private static float step(Backend be, LinearHead head, float[] x, int[] y, int n, int seen, int classes, int width,
            Settings s) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor feats = be.fromArray(x, n, width);
            Tensor logits = head.forward(feats);
            float[] all = be.toFloatArray(logits);
            double[] z = new double[n * seen], dz = new double[n * seen];
            for (int i = 0; i < n; i++) {
                for (int c = 0; c < seen; c++) z[i * seen + c] = all[i * classes + c];
            }
            double loss = normalizedCrossEntropy(z, n, seen, y, s.temperature(), dz);
            float[] dAll = new float[n * classes];
            for (int i = 0; i < n; i++) {
                for (int c = 0; c < seen; c++) dAll[i * classes + c] = (float) dz[i * seen + c];
            }
            Tensor dLogits = be.fromArray(dAll, n, classes);
            Tensor dW = be.empty(head.weight().shape()), db = be.empty(head.bias().shape());
            head.backward(feats, dLogits, dW, db);
            FiniteCheck.loss(loss);
            FiniteCheck.gradients(be, GRADIENTS, List.of(dW, db));
            be.sgdStep(head.weight(), dW, s.lr(), 0f);
            be.sgdStep(head.bias(), db, s.lr(), 0f);
            return (float) loss;
        }
    }
}
