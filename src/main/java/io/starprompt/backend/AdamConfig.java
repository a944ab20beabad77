package io.starprompt.backend;

/** Adam hyper-parameters (torch.optim.Adam semantics; weight decay is L2 added to the gradient). */
public record AdamConfig(float lr, float beta1, float beta2, float eps, float weightDecay) {
    /**
     * lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay: the second-stage optimiser.
     *
     * @return the defaults
     */
    public static AdamConfig defaults() {
        return new AdamConfig(1e-3f, 0.9f, 0.999f, 1e-8f, 0f);
    }

    /**
     * The same hyper-parameters with another learning rate.
     *
     * @param newLr the learning rate of the copy
     * @return the copy
     */
    public AdamConfig withLr(float newLr) {
        return new AdamConfig(newLr, beta1, beta2, eps, weightDecay);
    }
}
