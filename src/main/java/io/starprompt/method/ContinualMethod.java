package io.starprompt.method;

import io.starprompt.cl.TaskData;

/**
 * A class-incremental learning method as a runner drives it: tasks in order, each as
 * {@link #beginTask}, {@link #epochs} calls of {@link #trainEpoch}, {@link #endTask}; then
 * {@link #evaluate} on the test set of every task seen so far. The runner knows methods through
 * this interface alone.
 *
 * <pre>{@code
 * method.setListener(progress);                        // phases, steps, epochs, samples/s
 * for (int t = method.tasksLearned(); t < data.tasks(); t++) {
 *     method.beginTask(t, data);
 *     for (int e = 0; e < method.epochs(t); e++) method.trainEpoch(t, e);
 *     method.endTask(t);
 *     for (int j = 0; j <= t; j++) row[j] = method.evaluate(data, j);   // class-IL and task-IL
 * }
 * }</pre>
 *
 * <p>A method borrows its backbones and the data; it owns its trainable state and frees it in
 * {@link #close}. Not thread-safe.
 */
public interface ContinualMethod extends AutoCloseable {
    /**
     * A short, stable name such as {@code "star-prompt"}.
     *
     * @return the method's name
     */
    String name();

    /**
     * The model the method's state belongs to, for refusing state from another model: backbone
     * sizes and the shapes of the trainable parameters, in words.
     *
     * @return a description of the model
     */
    String modelIdentity();

    /**
     * Progress events go to this listener from now on (null: none).
     *
     * @param listener the listener, or null
     */
    void setListener(TrainingListener listener);

    /**
     * How many {@link #trainEpoch} calls task t takes (may be 0).
     *
     * @param task the task index
     * @return its number of epochs
     */
    int epochs(int task);

    /**
     * Starts task t of data. Tasks come in order: t is {@link #tasksLearned()}.
     *
     * @param task the task index
     * @param data the benchmark
     * @throws IllegalStateException if another task is in progress or t is out of order
     */
    void beginTask(int task, TaskData data);

    /**
     * Trains epoch e (0 ≤ e &lt; {@link #epochs}(t), in order) of the task in progress and
     * returns its summary (also reported to the listener).
     *
     * @param task the task in progress
     * @param epoch the epoch index
     * @return the epoch's summary
     */
    TrainingListener.Epoch trainEpoch(int task, int epoch);

    /**
     * Finishes the task in progress after its last epoch (statistics, replay, alignment …).
     *
     * @param task the task in progress
     */
    void endTask(int task);

    /**
     * Number of tasks finished so far.
     *
     * @return the number of finished tasks
     */
    int tasksLearned();

    /**
     * Accuracy on the test set of task {@code testTask} (&lt; {@link #tasksLearned()}) with what
     * has been learned so far: class-IL over every class the method has seen, task-IL over the
     * tested task's classes.
     *
     * @param data the benchmark
     * @param testTask the task whose test set is evaluated
     * @return the class-IL and task-IL counts
     */
    TaskAccuracy evaluate(TaskData data, int testTask);

    /**
     * Everything needed to continue after the last finished task: trained parameters, class
     * statistics, the number of finished tasks, and what the state must match (the method's
     * configuration and seed). Every random choice of a method derives from its seed and the
     * task, so no random generator state needs saving.
     *
     * @return the state
     * @throws IllegalStateException while a task is in progress
     */
    MethodState saveState();

    /**
     * Restores {@link #saveState()}'s state into this fresh instance, built with the same
     * backbones, configuration and seed; the run then continues with task
     * {@link #tasksLearned()}.
     *
     * @param state a state from {@link #saveState()}
     * @throws CheckpointException naming what does not fit (a parameter of another shape,
     *     another configuration or seed)
     * @throws IllegalStateException if this instance has already learned or begun a task
     */
    void restoreState(MethodState state);

    /** Frees the method's own state (not the borrowed backbones). */
    @Override
    void close();
}
