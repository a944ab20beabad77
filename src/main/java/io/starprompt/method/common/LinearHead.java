package io.starprompt.method.common;

import io.starprompt.backend.Backend;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.Random;

/** The classifier z = W f + b over all C classes (ALGORITHM.md §2.2), with its backward. Owns W and b. */
public final class LinearHead implements AutoCloseable {
    private final Backend be;
    private final Tensor weight;
    private final Tensor bias;

    private LinearHead(Backend be, Tensor weight, Tensor bias) {
        this.be = be;
        this.weight = TensorScope.detach(weight);
        this.bias = TensorScope.detach(bias);
    }

    /**
     * W ~ N(0, 0.02²), b = 0: a fresh head as in the reference.
     *
     * @param be the backend
     * @param classes C
     * @param width D
     * @param seed the initialisation seed
     * @return the head
     */
    public static LinearHead initialised(Backend be, int classes, int width, long seed) {
        Random rnd = new Random(seed);
        float[] w = new float[classes * width];
        for (int i = 0; i < w.length; i++) w[i] = (float) (0.02 * rnd.nextGaussian());
        return new LinearHead(be, be.fromArray(w, classes, width), be.zeros(classes));
    }

    /**
     * W and b uniform on (−1/√D, 1/√D): PyTorch's default initialisation of a linear layer, the
     * head of CODA-Prompt (methods/coda-prompt.md §1).
     *
     * @param be the backend
     * @param classes C
     * @param width D
     * @param seed the initialisation seed
     * @return the head
     */
    public static LinearHead uniform(Backend be, int classes, int width, long seed) {
        Random rnd = new Random(seed);
        double bound = 1 / Math.sqrt(width);
        float[] w = new float[classes * width], b = new float[classes];
        for (int i = 0; i < w.length; i++) w[i] = (float) ((2 * rnd.nextDouble() - 1) * bound);
        for (int i = 0; i < b.length; i++) b[i] = (float) ((2 * rnd.nextDouble() - 1) * bound);
        return new LinearHead(be, be.fromArray(w, classes, width), be.fromArray(b, classes));
    }

    /**
     * Wraps W [C, D] and b [C]; the head takes ownership.
     *
     * @param be the backend
     * @param weight W [C, D]
     * @param bias b [C]
     * @return the head
     */
    public static LinearHead of(Backend be, Tensor weight, Tensor bias) {
        if (weight.rank() != 2 || bias.rank() != 1 || bias.dim(0) != weight.dim(0)) {
            throw new IllegalArgumentException("head: W " + weight + " and b " + bias + " must be [C, D] and [C]");
        }
        return new LinearHead(be, weight, bias);
    }

    /**
     * W [C, D], owned by the head.
     *
     * @return W
     */
    public Tensor weight() {
        return weight;
    }

    /**
     * b [C], owned by the head.
     *
     * @return b
     */
    public Tensor bias() {
        return bias;
    }

    /**
     * logits [B, C] for features [B, D].
     *
     * @param features [B, D]
     * @return the logits, in the current scope
     */
    public Tensor forward(Tensor features) {
        Tensor logits = be.empty(features.dim(0), weight.dim(0));
        be.gemm(features, false, weight, true, logits, 1f, 0f);
        be.addBias(logits, bias);
        return logits;
    }

    /**
     * Writes dW, db (overwritten) and returns dFeatures [B, D].
     *
     * @param features the forward's features [B, D]
     * @param dLogits gradient of the logits [B, C]
     * @param dWeight gradient of W, overwritten
     * @param dBias gradient of b, overwritten
     * @return the gradient of the features, in the current scope
     */
    public Tensor backward(Tensor features, Tensor dLogits, Tensor dWeight, Tensor dBias) {
        be.gemm(dLogits, true, features, false, dWeight, 1f, 0f);
        try (Tensor ones = be.fromArray(filled(dLogits.dim(0)), 1, dLogits.dim(0))) {
            be.gemm(ones, false, dLogits, false, dBias.reshape(1, dBias.dim(0)), 1f, 0f);
        }
        Tensor dFeatures = be.empty(features.shape());
        be.gemm(dLogits, false, weight, false, dFeatures, 1f, 0f);
        return dFeatures;
    }

    private static float[] filled(long n) {
        float[] v = new float[Math.toIntExact(n)];
        java.util.Arrays.fill(v, 1f);
        return v;
    }

    @Override
    public void close() {
        weight.close();
        bias.close();
    }
}
