package io.starprompt.backend.reference;

/**
 * Masked cross-entropy and the optimiser steps (native/cpu/loss.cpp, optim.cpp).
 *
 * <p>Part of the float64 reference kernels (see the package description): sums in {@code double},
 * results rounded to {@code float} when stored. The arguments are taken as {@link
 * io.starprompt.backend.Backend} validated them (sizes consistent with the array lengths, indices
 * in range); call through a {@link ReferenceBackend} for checked arguments.
 */
public final class LossOptimKernels {

    private LossOptimKernels() {}

    /**
     * Mean cross-entropy over the batch of logits [batch, classes] with only classes [lo, hi) taking part
     * (the others act as logit −∞); labels must lie in [lo, hi). Returns the loss; dlogits (nullable) is
     * overwritten with the gradient of the mean loss, (softmax − onehot)/batch inside [lo, hi), zero outside.
     *
     * @param logits scores [batch, classes]
     * @param labels one label per row, in [lo, hi)
     * @param batch the number of rows
     * @param classes the number of columns
     * @param lo first class taking part
     * @param hi end of the classes taking part (exclusive)
     * @param dlogits gradient of the mean loss, overwritten, or null
     * @return the mean loss
     */
    public static float crossEntropy(float[] logits, int[] labels, int batch, int classes, int lo, int hi,
            float[] dlogits) {

        double total = 0.0;
        double[] active = new double[hi - lo];
        for (int b = 0; b < batch; b++) {
            int base = b * classes;
            for (int c = lo; c < hi; c++) active[c - lo] = logits[base + c];
            double logSumExp = Numerics.logSumExp(active);
            total += logSumExp - active[labels[b] - lo];
            if (dlogits != null) {
                for (int c = 0; c < classes; c++) {
                    double grad = 0.0;
                    if (c >= lo && c < hi) {
                        grad = Math.exp(active[c - lo] - logSumExp) - (c == labels[b] ? 1.0 : 0.0);
                    }
                    dlogits[base + c] = (float) (grad / batch);
                }
            }
        }
        return (float) (total / batch);
    }

    /**
     * One torch.optim.Adam step (step t ≥ 1): g = grad + wd·param; m = β1·m + (1−β1)·g;
     * v = β2·v + (1−β2)·g²; param −= lr·(m/(1−β1ᵗ)) / (sqrt(v/(1−β2ᵗ)) + eps). param, m, v are updated in place.
     *
     * @param param the parameter, updated in place
     * @param grad its gradient
     * @param m first moment, updated in place
     * @param v second moment, updated in place
     * @param n the number of elements
     * @param lr the learning rate
     * @param beta1 decay of the first moment
     * @param beta2 decay of the second moment
     * @param eps added to the denominator
     * @param weightDecay the L2 factor added to the gradient
     * @param step t, from 1
     */
    public static void adamStep(float[] param, float[] grad, float[] m, float[] v, long n, float lr, float beta1,
            float beta2, float eps, float weightDecay, int step) {
        double biasCorrection1 = 1.0 - Math.pow(beta1, step);
        double biasCorrection2 = 1.0 - Math.pow(beta2, step);
        for (int i = 0; i < n; i++) {
            double g = (double) grad[i] + (double) weightDecay * param[i];
            double mi = (double) beta1 * m[i] + (1.0 - beta1) * g;
            double vi = (double) beta2 * v[i] + (1.0 - beta2) * g * g;
            double mHat = mi / biasCorrection1;
            double vHat = vi / biasCorrection2;
            param[i] = (float) (param[i] - (double) lr * mHat / (Math.sqrt(vHat) + eps));
            m[i] = (float) mi;
            v[i] = (float) vi;
        }
    }

    /**
     * One SGD step without momentum: param −= lr·(grad + weightDecay·param).
     *
     * @param param the parameter, updated in place
     * @param grad its gradient
     * @param n the number of elements
     * @param lr the learning rate
     * @param weightDecay the L2 factor added to the gradient
     */
    public static void sgdStep(float[] param, float[] grad, long n, float lr, float weightDecay) {
        for (int i = 0; i < n; i++) {
            double g = (double) grad[i] + (double) weightDecay * param[i];
            param[i] = (float) (param[i] - (double) lr * g);
        }
    }
}
