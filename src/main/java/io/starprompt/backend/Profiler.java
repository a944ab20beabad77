package io.starprompt.backend;

import io.starprompt.nativeapi.NativeLib;
import io.starprompt.nativeapi.StarPromptNative;
import io.starprompt.tensor.Tensor;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The op-level profiler of one backend: which op ran, with which kernel variant, on which
 * shapes, for how long, how many bytes it moved and, for GEMM and attention, how many
 * floating-point operations it did, from which the achieved GFLOP/s and GB/s follow.
 *
 * <p>Off by default. While off, each public op of the {@link Backend} reads one volatile field
 * and goes straight to its kernel: nothing is allocated, timed or recorded. {@link #start()}
 * begins recording, {@link #stop()} ends it and returns the {@link Report}:
 *
 * <pre>{@code
 * backend.profiler().start();
 * model.step(...);
 * Profiler.Report r = backend.profiler().stop();
 * System.out.print(r.table());          // one row per op, variant and shapes
 * }</pre>
 *
 * <p><b>Timing.</b> Host backends ({@code reference}, {@code cpu}) run their ops synchronously and
 * are timed by the wall clock ({@link System#nanoTime()}) around each op. The CUDA backend
 * queues its ops on one stream; it times each op by a pair of CUDA events recorded on that
 * stream before and after the op, so recording does not synchronise the device per op. The
 * event times are read when the report is made ({@link #stop()} or {@link #report()}), which
 * waits for the stream. Either way an op's time is what it took from the moment its work could
 * start to its end, including launch overhead but not the argument checks.
 *
 * <p><b>Scopes and NVTX.</b> Model code names where an op comes from with
 * {@link #scope(String)}: {@code try (Profiler.Scope s = be.profiler().scope("block", 3)) {...}}
 * inside a {@code "vit"} scope makes the attention of that block {@code vit.block3.attention}.
 * Recorded events carry that path ({@link Event#scope()}). With NVTX on ({@link #nvtx(boolean)}
 * or {@code -Dstarprompt.nvtx=true}) every scope and every op is also an NVTX range of that name,
 * so that Nsight Systems ({@code nsys profile --trace=cuda,nvtx}) shows the model's structure on
 * its timeline; in a native library built without CUDA the ranges are no-ops. Scopes cost one
 * volatile read and allocate nothing while the profiler is neither recording nor emitting NVTX.
 *
 * <p><b>Nesting.</b> Only the outermost op is recorded: a user kernel ({@link OpKernel}) that
 * calls other backend ops is one row, its own time, not several overlapping ones.
 *
 * <p>Like its backend, a profiler is not thread-safe.
 */
public final class Profiler {
    /** System property that turns the NVTX ranges on for every backend created afterwards. */
    public static final String NVTX_PROPERTY = "starprompt.nvtx";

    /** At most this many op calls are recorded between two starts; later ones are counted as dropped. */
    public static final int MAX_EVENTS = 200_000;

    /**
     * How a backend times its ops: marks on its timeline before and after each op, turned into
     * milliseconds when the report is made. Host backends use the wall clock; the CUDA backend
     * records CUDA events.
     */
    public interface Timing {
        /**
         * Marks the present point of the backend's timeline (before or after an op).
         *
         * @return a token for {@link #elapsedMs}
         */
        long mark();

        /**
         * The time between two marks.
         *
         * @param from the token of the earlier mark
         * @param to   the token of the later mark
         * @return milliseconds; may wait for the device to reach the later mark
         */
        double elapsedMs(long from, long to);

        /** Forgets all marks (e.g. returns events to a pool); called when recording starts anew. */
        default void reset() {}

        /**
         * How the times are taken, for the report's footer.
         *
         * @return one line, e.g. "wall clock around each op"
         */
        String description();
    }

    /**
     * Wall-clock timing, right for a backend whose ops are synchronous (the host backends).
     *
     * @return the shared wall-clock timing
     */
    public static Timing wallClock() {
        return WALL_CLOCK;
    }

    /** Wall-clock timing of synchronous (host) ops. */
    private static final Timing WALL_CLOCK = new Timing() {
        @Override
        public long mark() {
            return System.nanoTime();
        }

        @Override
        public double elapsedMs(long from, long to) {
            return (to - from) / 1e6;
        }

        @Override
        public String description() {
            return "wall clock (System.nanoTime) around each op; host ops are synchronous";
        }
    };

    /**
     * One recorded op call.
     *
     * @param op      the Backend method, e.g. {@code "gemm"} or {@code "attentionBackward"}
     * @param variant the kernel variant that ran (built-in or user-registered), or "-" for an op
     *                without choices
     * @param scope   the scope path the op ran in ({@code "vit.block3"}), empty outside any scope
     * @param shapes  the operands' shapes, e.g. {@code "a[788,384] bᵀ[1152,384] c[788,1152]"}
     * @param bytes   the bytes the op must at least move: every input read once, every output
     *                written once, accumulated outputs both read and written
     * @param flops   floating-point operations (GEMM and attention; 0 for the memory-bound ops)
     * @param ms      the op's time in milliseconds
     */
    public record Event(String op, String variant, String scope, String shapes, long bytes, double flops,
            double ms) {
        /**
         * The op name prefixed by its scope, as the NVTX range is named.
         *
         * @return e.g. {@code "vit.block3.attention"}, or the op alone outside any scope
         */
        public String qualifiedName() {
            return scope.isEmpty() ? op : scope + "." + op;
        }
    }

    /**
     * The calls of one op with one variant on one set of shapes, summed.
     *
     * @param op      the Backend method
     * @param variant the kernel variant
     * @param shapes  the operands' shapes
     * @param calls   how many calls were recorded
     * @param ms      their total time in milliseconds
     * @param bytes   their total bytes moved
     * @param flops   their total floating-point operations (0 when not counted)
     */
    public record Row(String op, String variant, String shapes, int calls, double ms, long bytes, double flops) {
        /**
         * Mean time of one call.
         *
         * @return milliseconds per call
         */
        public double meanMs() {
            return calls == 0 ? 0 : ms / calls;
        }

        /**
         * Achieved compute rate.
         *
         * @return GFLOP/s, or NaN when the op's FLOPs are not counted or no time was measured
         */
        public double gflops() {
            return flops > 0 && ms > 0 ? flops / (ms * 1e6) : Double.NaN;
        }

        /**
         * Achieved memory rate.
         *
         * @return GB/s (10⁹ bytes per second), or NaN when no time was measured
         */
        public double gbPerSecond() {
            return ms > 0 ? bytes / (ms * 1e6) : Double.NaN;
        }
    }

    /**
     * What one recording produced: every op call, and the calls summed per op, variant and shapes.
     *
     * @param backend the backend profiled, e.g. "cpu"
     * @param timing  how the op times were taken: a description of the backend's timing
     * @param events  every recorded op call, in order (unmodifiable)
     * @param dropped op calls beyond {@link #MAX_EVENTS} that were not recorded (0 normally)
     * @param wallMs  wall milliseconds from {@link Profiler#start()} to the end of the recording
     *                (or to this report, if still recording)
     */
    public record Report(String backend, String timing, List<Event> events, int dropped, double wallMs) {
        /**
         * A report over a copy of the events.
         *
         * @param backend the backend profiled
         * @param timing  how the op times were taken
         * @param events  the recorded op calls, in order
         * @param dropped op calls that were not recorded
         * @param wallMs  wall milliseconds of the recording
         */
        public Report {
            events = List.copyOf(events);
        }

        /**
         * The summed time of all recorded ops.
         *
         * @return milliseconds
         */
        public double totalMs() {
            double t = 0;
            for (Event e : events) t += e.ms();
            return t;
        }

        /**
         * The calls summed per op, variant and shapes, longest total time first.
         *
         * @return one row per distinct (op, variant, shapes)
         */
        public List<Row> rows() {
            Map<String, Row> m = new LinkedHashMap<>();
            for (Event e : events) {
                String key = e.op() + '\u0000' + e.variant() + '\u0000' + e.shapes();
                Row r = m.get(key);
                m.put(key, r == null ? new Row(e.op(), e.variant(), e.shapes(), 1, e.ms(), e.bytes(), e.flops())
                        : new Row(r.op(), r.variant(), r.shapes(), r.calls() + 1, r.ms() + e.ms(), r.bytes() + e.bytes(),
                                r.flops() + e.flops()));
            }
            List<Row> rows = new ArrayList<>(m.values());
            rows.sort(Comparator.comparingDouble(Row::ms).reversed());
            return rows;
        }

        /**
         * The rows of one op.
         *
         * @param op the Backend method, e.g. "attention"
         * @return its rows, longest first
         */
        public List<Row> rows(String op) {
            List<Row> out = new ArrayList<>();
            for (Row r : rows()) {
                if (r.op().equals(op)) out.add(r);
            }
            return out;
        }

        /**
         * The per-op table: op, variant, calls, total and mean milliseconds, share of the profiled
         * time, megabytes moved per call, GFLOP/s (where counted), GB/s, and the shapes; then a
         * footer with the totals and the timing method.
         *
         * @return the table, one line per row, ending with a newline
         */
        public String table() {
            return format(rows());
        }

        private String format(List<Row> rows) {
            StringBuilder sb = new StringBuilder();
            double total = totalMs();
            sb.append(String.format(Locale.ROOT, "%-20s %-20s %6s %10s %9s %6s %9s %8s %8s  %s%n", "op", "variant", "calls",
                    "total ms", "mean ms", "%", "MB/call", "GFLOP/s", "GB/s", "shapes"));
            for (Row r : rows) {
                sb.append(String.format(Locale.ROOT, "%-20s %-20s %6d %10.3f %9.4f %6.1f %9.3f %8s %8s  %s%n", r.op(),
                        r.variant(), r.calls(), r.ms(), r.meanMs(), total > 0 ? 100 * r.ms() / total : 0,
                        r.bytes() / 1e6 / r.calls(), rate(r.gflops()), rate(r.gbPerSecond()), r.shapes()));
            }
            sb.append(String.format(Locale.ROOT, "%d op calls, %.3f ms in ops, %.3f ms wall on the %s backend%s%n",
                    events.size(), total, wallMs, backend, dropped > 0 ? " (" + dropped + " calls not recorded)" : ""));
            sb.append("timing: ").append(timing).append(System.lineSeparator());
            return sb.toString();
        }

        /**
         * The calls summed per op and variant (all shapes together), longest total time first.
         *
         * @return one row per distinct (op, variant); their shapes field counts the distinct shapes
         */
        public List<Row> opRows() {
            Map<String, Row> m = new LinkedHashMap<>();
            Map<String, Integer> shapeCount = new LinkedHashMap<>();
            for (Row r : rows()) {
                String key = r.op() + '\u0000' + r.variant();
                Row a = m.get(key);
                shapeCount.merge(key, 1, Integer::sum);
                m.put(key, a == null ? r : new Row(a.op(), a.variant(), a.shapes(), a.calls() + r.calls(), a.ms() + r.ms(),
                        a.bytes() + r.bytes(), a.flops() + r.flops()));
            }
            List<Row> rows = new ArrayList<>();
            m.forEach((key, r) -> {
                int n = shapeCount.get(key);
                rows.add(n == 1 ? r : new Row(r.op(), r.variant(), n + " shapes", r.calls(), r.ms(), r.bytes(), r.flops()));
            });
            rows.sort(Comparator.comparingDouble(Row::ms).reversed());
            return rows;
        }

        /**
         * The per-op table with one row per op and variant (all shapes summed); otherwise as
         * {@link #table()}.
         *
         * @return the table, one line per row, ending with a newline
         */
        public String summary() {
            return format(opRows());
        }

        private static String rate(double v) {
            return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.1f", v);
        }

        @Override
        public String toString() {
            return table();
        }
    }

    /** A named region of model code; closing it ends the region. Closing twice is harmless. */
    public static final class Scope implements AutoCloseable {
        /** The scope handed out while the profiler is off: closing it does nothing. */
        public static final Scope NONE = new Scope(null, 0, false);

        private final Profiler owner;
        private final int depth;
        private final boolean nvtx;
        private boolean closed;

        private Scope(Profiler owner, int depth, boolean nvtx) {
            this.owner = owner;
            this.depth = depth;
            this.nvtx = nvtx;
        }

        /** Ends the region (and its NVTX range, if one was opened). */
        @Override
        public void close() {
            if (owner == null || closed) return;
            closed = true;
            owner.closeScope(depth, nvtx);
        }
    }

    /**
     * The figures of one op, computed only while recording; the shapes are formatted when the
     * report is made (tensor shapes never change), which keeps recording cheap.
     */
    record OpInfo(String variant, Supplier<String> shapes, long bytes, double flops) {}

    /** A recorded call whose time is not read yet (CUDA events are read when the report is made). */
    private record Pending(String op, String scope, OpInfo info, long from, long to) {}

    private final Backend backend;
    /** True while recording or emitting NVTX ranges: the one field an op reads while off. */
    volatile boolean active;
    private boolean recording;
    private boolean nvtxOn;
    private Timing timing;
    private final List<Pending> pending = new ArrayList<>();
    private final List<Event> resolved = new ArrayList<>();
    private int dropped;
    private long startNanos, stopNanos;
    private final ArrayDeque<String> scopes = new ArrayDeque<>();
    private int opDepth;
    /** Bit d set: the op at nesting depth d pushed an NVTX range. */
    private long nvtxOps;

    Profiler(Backend backend) {
        this.backend = backend;
        if (Boolean.getBoolean(NVTX_PROPERTY)) nvtx(true);
    }

    // ------------------------------------------------------------------ control

    /**
     * Starts recording, forgetting any earlier recording.
     *
     * @return this profiler
     * @throws IllegalStateException if the backend is closed
     */
    public Profiler start() {
        backend.ensureOpen("profiler.start");
        if (timing == null) timing = backend.profilerTiming();
        timing.reset();
        pending.clear();
        resolved.clear();
        dropped = 0;
        recording = true;
        updateActive();
        startNanos = System.nanoTime();
        stopNanos = 0;
        return this;
    }

    /**
     * Stops recording and returns what was recorded. Stopping when not recording returns the
     * last recording again.
     *
     * @return the report
     */
    public Report stop() {
        if (recording) {
            recording = false;
            updateActive();
            stopNanos = System.nanoTime();
        }
        return report();
    }

    /**
     * What was recorded so far (recording goes on if it was on). On the CUDA backend this waits
     * for the ops recorded so far to finish.
     *
     * @return the report
     */
    public Report report() {
        resolve();
        long end = stopNanos != 0 ? stopNanos : System.nanoTime();
        return new Report(backend.name(), timing == null ? WALL_CLOCK.description() : timing.description(),
                new ArrayList<>(resolved), dropped, startNanos == 0 ? 0 : (end - startNanos) / 1e6);
    }

    /**
     * Whether op calls are being recorded.
     *
     * @return true between {@link #start()} and {@link #stop()}
     */
    public boolean isRecording() {
        return recording;
    }

    /**
     * Turns the NVTX ranges of scopes and ops on or off (independently of recording). They show
     * in Nsight Systems; in a native library built without CUDA they are no-ops.
     *
     * @param on whether to emit the ranges
     * @return this profiler
     */
    public Profiler nvtx(boolean on) {
        if (on) NativeLib.load();
        nvtxOn = on;
        updateActive();
        return this;
    }

    /**
     * Whether NVTX ranges are emitted.
     *
     * @return true after {@code nvtx(true)} or with {@code -Dstarprompt.nvtx=true}
     */
    public boolean nvtxEnabled() {
        return nvtxOn;
    }

    private void updateActive() {
        active = recording || nvtxOn;
    }

    // ------------------------------------------------------------------ scopes

    /**
     * Opens a named region of model code; ops inside it are recorded (and NVTX-named) under
     * the enclosing scopes' names joined by dots. Use it with try-with-resources.
     *
     * @param name the region, e.g. "vit" or "head"
     * @return the scope to close; {@link Scope#NONE} while the profiler is off
     */
    public Scope scope(String name) {
        if (!active) return Scope.NONE;
        return openScope(name);
    }

    /**
     * As {@link #scope(String)} for the index-th of a kind, e.g. {@code scope("block", 3)} for
     * "block3"; the name is built only while the profiler is on.
     *
     * @param kind  the kind of region, e.g. "block"
     * @param index which one
     * @return the scope to close; {@link Scope#NONE} while the profiler is off
     */
    public Scope scope(String kind, int index) {
        if (!active) return Scope.NONE;
        return openScope(kind + index);
    }

    /**
     * The path of the open scopes.
     *
     * @return e.g. "vit.block3", or "" outside any scope (or while off)
     */
    public String currentScope() {
        String top = scopes.peek();
        return top == null ? "" : top;
    }

    private Scope openScope(String name) {
        String path = scopes.isEmpty() ? name : scopes.peek() + "." + name;
        scopes.push(path);
        boolean pushed = nvtxOn;
        if (pushed) StarPromptNative.sp_nvtx_range_push(path);
        return new Scope(this, scopes.size(), pushed);
    }

    private void closeScope(int depth, boolean nvtx) {
        while (scopes.size() >= depth && !scopes.isEmpty()) scopes.pop();
        if (nvtx) StarPromptNative.sp_nvtx_range_pop();
    }

    // ------------------------------------------------------------------ ops (called by Backend)

    /** Token of an op that is not timed (nested, or not recording). */
    static final long UNTIMED = Long.MIN_VALUE;

    /** Marks the start of an op; returns its timing token, {@link #UNTIMED} if it will not be recorded. */
    long begin(String op) {
        opDepth++;
        if (nvtxOn) {
            StarPromptNative.sp_nvtx_range_push(scopes.isEmpty() ? op : scopes.peek() + "." + op);
            if (opDepth < 64) nvtxOps |= 1L << opDepth;
        }
        return recording && opDepth == 1 ? timing.mark() : UNTIMED;
    }

    /** Marks the end of an op begun with token; records it if it is the outermost one. */
    void end(long token, String op, OpInfo info) {
        try {
            if (recording && token != UNTIMED) {
                long to = timing.mark();
                if (pending.size() + resolved.size() < MAX_EVENTS) {
                    pending.add(new Pending(op, currentScope(), info, token, to));
                } else {
                    dropped++;
                }
            }
        } finally {
            leave();
        }
    }

    /** Ends an op that threw: nothing is recorded. */
    void abort() {
        leave();
    }

    private void leave() {
        if (opDepth <= 0) return;
        if (opDepth < 64 && (nvtxOps & (1L << opDepth)) != 0) {
            nvtxOps &= ~(1L << opDepth);
            StarPromptNative.sp_nvtx_range_pop();
        }
        opDepth--;
    }

    private void resolve() {
        for (Pending p : pending) {
            resolved.add(new Event(p.op(), p.info().variant(), p.scope(), p.info().shapes().get(), p.info().bytes(),
                    p.info().flops(), timing.elapsedMs(p.from(), p.to())));
        }
        pending.clear();
    }

    // ------------------------------------------------------------------ describing ops

    /**
     * Shapes of named operands, e.g. {@code shapes("x", x, "y", y)} → {@code "x[4,197,384] y[4,197,384]"};
     * null tensors are left out.
     */
    static String shapes(Object... namesAndTensors) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i + 1 < namesAndTensors.length; i += 2) {
            Tensor t = (Tensor) namesAndTensors[i + 1];
            if (t == null) continue;
            if (sb.length() > 0) sb.append(' ');
            sb.append(namesAndTensors[i]).append(dims(t.shape()));
        }
        return sb.toString();
    }

    /** "[4,197,384]". */
    static String dims(long[] shape) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) sb.append(',');
            sb.append(shape[i]);
        }
        return sb.append(']').toString();
    }

    /** Sum of the tensors' bytes; null tensors count 0. */
    static long bytes(Tensor... ts) {
        long n = 0;
        for (Tensor t : ts) {
            if (t != null) n += t.bytes();
        }
        return n;
    }
}
