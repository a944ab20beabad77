package io.starprompt.cli;

import io.starprompt.cl.AccuracyMatrix;
import io.starprompt.cl.TaskData;
import io.starprompt.cli.report.MethodResult;
import io.starprompt.method.CheckpointException;
import io.starprompt.method.Checkpoints;
import io.starprompt.method.ContinualMethod;
import io.starprompt.method.RunIdentity;
import io.starprompt.method.ContinualRun;
import io.starprompt.method.TrainingDivergedException;
import io.starprompt.method.TrainingListener;
import io.starprompt.method.starprompt.StarPrompt;
import io.starprompt.backend.Backend;
import io.starprompt.cli.report.ReportWriter;
import io.starprompt.cli.report.RunReport;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Drives one {@link ContinualMethod} through every task of a benchmark for the command line:
 * progress to the {@link Console}, per-epoch losses and throughput recorded, the accuracy rows
 * (class-IL and task-IL) printed after each task. STAR-Prompt's run also yields the
 * "first stage only" baseline: its keys, evaluated after each task, at no training cost.
 */
final class Runner {
    private final Console console;

    Runner(Console console) {
        this.console = console;
    }

    /** What one method's run produced: its report entry, and STAR-Prompt's first-stage rows when asked for. */
    record Outcome(MethodResult result, MethodResult firstStage) {}

    /**
     * Where a method's checkpoints go, and what they must match to be resumed.
     *
     * @param dir    the method's checkpoint folder
     * @param seed   the run seed
     * @param config the resolved settings, stored in every checkpoint
     */
    record Saving(Path dir, long seed, Map<String, String> config) {}

    private static final String FIRST_STAGE = "first_stage";

    /**
     * Runs the method over every task, continuing after the latest checkpoint in
     * {@code saving.dir()} when there is one and writing one after every task (saving may be
     * null: no checkpoints); {@code firstStageBaseline} records STAR-Prompt's first-stage
     * accuracy too.
     */
    Outcome run(ContinualMethod method, String displayName, TaskData data, boolean firstStageBaseline, Saving saving)
            throws IOException {
        Recorder rec = new Recorder(data.tasks());
        console.setTasks(data.tasks());
        ContinualRun.Result matrices = new ContinualRun.Result(method.name(), new AccuracyMatrix(data.tasks()),
                new AccuracyMatrix(data.tasks()));
        StarPrompt sp = firstStageBaseline && method instanceof StarPrompt s ? s : null;
        AccuracyMatrix firstStage = new AccuracyMatrix(data.tasks());
        double[] taskSeconds = new double[data.tasks()];
        console.info("== " + displayName);
        RunIdentity identity = saving == null ? null : RunIdentity.of(method, data, saving.seed());
        if (saving != null) resume(method, saving, identity, matrices, firstStage);
        method.setListener(new Tee(console, rec));
        for (int t = method.tasksLearned(); t < data.tasks(); t++) {
            long start = System.nanoTime();
            try {
                ContinualRun.learnTask(method, data, t);
            } catch (TrainingDivergedException e) {
                throw e.withNote(saving == null ? "nothing was saved"
                        : t == 0 ? "no task had finished, so no checkpoint was written"
                        : "the checkpoint after task " + t + " is intact (" + saving.dir().resolve(Checkpoints.fileName(t - 1))
                                + "); a smaller learning rate may avoid this");
            }
            taskSeconds[t] = (System.nanoTime() - start) / 1e9;
            ContinualRun.evaluateInto(method, data, t, matrices);
            if (sp != null) firstStage.setRow(t, sp.evaluateFirstStage(data, t));
            reportTask(displayName, t, data.tasks(), matrices.classIl().row(t), matrices.taskIl().row(t), taskSeconds[t]);
            if (saving != null) {
                Map<String, AccuracyMatrix> metrics = new LinkedHashMap<>();
                metrics.put(ContinualRun.CLASS_IL, matrices.classIl());
                metrics.put(ContinualRun.TASK_IL, matrices.taskIl());
                if (sp != null) metrics.put(FIRST_STAGE, firstStage);
                Checkpoints.write(saving.dir(), method, identity, metrics, saving.config());
            }
        }
        method.setListener(null);
        MethodResult result = new MethodResult(displayName, matrices.classIl(), matrices.taskIl(), rec.losses(),
                rec.imagesPerSecond(), taskSeconds);
        MethodResult fs = sp == null ? null : MethodResult.accuracyOnly("first stage only", firstStage);
        return new Outcome(result, fs);
    }

    /**
     * Prints each method's accuracy matrix and a one-line-per-method summary (FAA, AIA,
     * forgetting, BWT, Task-IL FAA, throughput), then writes results.json, metrics.csv and the
     * plots to {@code outDir}.
     */
    void finish(List<MethodResult> results, Map<String, Object> settings, Backend be, Path outDir) throws IOException {
        for (MethodResult r : results) console.result(r.name() + " (rows: after task i; columns: accuracy on task j, %)\n" + r.classIl());
        console.result(summary(results));
        for (MethodResult r : results) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("method", r.name());
            m.put("faa", r.classIl().finalAverageAccuracy());
            m.put("aia", r.classIl().averageIncrementalAccuracy());
            m.put("forgetting", r.classIl().forgetting());
            m.put("bwt", r.classIl().backwardTransfer());
            m.put("task_il_faa", r.taskIl() == null ? null : r.taskIl().finalAverageAccuracy());
            m.put("images_per_s", r.imagesPerSecond());
            console.event("summary", m);
        }
        RunReport report = new RunReport(settings, RunReport.Versions.current(), RunReport.BackendInfo.of(be), results);
        ReportWriter.Written w = ReportWriter.write(report, outDir);
        console.info("reports: " + w.all().stream().map(Path::toString).collect(java.util.stream.Collectors.joining(", ")));
        console.event("reports", Map.of("files", w.all().stream().map(Path::toString).toList()));
    }

    /** The summary table: one line per method. */
    static String summary(List<MethodResult> results) {
        int width = Math.max(12, results.stream().mapToInt(r -> r.name().length()).max().orElse(0));
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%-" + width + "s %8s %8s %11s %8s %12s %10s%n",
                "method", "FAA", "AIA", "forgetting", "BWT", "Task-IL FAA", "images/s"));
        for (MethodResult r : results) {
            AccuracyMatrix a = r.classIl();
            sb.append(String.format(Locale.ROOT, "%-" + width + "s %8.2f %8.2f %11.2f %8.2f %12s %10s%n", r.name(),
                    a.finalAverageAccuracy(), a.averageIncrementalAccuracy(), a.forgetting(), a.backwardTransfer(),
                    r.taskIl() == null ? "-" : String.format(Locale.ROOT, "%.2f", r.taskIl().finalAverageAccuracy()),
                    Double.isFinite(r.imagesPerSecond()) ? String.format(Locale.ROOT, "%.1f", r.imagesPerSecond()) : "-"));
        }
        return sb.append("FAA: final average accuracy over tasks; AIA: mean over tasks of the accuracy on the tasks seen"
                + " so far; forgetting and BWT in percentage points (class-IL)").toString();
    }

    /** Restores the latest checkpoint of the method, if any, with the accuracy rows it recorded. */
    private void resume(ContinualMethod method, Saving saving, RunIdentity identity, ContinualRun.Result matrices,
            AccuracyMatrix firstStage) throws IOException {
        Optional<Path> latest = Checkpoints.latest(saving.dir());
        if (latest.isEmpty()) return;
        Checkpoints.Checkpoint cp;
        try {
            cp = Checkpoints.read(latest.get(), identity);
        } catch (CheckpointException e) {
            throw new CheckpointException(e.getMessage() + " (move it away to resume from the checkpoint before it)", e);
        }
        method.restoreState(cp.state());
        copyRows(cp.metrics().get(ContinualRun.CLASS_IL), matrices.classIl());
        copyRows(cp.metrics().get(ContinualRun.TASK_IL), matrices.taskIl());
        copyRows(cp.metrics().get(FIRST_STAGE), firstStage);
        console.info("resumed after task " + (cp.task() + 1) + " from " + cp.file());
    }

    private static void copyRows(AccuracyMatrix from, AccuracyMatrix to) {
        if (from == null) return;
        for (int i = 0; i < from.rows(); i++) to.setRow(i, from.row(i));
    }

    private void reportTask(String method, int t, int tasks, double[] classIl, double[] taskIl, double seconds) {
        double mean = 0;
        for (double a : classIl) mean += a;
        mean /= classIl.length;
        console.info(String.format(Locale.ROOT, "%s after task %d/%d: accuracy on seen tasks %.2f %% (%.1f s)", method,
                t + 1, tasks, mean, seconds));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("method", method);
        m.put("task", t + 1);
        m.put("class_il", classIl);
        m.put("task_il", taskIl);
        m.put("seconds", seconds);
        console.event("task", m);
    }

    /** Per phase, per task, the epoch losses; and the image throughput of the image-training phases. */
    private static final class Recorder implements TrainingListener {
        private final int tasks;
        private final Map<String, List<List<Double>>> losses = new LinkedHashMap<>();
        private long imageSamples, imageNanos;

        Recorder(int tasks) {
            this.tasks = tasks;
        }

        @Override
        public void epochEnded(Epoch e) {
            List<List<Double>> perTask = losses.computeIfAbsent(e.phase().name().toLowerCase(Locale.ROOT), k -> {
                List<List<Double>> l = new ArrayList<>();
                for (int t = 0; t < tasks; t++) l.add(new ArrayList<>());
                return l;
            });
            perTask.get(e.task()).add(e.meanLoss());
            if (e.phase() == Phase.SECOND_STAGE || e.phase() == Phase.TRAINING) {
                imageSamples += e.samples();
                imageNanos += e.nanos();
            }
        }

        Map<String, List<double[]>> losses() {
            Map<String, List<double[]>> out = new LinkedHashMap<>();
            losses.forEach((phase, perTask) -> out.put(phase,
                    perTask.stream().map(l -> l.stream().mapToDouble(Double::doubleValue).toArray()).toList()));
            return out;
        }

        double imagesPerSecond() {
            return imageNanos > 0 ? imageSamples * 1e9 / imageNanos : Double.NaN;
        }
    }

    /** Both listeners, in order. */
    private record Tee(TrainingListener a, TrainingListener b) implements TrainingListener {
        @Override
        public void phaseStarted(Phase phase, int task) {
            a.phaseStarted(phase, task);
            b.phaseStarted(phase, task);
        }

        @Override
        public void step(Step s) {
            a.step(s);
            b.step(s);
        }

        @Override
        public void epochEnded(Epoch e) {
            a.epochEnded(e);
            b.epochEnded(e);
        }
    }
}
