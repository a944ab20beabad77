package io.starprompt.method.common;

import io.starprompt.method.TaskAccuracy;

/**
 * Counts class-IL and task-IL hits on one task's test set from per-image class scores over the
 * seen classes [0, seen): the class-IL prediction is the best of all seen classes, the task-IL
 * prediction the best of the task's classes [taskFrom, taskTo). Ties go to the lowest class.
 */
public final class AccuracyCounter {
    private final int task;
    private final int taskFrom;
    private final int taskTo;
    private long samples;
    private long classIl;
    private long taskIl;

    /**
     * A counter for test task {@code task} holding the classes [taskFrom, taskTo).
     *
     * @param task the tested task
     * @param taskFrom its first class
     * @param taskTo the end of its classes
     */
    public AccuracyCounter(int task, int taskFrom, int taskTo) {
        if (taskFrom < 0 || taskTo <= taskFrom) {
            throw new IllegalArgumentException("accuracy: task " + task + " classes [" + taskFrom + ", " + taskTo + ")");
        }
        this.task = task;
        this.taskFrom = taskFrom;
        this.taskTo = taskTo;
    }

    /**
     * Adds one batch: scores row-major [labels.length, seen], the class-IL prediction over all seen columns.
     *
     * @param scores the batch's scores
     * @param seen the columns per row
     * @param labels the batch's labels
     */
    public void add(float[] scores, int seen, int[] labels) {
        requireShape(scores.length, seen, labels.length);
        for (int i = 0; i < labels.length; i++) {
            count(labels[i], argmax(scores, i * seen, 0, seen), argmax(scores, i * seen, taskFrom, taskTo));
        }
    }

    /**
     * As {@link #add(float[], int, int[])} for float64 scores.
     *
     * @param scores the batch's scores
     * @param seen the columns per row
     * @param labels the batch's labels
     */
    public void add(double[] scores, int seen, int[] labels) {
        requireShape(scores.length, seen, labels.length);
        for (int i = 0; i < labels.length; i++) {
            count(labels[i], argmax(scores, i * seen, 0, seen), argmax(scores, i * seen, taskFrom, taskTo));
        }
    }

    /**
     * The counts so far.
     *
     * @return the counts
     */
    public TaskAccuracy result() {
        return new TaskAccuracy(task, samples, classIl, taskIl);
    }

    private void count(int label, int classIlPrediction, int taskIlPrediction) {
        samples++;
        if (classIlPrediction == label) classIl++;
        if (taskIlPrediction == label) taskIl++;
    }

    private void requireShape(int values, int seen, int rows) {
        if (seen < taskTo || values != (long) rows * seen) {
            throw new IllegalArgumentException("accuracy: " + values + " scores for " + rows + " images × " + seen
                    + " seen classes (task classes [" + taskFrom + ", " + taskTo + "))");
        }
    }

    /**
     * The first column of [from, to) holding the largest value of row v[off …].
     *
     * @param v the values
     * @param off where the row starts
     * @param from the first column taking part
     * @param to the end of the columns taking part
     * @return the column, counted from the row's start
     */
    public static int argmax(float[] v, int off, int from, int to) {
        int best = from;
        for (int c = from + 1; c < to; c++) {
            if (v[off + c] > v[off + best]) best = c;
        }
        return best;
    }

    /**
     * As {@link #argmax(float[], int, int, int)} for float64 values.
     *
     * @param v the values
     * @param off where the row starts
     * @param from the first column taking part
     * @param to the end of the columns taking part
     * @return the column, counted from the row's start
     */
    public static int argmax(double[] v, int off, int from, int to) {
        int best = from;
        for (int c = from + 1; c < to; c++) {
            if (v[off + c] > v[off + best]) best = c;
        }
        return best;
    }
}
