package io.starprompt.method.common;

import io.starprompt.method.MethodState;
import java.util.function.Consumer;

/**
 * The task bookkeeping every {@link io.starprompt.method.ContinualMethod} needs: tasks start in
 * order, one at a time, and only learned tasks can be tested. Messages name the method.
 */
public final class TaskProgress {
    private static final String TASKS_LEARNED = "tasks_learned";

    private final String method;
    private int learned;
    private int current = -1;

    /**
     * Bookkeeping for the method named {@code method} (for messages).
     *
     * @param method the method's name
     */
    public TaskProgress(String method) {
        this.method = method;
    }

    /**
     * Starts task t: none may be in progress and t must be the next one.
     *
     * @param t the task
     */
    public void begin(int t) {
        if (current >= 0) throw new IllegalStateException(method + ": task " + current + " is still in progress");
        if (t != learned) throw new IllegalStateException(method + ": task " + t + " out of order, " + learned + " tasks learned");
        current = t;
    }

    /**
     * Checks that task t is the one in progress (op names the call, for the message).
     *
     * @param t the task
     * @param op the call, for the message
     */
    public void require(int t, String op) {
        if (current < 0 || current != t) {
            throw new IllegalStateException(method + ": " + op + " of task " + t + ", but "
                    + (current < 0 ? "no task" : "task " + current) + " is in progress");
        }
    }

    /**
     * Ends task t, which must be in progress.
     *
     * @param t the task
     */
    public void end(int t) {
        require(t, "endTask");
        current = -1;
        learned++;
    }

    /**
     * Tasks finished.
     *
     * @return the number of finished tasks
     */
    public int learned() {
        return learned;
    }

    /**
     * Checks that task t has been learned and may be tested.
     *
     * @param t the task
     * @return the last learned task, whose classes the method has seen when it is tested
     */
    public int requireLearned(int t) {
        if (t < 0 || t >= learned) {
            throw new IllegalArgumentException(method + ": task " + t + " cannot be tested after " + learned
                    + " learned tasks");
        }
        return learned - 1;
    }

    /**
     * A new method state holding the count of finished tasks and the run's identity (the config's
     * text and the seed), for the method to add its own tensors to.
     *
     * @param config the method's configuration
     * @param seed the run's seed
     * @return the state
     */
    public MethodState newState(Object config, long seed) {
        return new MethodState().put(TASKS_LEARNED, learned).put("config", config.toString()).put("seed", seed);
    }

    /**
     * The whole state of a method between tasks: {@link #newState} plus what {@code parts} adds.
     *
     * @param config the method's configuration
     * @param seed the run's seed
     * @param parts adds the method's own tensors to the state
     * @return the state
     * @throws IllegalStateException if a task is in progress
     */
    public MethodState save(Object config, long seed, Consumer<MethodState> parts) {
        if (current >= 0) throw new IllegalStateException(method + ": cannot save while task " + current + " is in progress");
        MethodState s = newState(config, seed);
        parts.accept(s);
        return s;
    }

    /**
     * Restores a state made by {@link #save}: checks it ({@link #checkRestorable}), lets {@code parts}
     * read the method's own tensors, then takes its count of finished tasks.
     *
     * @param s the state to restore
     * @param config the method's configuration
     * @param seed the run's seed
     * @param parts reads the method's own tensors from the state
     * @throws IllegalStateException if tasks were already learned
     * @throws io.starprompt.method.CheckpointException if the config or the seed differs, or a part is
     *     missing or malformed
     */
    public void restore(MethodState s, Object config, long seed, Consumer<MethodState> parts) {
        int tasksLearned = checkRestorable(s, config, seed);
        parts.accept(s);
        restore(tasksLearned);
    }

    /**
     * Checks that nothing was learned yet and that a state made by {@link #newState} belongs to this
     * run (the same config and seed).
     *
     * @param s the state to restore
     * @param config the method's configuration
     * @param seed the run's seed
     * @return the state's count of finished tasks, for {@link #restore} once the method has read
     *     the rest of the state
     * @throws IllegalStateException if tasks were already learned
     * @throws io.starprompt.method.CheckpointException if the config or the seed differs
     */
    public int checkRestorable(MethodState s, Object config, long seed) {
        if (learned != 0) throw new IllegalStateException(method + ": state can only be restored into a fresh instance");
        s.requireProperty("config", config.toString());
        s.requireProperty("seed", Long.toString(seed));
        return s.intProperty(TASKS_LEARNED);
    }

    /**
     * Sets the count of finished tasks of restored state; no task may be in progress.
     *
     * @param tasksLearned the number of finished tasks
     */
    public void restore(int tasksLearned) {
        if (current >= 0) throw new IllegalStateException(method + ": cannot restore while task " + current + " is in progress");
        if (tasksLearned < 0) throw new IllegalArgumentException(method + ": " + tasksLearned + " learned tasks");
        learned = tasksLearned;
    }
}
