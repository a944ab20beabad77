package io.starprompt.method;

import io.starprompt.cl.AccuracyMatrix;
import io.starprompt.cl.TaskData;

/**
 * The plain driver of a {@link ContinualMethod} over a benchmark: every task in order (begin,
 * epochs, end), then the class-IL and task-IL accuracy on the test sets of the tasks seen so
 * far. A runner with progress bars, reports or checkpoints does the same steps.
 */
public final class ContinualRun {
    /** The accuracy matrices of a run (rows: after task i; columns: tested task j ≤ i). */
    public record Result(String method, AccuracyMatrix classIl, AccuracyMatrix taskIl) {}

    private ContinualRun() {}

    /** Runs the remaining tasks of data (from {@link ContinualMethod#tasksLearned()}) and evaluates after each. */
    public static Result run(ContinualMethod method, TaskData data) {
        Result r = new Result(method.name(), new AccuracyMatrix(data.tasks()), new AccuracyMatrix(data.tasks()));
        for (int t = method.tasksLearned(); t < data.tasks(); t++) {
            learnTask(method, data, t);
            evaluateInto(method, data, t, r);
        }
        return r;
    }

    /** Task t from begin to end. */
    public static void learnTask(ContinualMethod method, TaskData data, int t) {
        method.beginTask(t, data);
        for (int e = 0; e < method.epochs(t); e++) method.trainEpoch(t, e);
        method.endTask(t);
    }

    /** Row t of both matrices: the accuracy on the test sets of tasks 0…t. */
    public static void evaluateInto(ContinualMethod method, TaskData data, int t, Result r) {
        double[] classIl = new double[t + 1], taskIl = new double[t + 1];
        for (int j = 0; j <= t; j++) {
            TaskAccuracy a = method.evaluate(data, j);
            classIl[j] = a.classIl();
            taskIl[j] = a.taskIl();
        }
        r.classIl().setRow(t, classIl);
        r.taskIl().setRow(t, taskIl);
    }
}
