package io.starprompt.method;

import io.starprompt.cl.AccuracyMatrix;
import io.starprompt.cl.TaskData;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The plain driver of a {@link ContinualMethod} over a benchmark: every task in order (begin,
 * epochs, end), then the class-IL and task-IL accuracy on the test sets of the tasks seen so
 * far, then (with {@link Checkpointing}) a checkpoint. {@link #resume} continues after the last
 * checkpoint and ends with the same matrices as an uninterrupted run. A runner with progress
 * bars and reports does the same steps.
 */
public final class ContinualRun {
    /** Name of the class-IL matrix in checkpoints. */
    public static final String CLASS_IL = "class_il";
    /** Name of the task-IL matrix in checkpoints. */
    public static final String TASK_IL = "task_il";

    /** The accuracy matrices of a run (rows: after task i; columns: tested task j ≤ i). */
    public record Result(String method, AccuracyMatrix classIl, AccuracyMatrix taskIl) {}

    /**
     * Where and as what a run writes its checkpoints.
     *
     * @param dir      the folder of the {@code task-NNN.ckpt} files
     * @param identity what a checkpoint must match to be resumed
     * @param config   the runner's resolved configuration, stored as given
     */
    public record Checkpointing(Path dir, RunIdentity identity, Map<String, String> config) {
        /**
         * Validates and copies the configuration.
         *
         * @param dir the folder of the checkpoints
         * @param identity what a checkpoint must match to be resumed
         * @param config the runner's resolved configuration
         */
        public Checkpointing {
            Objects.requireNonNull(dir, "dir");
            Objects.requireNonNull(identity, "identity");
            config = Map.copyOf(config);
        }
    }

    private ContinualRun() {}

    /**
     * Runs every task of data on a fresh method and evaluates after each.
     *
     * @param method a method that has learned nothing yet
     * @param data the benchmark
     * @return the accuracy matrices
     */
    public static Result run(ContinualMethod method, TaskData data) {
        try {
            return proceed(method, data, fresh(method, data), null, data.tasks());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * As {@link #run(ContinualMethod, TaskData)}, writing a checkpoint after every task.
     *
     * @param method a method that has learned nothing yet
     * @param data the benchmark
     * @param ckpt where and as what to write the checkpoints
     * @return the accuracy matrices
     * @throws IOException if a checkpoint cannot be written
     */
    public static Result run(ContinualMethod method, TaskData data, Checkpointing ckpt) throws IOException {
        return run(method, data, ckpt, data.tasks());
    }

    /**
     * As {@link #run(ContinualMethod, TaskData, Checkpointing)}, stopping once {@code tasks}
     * tasks are learned (a job with a time budget, say); {@link #resume} continues later.
     *
     * @param method a method that has learned nothing yet
     * @param data the benchmark
     * @param ckpt where and as what to write the checkpoints
     * @param tasks how many tasks to learn in this call
     * @return the accuracy matrices, rows 0…tasks − 1 filled
     * @throws IOException if a checkpoint cannot be written
     */
    public static Result run(ContinualMethod method, TaskData data, Checkpointing ckpt, int tasks) throws IOException {
        return proceed(method, data, fresh(method, data), Objects.requireNonNull(ckpt, "ckpt"), tasks);
    }

    /**
     * Continues the run whose checkpoints are in {@code ckpt.dir()}: restores the latest one into
     * this fresh method and runs the remaining tasks; starts from task 0 when there is none.
     *
     * @param method a fresh method, built as the checkpointed one was
     * @param data the benchmark
     * @param ckpt the run's checkpoints
     * @return the accuracy matrices of the whole run
     * @throws CheckpointException if the latest checkpoint is corrupt, truncated or written for
     *     another run (older checkpoints are left alone and can be given to
     *     {@link #resume(ContinualMethod, TaskData, Checkpointing, Checkpoints.Checkpoint)})
     * @throws IOException if a checkpoint cannot be read or written
     */
    public static Result resume(ContinualMethod method, TaskData data, Checkpointing ckpt) throws IOException {
        Optional<Path> latest = Checkpoints.latest(ckpt.dir());
        if (latest.isEmpty()) return run(method, data, ckpt);
        return resume(method, data, ckpt, Checkpoints.read(latest.get(), ckpt.identity()));
    }

    /**
     * Continues from a checkpoint already read (and checked against the run's identity).
     *
     * @param method a fresh method, built as the checkpointed one was
     * @param data the benchmark
     * @param ckpt the run's checkpoints
     * @param from the checkpoint to continue from
     * @return the accuracy matrices of the whole run
     * @throws IOException if a checkpoint cannot be written
     */
    public static Result resume(ContinualMethod method, TaskData data, Checkpointing ckpt, Checkpoints.Checkpoint from)
            throws IOException {
        method.restoreState(from.state());
        if (method.tasksLearned() != from.task() + 1) {
            throw new CheckpointException("checkpoint " + from.file() + " is of task " + from.task() + " but its state has "
                    + method.tasksLearned() + " learned tasks");
        }
        Result r = new Result(method.name(), metric(from, CLASS_IL, data), metric(from, TASK_IL, data));
        return proceed(method, data, r, ckpt, data.tasks());
    }

    /**
     * Task t from begin to end.
     *
     * @param method the method
     * @param data the benchmark
     * @param t the task, which must be the next one
     * @throws TrainingDivergedException naming the method, task, epoch, step and tensor if a loss
     *     or gradient holds NaN or infinity; the method made no update with it and nothing of the
     *     task is saved, so the checkpoint of the task before stays the latest
     */
    public static void learnTask(ContinualMethod method, TaskData data, int t) {
        try {
            method.beginTask(t, data);
            for (int e = 0; e < method.epochs(t); e++) method.trainEpoch(t, e);
            method.endTask(t);
        } catch (TrainingDivergedException e) {
            throw e.inMethod(method.name()).at(null, t, -1, -1);
        }
    }

    /**
     * Row t of both matrices: the accuracy on the test sets of tasks 0…t.
     *
     * @param method the method
     * @param data the benchmark
     * @param t the last learned task
     * @param r the matrices to fill
     */
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

    private static Result fresh(ContinualMethod method, TaskData data) {
        if (method.tasksLearned() != 0) {
            throw new IllegalStateException(method.name() + " has learned " + method.tasksLearned()
                    + " tasks already: continue it with resume");
        }
        return new Result(method.name(), new AccuracyMatrix(data.tasks()), new AccuracyMatrix(data.tasks()));
    }

    private static Result proceed(ContinualMethod method, TaskData data, Result r, Checkpointing ckpt, int untilTasks)
            throws IOException {
        for (int t = method.tasksLearned(); t < Math.min(untilTasks, data.tasks()); t++) {
            learnTask(method, data, t);
            evaluateInto(method, data, t, r);
            if (ckpt != null) Checkpoints.write(ckpt.dir(), method, ckpt.identity(), metrics(r), ckpt.config());
        }
        return r;
    }

    private static Map<String, AccuracyMatrix> metrics(Result r) {
        Map<String, AccuracyMatrix> m = new LinkedHashMap<>();
        m.put(CLASS_IL, r.classIl());
        m.put(TASK_IL, r.taskIl());
        return m;
    }

    private static AccuracyMatrix metric(Checkpoints.Checkpoint cp, String name, TaskData data) {
        AccuracyMatrix m = cp.metrics().get(name);
        if (m == null || m.tasks() != data.tasks() || m.rows() != cp.task() + 1) {
            throw new CheckpointException("checkpoint " + cp.file() + " has no " + name + " matrix of " + (cp.task() + 1)
                    + " rows for " + data.tasks() + " tasks");
        }
        return m;
    }
}
