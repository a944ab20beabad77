package io.starprompt.method;

/**
 * Progress of a method's training, as a runner observes it (all callbacks optional). Called on
 * the training thread; keep them cheap. Losses are the batch losses as optimised (STAR-Prompt's
 * stage 2: CE + λ2·L_o2). Samples are what one step consumed: images, cached image features
 * (STAR-Prompt's stage 1) or replayed features (head alignment).
 */
public interface TrainingListener {
    /** Which loop reports. */
    enum Phase {
        /** STAR-Prompt stage 1: the CLIP context tokens. */
        FIRST_STAGE,
        /** STAR-Prompt stage 2: prompts and head of the prompted ViT. */
        SECOND_STAGE,
        /** STAR-Prompt stage 2's re-alignment of the head on replayed features. */
        HEAD_ALIGNMENT,
        /** The single training loop of a method without stages (the fine-tuning and joint bounds). */
        TRAINING
    }

    /**
     * One optimiser step.
     *
     * @param step    0-based within the epoch
     * @param samples samples in the step's batch
     * @param nanos   wall time of the step (batch preparation included)
     */
    record Step(Phase phase, int task, int epoch, int step, float loss, int samples, long nanos) {
        /**
         * Samples per second of this step.
         *
         * @return samples per second
         */
        public double samplesPerSecond() {
            return rate(samples, nanos);
        }
    }

    /**
     * One finished epoch.
     *
     * @param epoch    0-based within the phase of the task
     * @param meanLoss mean of the epoch's batch losses (NaN without steps)
     * @param lr       the learning rate the epoch used
     * @param steps    optimiser steps
     * @param samples  samples over all steps
     * @param nanos    wall time of the epoch
     */
    record Epoch(Phase phase, int task, int epoch, double meanLoss, float lr, int steps, long samples, long nanos) {
        /**
         * Samples (images, for the image loops) per second over the epoch.
         *
         * @return samples per second
         */
        public double samplesPerSecond() {
            return rate(samples, nanos);
        }
    }

    /** A listener that ignores everything. */
    TrainingListener NONE = new TrainingListener() {};

    /**
     * A phase of task t starts; for {@link Phase#SECOND_STAGE} this is after the head recall
     * (ALGORITHM.md §4.8 step 5) and before the first optimiser step.
     *
     * @param phase the phase
     * @param task the task index
     */
    default void phaseStarted(Phase phase, int task) {}

    /**
     * One optimiser step ended.
     *
     * @param step the step's figures
     */
    default void step(Step step) {}

    /**
     * An epoch ended.
     *
     * @param epoch the epoch's summary
     */
    default void epochEnded(Epoch epoch) {}

    private static double rate(long samples, long nanos) {
        return nanos <= 0 ? Double.NaN : samples * 1e9 / nanos;
    }
}
