package io.starprompt.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.LongUnaryOperator;
import java.util.stream.Collectors;
import org.junit.jupiter.api.extension.AnnotatedElementContext;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.io.TempDirFactory;

/**
 * A small seeded in-process fuzzer for the readers of untrusted files.
 *
 * <p>Each case is a mutation of one of the valid seed inputs (bit flips; bytes replaced by 0,
 * 0xFF, 0x7F and other boundary values; 2-, 4- and 8-byte integers set huge or negative in both
 * byte orders; decimal numbers in text replaced by huge, negative or fractional ones; truncation;
 * duplication, deletion and insertion of chunks; splicing of two seeds), one to four of them
 * stacked, or plain random bytes. The parser under test runs on a worker thread with a deadline
 * per case. A case passes when the parser returns normally or throws one of the documented
 * exception types with a message that names the source; it fails on any other exception or
 * error (NullPointerException, ArrayIndexOutOfBoundsException, OutOfMemoryError...), on a
 * missed deadline (a hang) and on an allocation above the budget for its input size (bytes
 * allocated on the worker thread, so a header that claims 2⁶² bytes must be refused before
 * anything is allocated for it).
 *
 * <p>Everything is derived from one seed: case {@code i} is {@link #input(byte[][], long, int)},
 * so a failure is replayed from the seed and case number printed with it; failing inputs are also
 * written to {@code target/fuzz-failures}. Adding a target takes a few lines:
 *
 * <pre>{@code
 * Fuzzer.Report r = Fuzzer.target("checkpoint")
 *         .seeds(validFile1, validFile2)
 *         .parseFile(file, Checkpoints::read)  // each case written to file; messages must name it
 *         .documented(CheckpointException.class)
 *         .run();                              // prints the report, throws AssertionError on failures
 * }</pre>
 *
 * <p>{@code -Dstarprompt.fuzz.cases=N} and {@code -Dstarprompt.fuzz.seed=S} override the default
 * case count ({@value #DEFAULT_CASES}) and seed of every target.
 */
public final class Fuzzer {
    /** Cases per target unless {@code -Dstarprompt.fuzz.cases} says otherwise. */
    public static final int DEFAULT_CASES = 10_000;
    /** Inputs never grow beyond this many bytes (a duplicated chunk is cut to fit). */
    static final int MAX_INPUT_BYTES = 1 << 20;
    private static final int FAILURES_SHOWN = 10;
    private static final Path FAILURE_DIR = Path.of("target", "fuzz-failures");

    /** Boundary bytes: zero, one, the sign boundaries, all ones, and structural ASCII of text formats. */
    private static final int[] INTERESTING_BYTES = {0x00, 0x01, 0x7F, 0x80, 0xFF, 0xFE, 0x20, 0x22, 0x2C, 0x2D, 0x30,
        0x39, 0x3A, 0x5B, 0x5D, 0x7B, 0x7D, 0x5C, 0x0A, 0x23};
    /** Values written over 2-, 4- or 8-byte fields: zero, ±1, sign boundaries, huge sizes. */
    private static final long[] INTERESTING_INTS = {0, 1, -1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFFL,
        0x8000_0000L, 0xFFFF_FFFFL, 1L << 32, 1L << 40, 1L << 62, Long.MAX_VALUE, Long.MIN_VALUE};
    /** Replacements of a decimal number in text: huge, negative, fractional, exponent forms. */
    private static final String[] INTERESTING_NUMBERS = {"0", "-1", "1", "-0", "2147483647", "2147483648",
        "-2147483648", "4294967296", "4611686018427387904", "9223372036854775807", "18446744073709551615",
        "99999999999999999999999", "1e308", "1e400", "-1e400", "1.5", "0.5", "1e-400", "NaN", "65536", "100000000"};

    private final String target;
    private byte[][] seeds = {new byte[0]};
    private int cases = Integer.getInteger("starprompt.fuzz.cases", DEFAULT_CASES);
    private long seed = Long.getLong("starprompt.fuzz.seed", 20_260_101L);
    private Consumer<byte[]> parse;
    private Set<Class<? extends Exception>> documented = Set.of(IllegalArgumentException.class);
    private String source;
    private String kindAfter;
    private long timeoutMillis = 5_000;
    /** CPU time of the cases so far, added by the worker (read after each case's future: no race). */
    private long workerCpuNanos;
    private LongUnaryOperator allocationBudget = n -> (64L << 20) + 256 * n;

    private Fuzzer(String target) {
        this.target = Objects.requireNonNull(target, "target");
    }

    /**
     * The whole fuzzer as one call, with the default deadline and allocation budget and no
     * requirement on what the messages name beyond being non-blank.
     *
     * @param target     name printed in the report
     * @param seeds      valid inputs the mutations start from
     * @param cases      number of cases
     * @param seed       seed of every random choice
     * @param parse      the parser under test
     * @param documented the exception types the parser may throw
     * @return the report (already printed)
     * @throws AssertionError listing the failing cases if any case failed
     */
    public static Report run(String target, byte[][] seeds, int cases, long seed, Consumer<byte[]> parse,
            Set<Class<? extends Exception>> documented) {
        return target(target).seeds(seeds).cases(cases).seed(seed).parse(parse).documented(documented).run();
    }

    /**
     * A fuzzing run to configure: at least {@link #parse} must be set.
     *
     * @param target name printed in the report and used for saved failing inputs
     * @return the configurable run
     */
    public static Fuzzer target(String target) {
        return new Fuzzer(target);
    }

    /**
     * The valid inputs the mutations start from (at least one).
     *
     * @param seeds the inputs; not copied, not modified
     * @return this
     */
    public Fuzzer seeds(byte[]... seeds) {
        if (seeds.length == 0) throw new IllegalArgumentException("at least one seed input is needed");
        this.seeds = seeds.clone();
        return this;
    }

    /**
     * The number of cases (default {@value #DEFAULT_CASES} or {@code -Dstarprompt.fuzz.cases}).
     *
     * @param cases a positive count
     * @return this
     */
    public Fuzzer cases(int cases) {
        if (cases < 1) throw new IllegalArgumentException("cases must be positive, got " + cases);
        this.cases = cases;
        return this;
    }

    /**
     * The seed of all random choices.
     *
     * @param seed any value
     * @return this
     */
    public Fuzzer seed(long seed) {
        this.seed = seed;
        return this;
    }

    /**
     * The parser under test: it reads the bytes as the format's file or stream. It may return
     * normally or throw a documented exception.
     *
     * @param parse the parser
     * @return this
     */
    public Fuzzer parse(Consumer<byte[]> parse) {
        this.parse = Objects.requireNonNull(parse, "parse");
        return this;
    }

    /**
     * The exception types the parser documents (their subclasses included); default
     * IllegalArgumentException.
     *
     * @param documented the types
     * @return this
     */
    @SafeVarargs
    public final Fuzzer documented(Class<? extends Exception>... documented) {
        return documented(Set.of(documented));
    }

    /**
     * As {@link #documented(Class[])}, from a set.
     *
     * @param documented the types
     * @return this
     */
    public Fuzzer documented(Set<Class<? extends Exception>> documented) {
        if (documented.isEmpty()) throw new IllegalArgumentException("at least one documented exception type is needed");
        this.documented = Set.copyOf(documented);
        return this;
    }

    /**
     * Text that every rejection message must contain: the file name or source label the parser
     * was given. Without it a message only has to be non-blank.
     *
     * @param source the text
     * @return this
     */
    public Fuzzer source(String source) {
        this.source = source;
        return this;
    }

    /**
     * A parser under test that reads a file: each case is written to {@code file} first, and every
     * rejection message must name that file (as {@link #source}).
     *
     * @param file the file each case is written to (overwritten)
     * @param read reads the file as the format's file
     * @return this
     */
    public Fuzzer parseFile(Path file, Consumer<Path> read) {
        return parse(bytes -> read.accept(write(file, bytes))).source(file.toString());
    }

    /**
     * Groups rejection messages in the report by the words after this text (e.g. "refused: " when
     * every message starts "checkpoint FILE refused: reason") instead of by their first words.
     *
     * @param marker the text; messages without it are grouped by their first words
     * @return this
     */
    public Fuzzer kindAfter(String marker) {
        this.kindAfter = Objects.requireNonNull(marker, "marker");
        return this;
    }

    /**
     * The deadline of one case (default 5 s): a case that runs longer counts as a hang.
     *
     * @param millis milliseconds
     * @return this
     */
    public Fuzzer timeoutMillis(long millis) {
        if (millis < 1) throw new IllegalArgumentException("timeout must be positive");
        this.timeoutMillis = millis;
        return this;
    }

    /**
     * The most bytes one case may allocate on the heap, as a function of its input length
     * (default 64 MiB + 256 bytes per input byte).
     *
     * @param budget input length → bytes
     * @return this
     */
    public Fuzzer allocationBudget(LongUnaryOperator budget) {
        this.allocationBudget = Objects.requireNonNull(budget, "budget");
        return this;
    }

    // ------------------------------------------------------------------ running

    /**
     * Runs every case, prints the report to standard output, and fails if any case failed.
     *
     * @return the report
     * @throws AssertionError describing the first failing cases (with seed and case number)
     */
    public Report run() {
        Report report = runQuietly();
        System.out.println(report.summary());
        if (!report.failures().isEmpty()) {
            throw new AssertionError(report.failures().size() + " of " + report.cases() + " cases of fuzz target '"
                    + target + "' (seed " + seed + ") failed; first ones:\n  "
                    + report.failures().stream().limit(FAILURES_SHOWN).map(Failure::toString)
                            .collect(Collectors.joining("\n  ")));
        }
        return report;
    }

    /**
     * Runs every case and returns the report without printing it or failing; for testing the
     * fuzzer itself.
     *
     * @return the report
     */
    public Report runQuietly() {
        Objects.requireNonNull(parse, "parse: no parser given for target " + target);
        int parsed = 0, rejected = 0;
        Map<String, Integer> firstWords = new TreeMap<>();
        List<Failure> failures = new ArrayList<>();
        long maxAllocated = 0;
        long started = System.nanoTime();
        ExecutorService worker = newWorker();
        try {
            for (int i = 0; i < cases; i++) {
                byte[] input = input(seeds, seed, i);
                Future<Outcome> future = worker.submit(() -> runCase(input));
                Outcome outcome;
                try {
                    outcome = future.get(timeoutMillis, TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    future.cancel(true);
                    worker.shutdownNow(); // the stuck thread is abandoned; later cases get a fresh one
                    worker = newWorker();
                    outcome = Outcome.failure("no result within " + timeoutMillis + " ms (a hang)", 0);
                } catch (ExecutionException e) {
                    outcome = Outcome.failure("worker failed: " + e.getCause(), 0);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("fuzzing interrupted", e);
                }
                maxAllocated = Math.max(maxAllocated, outcome.allocated);
                if (outcome.problem == null && outcome.allocated > allocationBudget.applyAsLong(input.length)) {
                    outcome = Outcome.failure("allocated " + outcome.allocated + " bytes for a " + input.length
                            + "-byte input (budget " + allocationBudget.applyAsLong(input.length) + ")", outcome.allocated);
                }
                if (outcome.problem != null) {
                    failures.add(new Failure(i, input.length, outcome.problem, save(i, input)));
                } else if (outcome.message == null) {
                    parsed++;
                } else {
                    rejected++;
                    String m = outcome.message;
                    int at = kindAfter == null ? -1 : m.indexOf(kindAfter);
                    if (at >= 0) m = m.substring(at + kindAfter.length());
                    firstWords.merge(firstWords(m, source), 1, Integer::sum);
                }
            }
        } finally {
            worker.shutdownNow();
        }
        long millis = (System.nanoTime() - started) / 1_000_000;
        return new Report(target, cases, parsed, rejected, failures, firstWords, maxAllocated, millis,
                workerCpuNanos / 1_000_000);
    }

    private static ExecutorService newWorker() {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "fuzz-worker");
            t.setDaemon(true);
            return t;
        });
    }

    /** One case on the worker thread: the outcome and the bytes it allocated. */
    private Outcome runCase(byte[] input) {
        long cpuBefore = cpuNanos();
        try {
            return measuredCase(input);
        } finally {
            workerCpuNanos += cpuNanos() - cpuBefore;
        }
    }

    /** CPU time of the current thread, or 0 where the JVM does not measure it. */
    private static long cpuNanos() {
        java.lang.management.ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        return mx.isCurrentThreadCpuTimeSupported() ? mx.getCurrentThreadCpuTime() : 0;
    }

    private Outcome measuredCase(byte[] input) {
        long before = allocatedBytes();
        Throwable thrown = null;
        try {
            parse.accept(input);
        } catch (Throwable t) { // errors too: an OutOfMemoryError is a finding, not a crash of the run
            thrown = t;
        }
        long allocated = allocatedBytes() - before;
        if (thrown == null) return new Outcome(null, null, allocated);
        if (!isDocumented(thrown)) {
            return Outcome.failure("undocumented " + describe(thrown), allocated);
        }
        String message = thrown.getMessage();
        if (message == null || message.isBlank()) return Outcome.failure("no message: " + describe(thrown), allocated);
        if (source != null && !message.contains(source)) {
            return Outcome.failure("message does not name '" + source + "': " + describe(thrown), allocated);
        }
        return new Outcome(null, message, allocated);
    }

    private boolean isDocumented(Throwable t) {
        for (Class<? extends Exception> c : documented) {
            if (c.isInstance(t)) return true;
        }
        return false;
    }

    private static String describe(Throwable t) {
        StackTraceElement[] stack = t.getStackTrace();
        String where = stack.length == 0 ? "" : " at " + stack[0];
        return t.getClass().getName() + ": " + t.getMessage() + where;
    }

    private Path save(int index, byte[] input) {
        try {
            Files.createDirectories(FAILURE_DIR);
            Path file = FAILURE_DIR.resolve(target.replaceAll("[^A-Za-z0-9_.-]", "_") + "-seed" + seed + "-case" + index
                    + ".bin");
            Files.write(file, input);
            return file;
        } catch (IOException e) {
            return null; // saving is a convenience; the seed and case number reproduce the input anyway
        }
    }

    /**
     * Bytes allocated on the heap by the current thread so far (HotSpot's per-thread counter), or
     * 0 where the JVM does not count.
     *
     * @return bytes
     */
    public static long allocatedBytes() {
        java.lang.management.ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        if (mx instanceof com.sun.management.ThreadMXBean hs && hs.isThreadAllocatedMemorySupported()) {
            return hs.getCurrentThreadAllocatedBytes();
        }
        return 0;
    }

    /**
     * The heap bytes that {@code action} allocates on the current thread, whether it returns or
     * throws (the exception is swallowed; use this to check that a refusal allocates little).
     *
     * @param action the code to measure
     * @return bytes allocated while it ran
     */
    public static long allocationOf(Runnable action) {
        long before = allocatedBytes();
        try {
            action.run();
        } catch (RuntimeException e) {
            // measured either way
        }
        return allocatedBytes() - before;
    }

    /**
     * The first two words of a rejection message once the source, file paths, quoted names and
     * numbers are taken out, so that messages group by kind ("header length", "line #:", ...).
     */
    static String firstWords(String message, String source) {
        String m = source == null ? message : message.replace(source, " ");
        m = m.replaceAll("'[^']*'", "'…'")
                .replaceAll("\\S*/\\S*", " ")            // paths of other files
                .replaceAll("\\d+", "#")
                .replaceAll("^[\\s:]+", "");
        String[] words = m.split("\\s+", 3);
        return words.length >= 2 ? words[0] + " " + words[1] : words[0];
    }

    // ------------------------------------------------------------------ inputs

    /**
     * Input {@code index} of a run with these seeds and this seed: regenerates any case.
     *
     * @param seeds the seed inputs
     * @param seed  the run's seed
     * @param index the case number
     * @return the input bytes
     */
    public static byte[] input(byte[][] seeds, long seed, int index) {
        Random rnd = new Random(seed * 0x9E3779B97F4A7C15L + index);
        if (rnd.nextInt(20) == 0) return randomBytes(rnd, seeds);
        byte[] b = seeds[rnd.nextInt(seeds.length)].clone();
        int mutations = 1 + rnd.nextInt(rnd.nextInt(4) + 1);
        for (int m = 0; m < mutations; m++) b = mutate(rnd, b, seeds);
        return b;
    }

    private static byte[] randomBytes(Random rnd, byte[][] seeds) {
        int longest = Arrays.stream(seeds).mapToInt(s -> s.length).max().orElse(0);
        byte[] b = new byte[rnd.nextInt(Math.max(64, 2 * longest) + 1)];
        rnd.nextBytes(b);
        return b;
    }

    private static byte[] mutate(Random rnd, byte[] b, byte[][] seeds) {
        if (b.length == 0) return randomBytes(rnd, seeds);
        return switch (rnd.nextInt(10)) {
            case 0 -> flipBits(rnd, b);
            case 1 -> interestingByte(rnd, b);
            case 2 -> interestingInt(rnd, b);
            case 3 -> interestingNumber(rnd, b);
            case 4 -> Arrays.copyOf(b, rnd.nextInt(b.length)); // truncation
            case 5 -> duplicateChunk(rnd, b);
            case 6 -> deleteChunk(rnd, b);
            case 7 -> insertRandom(rnd, b);
            case 8 -> splice(rnd, b, seeds[rnd.nextInt(seeds.length)]);
            default -> randomByte(rnd, b);
        };
    }

    private static byte[] flipBits(Random rnd, byte[] b) {
        int flips = 1 + rnd.nextInt(8);
        for (int i = 0; i < flips; i++) {
            int bit = rnd.nextInt(b.length * 8);
            b[bit >>> 3] ^= (byte) (1 << (bit & 7));
        }
        return b;
    }

    private static byte[] interestingByte(Random rnd, byte[] b) {
        b[rnd.nextInt(b.length)] = (byte) INTERESTING_BYTES[rnd.nextInt(INTERESTING_BYTES.length)];
        return b;
    }

    private static byte[] randomByte(Random rnd, byte[] b) {
        b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
        return b;
    }

    /** A 2-, 4- or 8-byte field set to a boundary value, little- or big-endian. */
    private static byte[] interestingInt(Random rnd, byte[] b) {
        int width = new int[] {2, 4, 8}[rnd.nextInt(3)];
        if (b.length < width) return interestingByte(rnd, b);
        // Favour the start of the input, where the length fields of binary headers live, and aligned offsets.
        int at = switch (rnd.nextInt(3)) {
            case 0 -> 0;
            case 1 -> rnd.nextInt(Math.min(b.length - width, 64) / width + 1) * width;
            default -> rnd.nextInt(b.length - width + 1);
        };
        long v = INTERESTING_INTS[rnd.nextInt(INTERESTING_INTS.length)];
        if (rnd.nextInt(4) == 0) v = -v;
        boolean little = rnd.nextBoolean();
        for (int i = 0; i < width; i++) {
            int shift = 8 * (little ? i : width - 1 - i);
            b[at + i] = (byte) (v >>> shift);
        }
        return b;
    }

    /** A run of ASCII digits (a size, offset or id in a text format) replaced by a boundary number. */
    private static byte[] interestingNumber(Random rnd, byte[] b) {
        List<int[]> runs = new ArrayList<>();
        for (int i = 0; i < b.length; ) {
            if (b[i] >= '0' && b[i] <= '9') {
                int start = i;
                while (i < b.length && b[i] >= '0' && b[i] <= '9') i++;
                runs.add(new int[] {start, i});
            } else {
                i++;
            }
        }
        if (runs.isEmpty()) return interestingInt(rnd, b);
        int[] run = runs.get(rnd.nextInt(runs.size()));
        byte[] number = INTERESTING_NUMBERS[rnd.nextInt(INTERESTING_NUMBERS.length)].getBytes(StandardCharsets.US_ASCII);
        return replace(b, run[0], run[1], number);
    }

    private static byte[] duplicateChunk(Random rnd, byte[] b) {
        int from = rnd.nextInt(b.length);
        int len = Math.min(1 + rnd.nextInt(Math.min(b.length - from, 256)), MAX_INPUT_BYTES - b.length);
        if (len <= 0) return b;
        int at = rnd.nextInt(b.length + 1);
        return replace(b, at, at, Arrays.copyOfRange(b, from, from + len));
    }

    private static byte[] deleteChunk(Random rnd, byte[] b) {
        int from = rnd.nextInt(b.length);
        int len = 1 + rnd.nextInt(Math.min(b.length - from, 256));
        return replace(b, from, from + len, new byte[0]);
    }

    private static byte[] insertRandom(Random rnd, byte[] b) {
        byte[] chunk = new byte[Math.min(1 + rnd.nextInt(16), MAX_INPUT_BYTES - b.length)];
        rnd.nextBytes(chunk);
        int at = rnd.nextInt(b.length + 1);
        return replace(b, at, at, chunk);
    }

    /** The head of one input joined to the tail of another, each cut at a random point. */
    private static byte[] splice(Random rnd, byte[] a, byte[] other) {
        int cutA = rnd.nextInt(a.length + 1);
        int cutB = other.length == 0 ? 0 : rnd.nextInt(other.length + 1);
        int tail = Math.min(other.length - cutB, MAX_INPUT_BYTES - cutA);
        byte[] out = Arrays.copyOf(a, cutA + tail);
        System.arraycopy(other, cutB, out, cutA, tail);
        return out;
    }

    private static byte[] replace(byte[] b, int from, int to, byte[] with) {
        byte[] out = new byte[b.length - (to - from) + with.length];
        System.arraycopy(b, 0, out, 0, from);
        System.arraycopy(with, 0, out, from, with.length);
        System.arraycopy(b, to, out, from + with.length, b.length - to);
        return out;
    }

    // ------------------------------------------------------------------ results

    /** What one case produced: a problem (failure), or a rejection message, or neither (parsed). */
    private record Outcome(String problem, String message, long allocated) {
        static Outcome failure(String problem, long allocated) {
            return new Outcome(problem, null, allocated);
        }
    }

    /**
     * One failing case.
     *
     * @param index   the case number (with the run's seed, {@link #input} regenerates it)
     * @param length  its input length in bytes
     * @param problem what went wrong
     * @param saved   where the input was written, or null
     */
    public record Failure(int index, int length, String problem, Path saved) {
        /** "case 17 (312 bytes, saved as ...): problem". */
        @Override
        public String toString() {
            return "case " + index + " (" + length + " bytes" + (saved == null ? "" : ", saved as " + saved) + "): "
                    + problem;
        }
    }

    /**
     * The outcome of a run.
     *
     * @param target         the target's name
     * @param cases          cases run
     * @param parsed         cases the parser accepted
     * @param rejected       cases refused with a documented exception naming the source
     * @param failures       every other case
     * @param firstWords     rejection messages grouped by their first words, with counts
     * @param maxAllocated   the most heap bytes one case allocated
     * @param millis         wall time of the run
     * @param cpuMillis      CPU time the cases took on the worker thread (what the run costs on an
     *                       idle machine, whatever else shares this one)
     */
    public record Report(String target, int cases, int parsed, int rejected, List<Failure> failures,
            Map<String, Integer> firstWords, long maxAllocated, long millis, long cpuMillis) {

        /** A few lines: counts, then the most frequent message beginnings. */
        public String summary() {
            StringBuilder sb = new StringBuilder();
            sb.append(String.format("fuzz %-22s %6d cases: %6d parsed, %6d rejected (documented), %d failed;"
                    + " max %.1f MiB allocated by one case; %.1f s (%.1f s CPU)%n", target, cases, parsed, rejected,
                    failures.size(), maxAllocated / 1048576.0, millis / 1000.0, cpuMillis / 1000.0));
            Map<String, Integer> top = firstWords.entrySet().stream()
                    .sorted(Map.Entry.<String, Integer>comparingByValue(Comparator.reverseOrder())
                            .thenComparing(Map.Entry.comparingByKey()))
                    .limit(12)
                    .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue, (a, b) -> a, LinkedHashMap::new));
            top.forEach((words, n) -> sb.append(String.format("    %6d  %s%n", n, words)));
            if (firstWords.size() > top.size()) {
                sb.append(String.format("    %6d  (%d other beginnings)%n",
                        rejected - top.values().stream().mapToInt(Integer::intValue).sum(), firstWords.size() - top.size()));
            }
            return sb.toString().stripTrailing();
        }
    }

    /**
     * A {@code @TempDir} factory that puts the directory in memory ({@code /dev/shm}) where the
     * system has one: file targets write every case to a file, and a shared disk would dominate
     * the run time. Elsewhere it falls back to the default temporary directory.
     */
    public static final class MemoryTempDir implements TempDirFactory {
        /** Creates the directory. */
        @Override
        public Path createTempDirectory(AnnotatedElementContext element, ExtensionContext context) throws IOException {
            Path shm = Path.of("/dev/shm");
            if (Files.isDirectory(shm) && Files.isWritable(shm)) return Files.createTempDirectory(shm, "starprompt-fuzz");
            return Files.createTempDirectory("starprompt-fuzz");
        }
    }

    /**
     * Writes bytes to a file, for parsers that read files.
     *
     * @param file  the file (overwritten)
     * @param bytes the content
     * @return the file
     */
    public static Path write(Path file, byte[] bytes) {
        try {
            return Files.write(file, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
