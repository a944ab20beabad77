package io.starprompt.cli;

import io.starprompt.method.TrainingListener;
import io.starprompt.util.Json;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.BiFunction;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Where the runner's output goes, in one of four modes: a progress bar per epoch on a terminal
 * (task, phase, epoch, step, loss, images/s, ETA), plain lines when the output is not a terminal,
 * one JSON object per line for scripts ({@code --json-lines}), or results only ({@code --quiet}).
 * Every event is printed once, in one place; numbers people read (tasks, epochs) are 1-based.
 */
public final class Console implements TrainingListener, AutoCloseable {
    /** The output modes. */
    public enum Mode { BAR, PLAIN, JSON_LINES, QUIET }

    private final PrintStream out;
    private final Mode mode;
    private final BiFunction<Phase, Integer, Integer> stepsPerEpoch;
    private ProgressBar bar;
    private long epochStart;
    private long epochSamples;
    private int tasks;
    private long lastProgress;

    /**
     * A console writing to out in the given mode.
     *
     * @param out where the output goes
     * @param mode the output mode
     * @param stepsPerEpoch steps of one epoch of a phase and (0-based) task, or 0 when unknown (no ETA)
     */
    public Console(PrintStream out, Mode mode, BiFunction<Phase, Integer, Integer> stepsPerEpoch) {
        this.out = out;
        this.mode = mode;
        this.stepsPerEpoch = stepsPerEpoch;
    }

    /**
     * A console without step counts (no ETA).
     *
     * @param out where the output goes
     * @param mode the output mode
     * @return the console
     */
    public static Console of(PrintStream out, Mode mode) {
        return new Console(out, mode, (p, t) -> 0);
    }

    /**
     * BAR on an interactive terminal, else PLAIN; the flags override.
     *
     * @param quiet whether --quiet was given
     * @param jsonLines whether --json-lines was given
     * @return the mode
     */
    public static Mode pick(boolean quiet, boolean jsonLines) {
        if (jsonLines) return Mode.JSON_LINES;
        if (quiet) return Mode.QUIET;
        return System.console() != null && !"dumb".equals(System.getenv("TERM")) ? Mode.BAR : Mode.PLAIN;
    }

    /**
     * The output mode.
     *
     * @return the mode
     */
    public Mode mode() {
        return mode;
    }

    /**
     * The task count, for "task i/T" labels.
     *
     * @param t the number of tasks
     */
    public void setTasks(int t) {
        tasks = t;
    }

    /**
     * A line of information (suppressed by --quiet; a {"event":"info"} object in JSON mode).
     *
     * @param line the text
     */
    public void info(String line) {
        flushAlignment();
        switch (mode) {
            case BAR, PLAIN -> out.println(line);
            case JSON_LINES -> event("info", Map.of("message", line));
            case QUIET -> { }
        }
    }

    /**
     * Progress of a counted pass (e.g. the dataset check): a line rewritten in place on a terminal,
     * the start and the end as plain lines, nothing in quiet or JSON mode until it ends.
     *
     * @param what what is being counted, e.g. "checking images"
     * @param done how many are done
     * @param total how many there are
     */
    public void progress(String what, int done, int total) {
        boolean last = done >= total;
        switch (mode) {
            case BAR -> {
                long now = System.nanoTime();
                if (last || now - lastProgress > 100_000_000L) {
                    out.printf(Locale.ROOT, "\r%s %d/%d (%.0f %%)%s", what, done, total, total == 0 ? 100.0 : 100.0 * done / total,
                            last ? "\n" : "");
                    out.flush();
                    lastProgress = now;
                }
            }
            case PLAIN -> {
                if (done == 0) out.printf(Locale.ROOT, "%s: %d files...%n", what, total);
                else if (last) out.printf(Locale.ROOT, "%s: %d/%d done%n", what, done, total);
            }
            case JSON_LINES -> {
                if (last) event("progress", Map.of("what", what, "done", done, "total", total));
            }
            case QUIET -> { }
        }
    }

    /**
     * A warning: printed in every mode (to the output stream; JSON mode wraps it in an event).
     *
     * @param line the warning
     */
    public void warn(String line) {
        flushAlignment();
        if (mode == Mode.JSON_LINES) event("warning", Map.of("message", line));
        else out.println("warning: " + line);
    }

    /**
     * A result block: printed in every mode but JSON lines, where {@link #event} carries results.
     *
     * @param text the result, one or more lines
     */
    public void result(String text) {
        flushAlignment();
        if (mode != Mode.JSON_LINES) out.println(text);
    }

    /**
     * A JSON-lines event (ignored in the other modes).
     *
     * @param name the event's name
     * @param fields the event's fields
     */
    public void event(String name, Map<String, ?> fields) {
        if (mode != Mode.JSON_LINES) return;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("event", name);
        m.putAll(fields);
        out.println(Json.writeLine(m));
        out.flush();
    }

    @Override
    public void phaseStarted(Phase phase, int task) {
        flushAlignment();
        event("phase", Map.of("task", task + 1, "phase", phaseName(phase)));
    }

    @Override
    public void step(Step s) {
        if (s.step() == 0) startEpoch(s.phase(), s.task(), s.epoch());
        epochSamples += s.samples();
        if (bar != null) {
            bar.stepTo(s.step() + 1);
            double seconds = (System.nanoTime() - epochStart) / 1e9;
            bar.setExtraMessage(String.format(Locale.ROOT, "loss %.4f  %.1f/s", s.loss(), seconds > 0 ? epochSamples / seconds : 0));
        }
    }

    @Override
    public void epochEnded(Epoch e) {
        closeBar();
        double seconds = e.nanos() / 1e9;
        double rate = e.samplesPerSecond();
        switch (mode) {
            case BAR, PLAIN -> {
                if (e.phase() == Phase.HEAD_ALIGNMENT) {
                    alignment = alignment == null ? new Alignment(e, e) : new Alignment(alignment.first(), e);
                } else {
                    flushAlignment();
                    out.printf(Locale.ROOT, "  %s epoch %d  loss %.4f  lr %.2e  %.1f s%s%n", label(e.phase(), e.task()),
                            e.epoch() + 1, e.meanLoss(), e.lr(), seconds, Double.isFinite(rate)
                                    ? String.format(Locale.ROOT, "  %.1f samples/s", rate) : "");
                }
            }
            case JSON_LINES -> {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("task", e.task() + 1);
                m.put("phase", phaseName(e.phase()));
                m.put("epoch", e.epoch() + 1);
                m.put("loss", e.meanLoss());
                m.put("lr", (double) e.lr());
                m.put("steps", e.steps());
                m.put("seconds", seconds);
                m.put("samples_per_s", rate);
                event("epoch", m);
            }
            case QUIET -> { }
        }
    }

    /** The first and the latest epoch of a head alignment in progress (its many short epochs make one line). */
    private record Alignment(Epoch first, Epoch last) {}

    private Alignment alignment;

    /** Prints the pending head-alignment summary, if any. */
    private void flushAlignment() {
        if (alignment == null) return;
        Epoch f = alignment.first(), l = alignment.last();
        out.printf(Locale.ROOT, "  %s: %d epochs, loss %.4f → %.4f%n", label(l.phase(), l.task()), l.epoch() + 1,
                f.meanLoss(), l.meanLoss());
        alignment = null;
    }

    private void startEpoch(Phase phase, int task, int epoch) {
        closeBar();
        epochStart = System.nanoTime();
        epochSamples = 0;
        if (mode != Mode.BAR) return;
        int total = stepsPerEpoch.apply(phase, task);
        bar = new ProgressBarBuilder().setTaskName(label(phase, task) + " epoch " + (epoch + 1))
                .setInitialMax(total > 0 ? total : -1).setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(250)
                .continuousUpdate().setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(out)).build();
    }

    private String label(Phase phase, int task) {
        String of = tasks > 0 ? "/" + tasks : "";
        return "task " + (task + 1) + of + " " + phaseName(phase).replace('_', ' ');
    }

    private static String phaseName(Phase phase) {
        return phase.name().toLowerCase(Locale.ROOT);
    }

    private void closeBar() {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }

    @Override
    public void close() {
        flushAlignment();
        closeBar();
        out.flush();
    }
}
