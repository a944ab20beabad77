package io.starprompt.method.baselines;

import io.starprompt.method.ContinualMethod;
import io.starprompt.method.common.TaskProgress;

/** What every baseline has: its name and the task bookkeeping that messages name it in. */
abstract class Baseline implements ContinualMethod {
    private final String name;
    /** Which tasks have been learned and which one is in progress. */
    final TaskProgress progress;

    Baseline(String name) {
        this.name = name;
        this.progress = new TaskProgress(name);
    }

    /** The name it was made with, as in messages and reports. */
    @Override
    public String name() {
        return name;
    }

    /** Tasks finished so far (restored ones included). */
    @Override
    public int tasksLearned() {
        return progress.learned();
    }
}
