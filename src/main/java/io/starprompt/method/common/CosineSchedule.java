package io.starprompt.method.common;

/**
 * The per-epoch cosine of the paper-era prompt codes (ALGORITHM.md §4.7, methods/coda-prompt.md
 * §8), restarted at every task: lr_e = lr·cos(99π·e / (200·(K−1))) for epoch e of K, so the last
 * epoch runs at about 1.6 % of lr.
 */
public final class CosineSchedule {
    private CosineSchedule() {}

    /**
     * The learning rate of epoch e of K; K ≤ 1 gives the constant lr.
     *
     * @param lr the base learning rate
     * @param epoch e
     * @param epochs K
     * @return the learning rate of epoch e
     */
    public static float lr(float lr, int epoch, int epochs) {
        if (epochs <= 1) return lr;
        return (float) (lr * Math.cos(99 * Math.PI * epoch / (200.0 * (epochs - 1))));
    }
}
