package io.starprompt.method;

/**
 * Progress callbacks of a STAR-Prompt run (all optional). Called on the training thread; keep
 * them cheap. Losses are the batch losses as optimised (stage 2: CE + λ2·L_o2).
 */
public interface TrainingListener {
    /** Which loop reports. */
    enum Phase { FIRST_STAGE, SECOND_STAGE, HEAD_ALIGNMENT }

    /** A listener that ignores everything. */
    TrainingListener NONE = new TrainingListener() {};

    /**
     * A phase of task t starts; for {@link Phase#SECOND_STAGE} this is after the head recall
     * (spec §4.8 step 5) and before the first optimiser step.
     */
    default void phaseStarted(Phase phase, int task) {}

    /** One optimiser step (0-based within the epoch) with its batch loss. */
    default void step(Phase phase, int task, int epoch, int step, float loss) {}

    /** An epoch ended with the mean batch loss and the learning rate it used. */
    default void epochEnded(Phase phase, int task, int epoch, double meanLoss, float lr) {}
}
