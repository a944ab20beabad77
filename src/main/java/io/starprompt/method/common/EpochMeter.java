package io.starprompt.method.common;

import io.starprompt.method.TrainingListener.Phase;
import io.starprompt.method.TrainingDivergedException;
import io.starprompt.method.TrainingListener;
import java.util.Locale;

/**
 * Accumulates one epoch of a training loop (mean batch loss, steps, samples, time) and reports
 * every step and the end of the epoch to a listener.
 */
public final class EpochMeter {
    private final TrainingListener listener;
    private final Phase phase;
    private final int task;
    private final int epoch;
    private final long start = System.nanoTime();
    private long last = start;
    private double lossSum;
    private int steps;
    private long samples;

    /**
     * Starts measuring epoch {@code epoch} of task {@code task} in a phase.
     *
     * @param listener where the step and epoch events go
     * @param phase the phase
     * @param task the task
     * @param epoch the epoch index
     */
    public EpochMeter(TrainingListener listener, Phase phase, int task, int epoch) {
        this.listener = listener == null ? TrainingListener.NONE : listener;
        this.phase = phase;
        this.task = task;
        this.epoch = epoch;
    }

    /** One training step: computes the batch loss, checking it and its gradients before updating. */
    @FunctionalInterface
    public interface StepBody {
        /**
         * Runs the step.
         *
         * @return the batch loss
         * @throws TrainingDivergedException from {@link FiniteCheck}, before the update
         */
        float run();
    }

    /**
     * Runs one step and records it: a {@link TrainingDivergedException} from the body gets this
     * epoch's phase, task, epoch and step number.
     *
     * @param batchSamples the batch size
     * @param body         the step
     * @return the batch loss
     */
    public float step(int batchSamples, StepBody body) {
        float loss;
        try {
            loss = body.run();
        } catch (TrainingDivergedException e) {
            throw e.at(phaseWords(), task, epoch, steps);
        }
        step(loss, batchSamples);
        return loss;
    }

    /**
     * Records one optimiser step with its batch loss and batch size.
     *
     * @param loss the step's loss
     * @param batchSamples the images in its batch
     * @throws TrainingDivergedException if the loss is NaN or infinite (a loop that updates before
     *     calling this should check the loss itself first, with {@link FiniteCheck#loss})
     */
    public void step(float loss, int batchSamples) {
        try {
            FiniteCheck.loss(loss);
        } catch (TrainingDivergedException e) {
            throw e.at(phaseWords(), task, epoch, steps);
        }
        long now = System.nanoTime();
        listener.step(new TrainingListener.Step(phase, task, epoch, steps, loss, batchSamples, now - last));
        last = now;
        lossSum += loss;
        steps++;
        samples += batchSamples;
    }

    private String phaseWords() {
        return phase.name().toLowerCase(Locale.ROOT).replace('_', ' ');
    }

    /**
     * Steps recorded so far.
     *
     * @return the number of steps
     */
    public int steps() {
        return steps;
    }

    /**
     * Ends the epoch that used learning rate lr: reports and returns its summary.
     *
     * @param lr the epoch's learning rate
     * @return the summary
     */
    public TrainingListener.Epoch end(float lr) {
        double mean = steps == 0 ? Double.NaN : lossSum / steps;
        TrainingListener.Epoch e = new TrainingListener.Epoch(phase, task, epoch, mean, lr, steps, samples,
                System.nanoTime() - start);
        listener.epochEnded(e);
        return e;
    }
}
