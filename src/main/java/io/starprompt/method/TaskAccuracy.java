package io.starprompt.method;

/**
 * Accuracy on the test set of one task (ALGORITHM.md §6, §7.3): class-incremental (the prediction is
 * the best of all classes seen so far) and task-incremental (the prediction is restricted to the
 * classes of the tested task, as if the task id were given).
 *
 * @param task            the tested task
 * @param samples         test images counted
 * @param classIlCorrect  images whose class-IL prediction is right
 * @param taskIlCorrect   images whose task-IL prediction is right
 */
public record TaskAccuracy(int task, long samples, long classIlCorrect, long taskIlCorrect) {
    /**
     * Validates the counts.
     *
     * @param task the tested task
     * @param samples its test images
     * @param classIlCorrect how many were right among all seen classes
     * @param taskIlCorrect how many were right among the task's own classes
     */
    public TaskAccuracy {
        if (samples < 0 || classIlCorrect < 0 || taskIlCorrect < 0 || classIlCorrect > samples
                || taskIlCorrect > samples) {
            throw new IllegalArgumentException("task accuracy: " + classIlCorrect + " and " + taskIlCorrect
                    + " correct of " + samples);
        }
    }

    /**
     * Class-IL accuracy in percent (NaN for an empty test set).
     *
     * @return the class-IL accuracy in %
     */
    public double classIl() {
        return percent(classIlCorrect);
    }

    /**
     * Task-IL accuracy in percent (NaN for an empty test set); never below {@link #classIl()}.
     *
     * @return the task-IL accuracy in %
     */
    public double taskIl() {
        return percent(taskIlCorrect);
    }

    private double percent(long correct) {
        return samples == 0 ? Double.NaN : 100.0 * correct / samples;
    }
}
