package io.starprompt.cl;

import java.util.Arrays;

/**
 * How the C classes of a class-incremental benchmark are cut into T tasks (ALGORITHM.md §7.1, §7.2): task
 * t holds the contiguous (already permuted) labels [past(t), seen(t)) with past(t) = Σ_{u&lt;t} cpt_u
 * and seen(t) = past(t) + cpt_t. Immutable.
 */
public final class TaskSplit {
    private final int[] classesPerTask;
    private final int[] offsets;

    private TaskSplit(int[] classesPerTask) {
        if (classesPerTask == null || classesPerTask.length == 0) {
            throw new IllegalArgumentException("task split: need at least one task");
        }
        this.classesPerTask = classesPerTask.clone();
        this.offsets = new int[classesPerTask.length + 1];
        for (int t = 0; t < classesPerTask.length; t++) {
            if (classesPerTask[t] < 1) {
                throw new IllegalArgumentException("task split: task " + t + " has " + classesPerTask[t] + " classes");
            }
            offsets[t + 1] = Math.addExact(offsets[t], classesPerTask[t]);
        }
    }

    /**
     * Tasks with the given class counts (uneven splits such as Cars-196's 20×9 + 16 allowed).
     *
     * @param classesPerTask how many classes each task has, in task order
     * @return the split
     */
    public static TaskSplit of(int... classesPerTask) {
        return new TaskSplit(classesPerTask);
    }

    /**
     * C classes in T equal tasks; C must be a multiple of T.
     *
     * @param classes C, all classes
     * @param tasks T, the number of tasks
     * @return the split
     */
    public static TaskSplit equal(int classes, int tasks) {
        if (tasks < 1 || classes < tasks || classes % tasks != 0) {
            throw new IllegalArgumentException("task split: " + classes + " classes cannot be cut into " + tasks
                    + " equal tasks");
        }
        int[] cpt = new int[tasks];
        Arrays.fill(cpt, classes / tasks);
        return new TaskSplit(cpt);
    }

    /**
     * The number of tasks T.
     *
     * @return T
     */
    public int tasks() {
        return classesPerTask.length;
    }

    /**
     * The number of classes C over all tasks.
     *
     * @return C
     */
    public int classes() {
        return offsets[classesPerTask.length];
    }

    /**
     * Classes of task t.
     *
     * @param t a task index
     * @return how many classes task t has
     */
    public int classesInTask(int t) {
        check(t);
        return classesPerTask[t];
    }

    /**
     * C_p(t): classes of tasks &lt; t.
     *
     * @param t a task index
     * @return the number of classes of the tasks before t
     */
    public int past(int t) {
        check(t);
        return offsets[t];
    }

    /**
     * C_s(t): classes of tasks ≤ t.
     *
     * @param t a task index
     * @return the number of classes of tasks 0…t
     */
    public int seen(int t) {
        check(t);
        return offsets[t + 1];
    }

    /**
     * The labels of task t, ascending.
     *
     * @param t a task index
     * @return its labels
     */
    public int[] classesOfTask(int t) {
        check(t);
        int[] out = new int[classesPerTask[t]];
        for (int i = 0; i < out.length; i++) out[i] = offsets[t] + i;
        return out;
    }

    /**
     * The task holding label c.
     *
     * @param c a label
     * @return the index of its task
     */
    public int taskOf(int c) {
        if (c < 0 || c >= classes()) throw new IllegalArgumentException("task split: class " + c + " outside [0, " + classes() + ")");
        for (int t = 0; t < classesPerTask.length; t++) {
            if (c < offsets[t + 1]) return t;
        }
        throw new AssertionError();
    }

    /**
     * The number of classes of each task, in task order.
     *
     * @return a copy of the counts
     */
    public int[] classesPerTask() {
        return classesPerTask.clone();
    }

    private void check(int t) {
        if (t < 0 || t >= classesPerTask.length) {
            throw new IllegalArgumentException("task split: task " + t + " outside [0, " + classesPerTask.length + ")");
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TaskSplit s && Arrays.equals(classesPerTask, s.classesPerTask);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(classesPerTask);
    }

    @Override
    public String toString() {
        return "TaskSplit" + Arrays.toString(classesPerTask);
    }
}
