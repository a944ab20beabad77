package io.starprompt.method.common;

import io.starprompt.backend.AdamConfig;
import io.starprompt.backend.Backend;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.ArrayList;
import java.util.List;

/**
 * Adam over a fixed list of parameter tensors with its own moment buffers. The second stage
 * creates a new one at every task (fresh moments), so rows that get no gradient in a task stay
 * exactly unchanged (ALGORITHM.md §4.7, §12.16).
 */
public final class Adam implements AutoCloseable {
    private final Backend be;
    private final List<Tensor> params;
    private final List<Tensor> first = new ArrayList<>();
    private final List<Tensor> second = new ArrayList<>();
    private final AdamConfig config;
    private int step;

    /**
     * Zeroed moments for every parameter; the parameters are borrowed, the moments owned.
     *
     * @param be the backend
     * @param params the trainable tensors
     * @param config betas, eps and weight decay (the learning rate comes with each step)
     */
    public Adam(Backend be, List<Tensor> params, AdamConfig config) {
        this.be = be;
        this.params = List.copyOf(params);
        this.config = config;
        for (Tensor p : this.params) {
            first.add(TensorScope.detach(be.zeros(p.shape())));
            second.add(TensorScope.detach(be.zeros(p.shape())));
        }
    }

    /**
     * One update with learning rate lr; grads are in the order of the parameters.
     *
     * @param grads one gradient per parameter
     * @param lr the learning rate of this step
     */
    public void step(List<Tensor> grads, float lr) {
        if (grads.size() != params.size()) {
            throw new IllegalArgumentException("Adam: " + grads.size() + " gradients for " + params.size() + " parameters");
        }
        step++;
        AdamConfig c = config.withLr(lr);
        for (int i = 0; i < params.size(); i++) be.adamStep(params.get(i), grads.get(i), first.get(i), second.get(i), c, step);
    }

    /**
     * Updates taken so far.
     *
     * @return the number of steps
     */
    public int steps() {
        return step;
    }

    @Override
    public void close() {
        first.forEach(Tensor::close);
        second.forEach(Tensor::close);
    }
}
