package io.starprompt.cli.report;

import io.starprompt.cl.AccuracyMatrix;
import io.starprompt.method.starprompt.StarPrompt;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The results of one method in a run.
 *
 * @param name display name, also the key in results.json and the legend entry of the plots
 * @param classIl class-incremental accuracy matrix (the headline protocol, ALGORITHM.md §7.3); at least
 *     one row recorded
 * @param taskIl task-incremental accuracy matrix (logits outside the true task masked), or null
 *     when not measured; same number of tasks as classIl
 * @param losses phase name → one array per task of that phase's losses (per epoch, unless the
 *     phase documents otherwise), in display order
 * @param imagesPerSecond training throughput of the whole run, NaN when not measured
 * @param taskSeconds wall time of each learned task in seconds (may be empty)
 */
public record MethodResult(String name, AccuracyMatrix classIl, AccuracyMatrix taskIl,
        Map<String, List<double[]>> losses, double imagesPerSecond, double[] taskSeconds) {

    /** Phase names used by {@link #of(String, StarPrompt.RunResult, double)}. */
    public static final String FIRST_STAGE = "first_stage", FIRST_STAGE_ALIGNMENT = "first_stage_alignment",
            SECOND_STAGE = "second_stage", HEAD_ALIGNMENT = "head_alignment";

    /**
     * Checks the parts and copies the loss table and the task times (order kept, unmodifiable).
     *
     * @param name the method's name
     * @param classIl its class-IL accuracy matrix
     * @param taskIl its task-IL accuracy matrix, or null
     * @param losses mean losses per phase, per task and epoch
     * @param imagesPerSecond measured throughput, NaN if unknown
     * @param taskSeconds the wall time of each learned task
     */
    public MethodResult {
        Objects.requireNonNull(name, "name");
        if (name.isBlank()) throw new IllegalArgumentException("method result: blank name");
        Objects.requireNonNull(classIl, name + ": class-IL accuracy");
        if (classIl.rows() == 0) throw new IllegalArgumentException(name + ": the class-IL matrix has no row");
        if (taskIl != null && taskIl.tasks() != classIl.tasks()) {
            throw new IllegalArgumentException(name + ": task-IL matrix has " + taskIl.tasks() + " tasks, class-IL "
                    + classIl.tasks());
        }
        losses = copyLosses(name, Objects.requireNonNull(losses, name + ": losses"));
        taskSeconds = Objects.requireNonNull(taskSeconds, name + ": task seconds").clone();
        if (taskSeconds.length > classIl.tasks()) {
            throw new IllegalArgumentException(name + ": " + taskSeconds.length + " task times for " + classIl.tasks()
                    + " tasks");
        }
    }

    /**
     * The wall time of each learned task in seconds (a copy).
     *
     * @return the times
     */
    @Override
    public double[] taskSeconds() {
        return taskSeconds.clone();
    }

    /**
     * A result with only the class-IL accuracies (no Task-IL, losses, throughput or timings).
     *
     * @param name the method's name
     * @param classIl its class-IL accuracy matrix
     * @return the result
     */
    public static MethodResult accuracyOnly(String name, AccuracyMatrix classIl) {
        return new MethodResult(name, classIl, null, Map.of(), Double.NaN, new double[0]);
    }

    /**
     * The result of a STAR-Prompt run: its class-IL matrix, the losses of its four phases (the
     * stage-1 alignment entry holds the alignment's batch losses, as the run records them) and
     * the wall time of each task.
     *
     * @param name the method's name
     * @param run the run's result
     * @param imagesPerSecond measured throughput, NaN if unknown
     * @return the result
     */
    public static MethodResult of(String name, StarPrompt.RunResult run, double imagesPerSecond) {
        Map<String, List<double[]>> losses = new LinkedHashMap<>();
        List<double[]> first = new ArrayList<>(), align = new ArrayList<>(), second = new ArrayList<>(),
                head = new ArrayList<>();
        double[] seconds = new double[run.tasks().size()];
        int k = 0;
        for (StarPrompt.TaskResult t : run.tasks()) {
            first.add(t.firstStageLosses());
            align.add(t.firstStageAlignmentLosses());
            second.add(t.secondStageLosses());
            head.add(t.headAlignmentLosses());
            seconds[k++] = t.millis() / 1000.0;
        }
        losses.put(FIRST_STAGE, first);
        losses.put(FIRST_STAGE_ALIGNMENT, align);
        losses.put(SECOND_STAGE, second);
        losses.put(HEAD_ALIGNMENT, head);
        return new MethodResult(name, run.accuracy(), null, losses, imagesPerSecond, seconds);
    }

    /** Unmodifiable copies down to the arrays, so that a later change by the caller cannot alter the report. */
    private static Map<String, List<double[]>> copyLosses(String name, Map<String, List<double[]>> losses) {
        Map<String, List<double[]>> copy = new LinkedHashMap<>();
        losses.forEach((phase, perTask) -> {
            Objects.requireNonNull(phase, name + ": null loss phase name");
            List<double[]> tasks = new ArrayList<>();
            for (double[] l : Objects.requireNonNull(perTask, name + ": losses of " + phase)) {
                tasks.add(Objects.requireNonNull(l, name + ": losses of a task in " + phase).clone());
            }
            copy.put(phase, Collections.unmodifiableList(tasks));
        });
        return Collections.unmodifiableMap(copy);
    }
}
