package io.starprompt.method;

import io.starprompt.cl.AccuracyMatrix;
import io.starprompt.model.safetensors.SafetensorsDType;
import io.starprompt.model.safetensors.SafetensorsFile;
import io.starprompt.model.safetensors.SafetensorsWriter;
import io.starprompt.model.safetensors.TensorInfo;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The checkpoint files of a run: one file per finished task, numbered as people count tasks:
 * {@code task-003.ckpt} holds the state after the third task (index 2), written atomically,
 * checked on read. All of the file format is
 * in this class.
 *
 * <h2>Format (version {@value #FORMAT_VERSION})</h2>
 * A safetensors file ({@link SafetensorsWriter}): the method's state arrays as F32/F64 tensors
 * named {@code state/<name>}; each accuracy matrix as an F64 tensor {@code metric/<name>} holding
 * its filled rows' lower triangle (row 0: a₀₀; row 1: a₁₀ a₁₁; …). The string metadata holds
 * {@code format} ({@value #FORMAT}), {@code format_version}, the {@link RunIdentity}
 * ({@code method}, {@code model}, {@code dataset}, {@code class_order}, {@code seed}),
 * {@code task}, the state's properties as {@code state.<key>}, the runner's configuration as
 * {@code config.<key>}, each matrix's task count as {@code metric.<name>.tasks}, and
 * {@code sha256}: the SHA-256 of every other metadata entry (sorted; key, NUL, value, NUL), then
 * of every tensor in name order (name, NUL, dtype, NUL, shape as comma-separated decimals, NUL,
 * its values as little-endian bytes).
 *
 * <h2>Writing</h2>
 * To a temporary file in the same folder ({@code .task-NNN.ckpt.*.tmp}), forced to disk, renamed
 * over the target in one atomic step, then the folder itself is forced (where the platform allows
 * it): a crash leaves either the previous state of the folder or the complete new file, never a
 * partial {@code task-*.ckpt}. A temporary file that a killed writer left behind is removed when
 * the same checkpoint is written again. For crash tests, the system property
 * {@code starprompt.checkpoint.pause-at=TASK:BYTES} (off by default) makes the writer of
 * {@code task-TASK.ckpt} stop after BYTES bytes of its temporary file and wait to be killed.
 *
 * <h2>Reading</h2>
 * Refused with a {@link CheckpointException} naming the file and the reason: not a safetensors
 * container or truncated, not a checkpoint, another format version, a checksum mismatch (any
 * flipped bit in metadata or values), or — with an expected {@link RunIdentity} — another method,
 * model, dataset, class order or seed.
 */
public final class Checkpoints {
    /** The {@code format} metadata value. */
    public static final String FORMAT = "starprompt-checkpoint";
    /** The version this build writes and reads. */
    public static final int FORMAT_VERSION = 1;

    /**
     * The most tasks a run's matrices may have in a checkpoint (far beyond any benchmark: one class
     * per task of ImageNet-21k's classes would be fewer); a larger count is refused on writing and
     * reading, before anything is allocated for it.
     */
    public static final int MAX_TASKS = 1 << 16;

    private static final Pattern FILE_NAME = Pattern.compile("task-(\\d{3,9})\\.ckpt");
    private static final String STATE = "state/";
    private static final String METRIC = "metric/";
    private static final String STATE_PROPERTY = "state.";
    private static final String CONFIG = "config.";
    private static final String METRIC_TASKS = "metric.";
    private static final String TASKS_SUFFIX = ".tasks";
    private static final String CHECKSUM = "sha256";

    private Checkpoints() {}

    /**
     * A checkpoint as read back.
     *
     * @param file     where it was read from
     * @param task     the last finished task (0-based); the run continues with task + 1
     * @param identity what it was written for
     * @param state    the method's state, for {@link ContinualMethod#restoreState}
     * @param metrics  the accuracy matrices so far, by name (rows 0…task filled)
     * @param config   the runner's configuration as it was handed to {@link #write}
     */
    public record Checkpoint(Path file, int task, RunIdentity identity, MethodState state,
            Map<String, AccuracyMatrix> metrics, Map<String, String> config) {}

    /**
     * The file name of the checkpoint after task index t: {@code task-%03d.ckpt} of t + 1.
     *
     * @param task the 0-based task index
     * @return the file name
     */
    public static String fileName(int task) {
        if (task < 0) throw new IllegalArgumentException("checkpoint: task " + task);
        return String.format(Locale.ROOT, "task-%03d.ckpt", task + 1);
    }

    // ------------------------------------------------------------------ writing

    /**
     * Writes the checkpoint of a method after its last finished task into dir (created if
     * needed): its {@link ContinualMethod#saveState() state}, the metrics so far and the runner's
     * configuration. Returns the file.
     *
     * @param dir the run's checkpoint folder
     * @param method the method, between tasks
     * @param identity the run's identity; its method must be the method's name
     * @param metrics the accuracy matrices so far, by name
     * @param config the runner's configuration, stored as given
     * @return the file written
     * @throws IllegalStateException if the method has not finished a task
     * @throws IOException if the file cannot be written
     */
    public static Path write(Path dir, ContinualMethod method, RunIdentity identity, Map<String, AccuracyMatrix> metrics,
            Map<String, String> config) throws IOException {
        if (method.tasksLearned() < 1) throw new IllegalStateException("checkpoint: " + method.name() + " has not finished a task");
        if (!identity.method().equals(method.name())) {
            throw new IllegalArgumentException("checkpoint: identity of method '" + identity.method() + "' for method '"
                    + method.name() + "'");
        }
        return write(dir, method.tasksLearned() - 1, identity, method.saveState(), metrics, config);
    }

    /**
     * As {@link #write(Path, ContinualMethod, RunIdentity, Map, Map)} with the state given.
     *
     * @param dir the run's checkpoint folder
     * @param task the 0-based index of the last finished task
     * @param identity the run's identity
     * @param state the method's state
     * @param metrics the accuracy matrices so far, by name
     * @param config the runner's configuration, stored as given
     * @return the file written
     * @throws IOException if the file cannot be written
     */
    public static Path write(Path dir, int task, RunIdentity identity, MethodState state,
            Map<String, AccuracyMatrix> metrics, Map<String, String> config) throws IOException {
        Map<String, float[]> floats = new TreeMap<>();
        Map<String, double[]> doubles = new TreeMap<>();
        Map<String, long[]> shapes = new TreeMap<>();
        for (String name : state.names()) {
            if (state.isDouble(name)) doubles.put(STATE + name, state.doubleArrays().get(name));
            else floats.put(STATE + name, state.floatArrays().get(name));
            shapes.put(STATE + name, state.shapes().get(name));
        }
        SortedMap<String, String> meta = metadata(task, identity, state, config);
        for (Map.Entry<String, AccuracyMatrix> m : metrics.entrySet()) {
            if (m.getValue().tasks() > MAX_TASKS) {
                throw new IllegalArgumentException("checkpoint: metric '" + m.getKey() + "' is of " + m.getValue().tasks()
                        + " tasks, more than the " + MAX_TASKS + " a checkpoint holds");
            }
            double[] triangle = lowerTriangle(m.getValue());
            doubles.put(METRIC + m.getKey(), triangle);
            shapes.put(METRIC + m.getKey(), new long[] {triangle.length});
            meta.put(METRIC_TASKS + m.getKey() + TASKS_SUFFIX, Integer.toString(m.getValue().tasks()));
        }
        meta.put(CHECKSUM, digest(meta, tensorsInOrder(floats, doubles), shapes));
        String name = fileName(task);
        return writeAtomically(dir, name, out -> SafetensorsWriter.write(TestPause.wrap(out, name), floats, doubles,
                shapes, meta));
    }

    private static SortedMap<String, String> metadata(int task, RunIdentity id, MethodState state,
            Map<String, String> config) {
        SortedMap<String, String> meta = new TreeMap<>();
        meta.put("format", FORMAT);
        meta.put("format_version", Integer.toString(FORMAT_VERSION));
        meta.put("method", id.method());
        meta.put("model", id.model());
        meta.put("dataset", id.dataset());
        meta.put("class_order", id.classOrder());
        meta.put("seed", Long.toString(id.seed()));
        meta.put("task", Integer.toString(task));
        state.properties().forEach((k, v) -> meta.put(STATE_PROPERTY + k, v));
        config.forEach((k, v) -> meta.put(CONFIG + k, v));
        return meta;
    }

    private static double[] lowerTriangle(AccuracyMatrix m) {
        int rows = m.rows();
        double[] out = new double[rows * (rows + 1) / 2];
        int k = 0;
        for (int i = 0; i < rows; i++) {
            for (double v : m.row(i)) out[k++] = v;
        }
        return out;
    }

    /**
     * Writes a file through the given writer: temp file, force, atomic rename, force the folder.
     * Temporary files of the same name left by a writer that was killed are removed first.
     */
    private static Path writeAtomically(Path dir, String name, FileBody body) throws IOException {
        Files.createDirectories(dir);
        Path target = dir.resolve(name);
        removeStaleTemporaries(dir, name);
        Path tmp = Files.createTempFile(dir, "." + name + ".", TEMP_SUFFIX);
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                body.write(ch);
                TestPause.beforeRename(name, tmp, ch.size());
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        forceDirectory(dir);
        return target;
    }

    private static final String TEMP_SUFFIX = ".tmp";

    private static void removeStaleTemporaries(Path dir, String name) throws IOException {
        String prefix = "." + name + ".";
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String n = p.getFileName().toString();
                if (n.startsWith(prefix) && n.endsWith(TEMP_SUFFIX) && Files.isRegularFile(p)) Files.deleteIfExists(p);
            }
        }
    }

    @FunctionalInterface
    private interface FileBody {
        void write(FileChannel out) throws IOException;
    }

    /**
     * A test hook, off unless the system property {@value #PAUSE_PROPERTY} is set to
     * {@code TASK:BYTES}: while writing the checkpoint of that task (as numbered in its file name,
     * {@code task-TASK.ckpt}), the writer stops once BYTES bytes of the temporary file are
     * written — or, when the file is not that long, after all of it, before the rename — prints
     * {@code checkpoint write paused ...} on standard error and waits to be killed. A crash test
     * kills the process there, inside the write, to check that the folder still holds only
     * complete checkpoints.
     */
    static final class TestPause {
        static final String PAUSE_PROPERTY = "starprompt.checkpoint.pause-at";

        private TestPause() {}

        /** The bytes after which to pause while writing this file, or -1. */
        private static long bytesFor(String name) {
            String v = System.getProperty(PAUSE_PROPERTY);
            if (v == null || v.isBlank()) return -1;
            Matcher m = Pattern.compile("(\\d+):(\\d+)").matcher(v.strip());
            if (!m.matches()) throw new IllegalArgumentException(PAUSE_PROPERTY + " must be TASK:BYTES, got '" + v + "'");
            return name.equals(String.format(Locale.ROOT, "task-%03d.ckpt", Integer.parseInt(m.group(1))))
                    ? Long.parseLong(m.group(2)) : -1;
        }

        /** The channel itself, or (hook set for this file) one that pauses after the given bytes. */
        static WritableByteChannel wrap(WritableByteChannel out, String name) {
            long limit = bytesFor(name);
            if (limit < 0) return out;
            return new WritableByteChannel() {
                private long written;

                @Override
                public int write(ByteBuffer src) throws IOException {
                    if (written + src.remaining() <= limit) {
                        int n = out.write(src);
                        written += n;
                        return n;
                    }
                    ByteBuffer part = src.duplicate();
                    part.limit(part.position() + (int) (limit - written));
                    while (part.hasRemaining()) written += out.write(part);
                    pause(written + " bytes of " + name + "'s temporary file written");
                    return 0; // never reached
                }

                @Override
                public boolean isOpen() {
                    return out.isOpen();
                }

                @Override
                public void close() throws IOException {
                    out.close();
                }
            };
        }

        /** Pauses before the rename when the hook's byte count was not reached during the write. */
        static void beforeRename(String name, Path tmp, long size) {
            long limit = bytesFor(name);
            if (limit >= size) pause("all " + size + " bytes of " + tmp + " written, not yet renamed");
        }

        private static void pause(String where) {
            System.err.println("checkpoint write paused: " + where + " (" + PAUSE_PROPERTY + ")");
            System.err.flush();
            while (true) {
                try {
                    Thread.sleep(Long.MAX_VALUE);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("checkpoint write paused by " + PAUSE_PROPERTY + " was interrupted");
                }
            }
        }
    }

    /** Makes the rename durable; some platforms cannot open a folder for that, and then it is skipped. */
    private static void forceDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // Not supported here (e.g. Windows): the rename itself is still atomic.
        }
    }

    // ------------------------------------------------------------------ finding

    /**
     * The checkpoint of the highest task in dir, if any (temporary files are ignored).
     *
     * @param dir the run's checkpoint folder (absent: none)
     * @return the latest checkpoint file, or empty
     * @throws IOException if the folder cannot be listed
     */
    public static Optional<Path> latest(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return Optional.empty();
        Path best = null;
        int bestTask = -1;
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Matcher m = FILE_NAME.matcher(p.getFileName().toString());
                if (m.matches() && Integer.parseInt(m.group(1)) > bestTask) {
                    bestTask = Integer.parseInt(m.group(1));
                    best = p;
                }
            }
        }
        return Optional.ofNullable(best);
    }

    // ------------------------------------------------------------------ reading

    /**
     * Reads and checks a checkpoint and that it was written for this run.
     *
     * @param file the checkpoint
     * @param expected the identity of the run it must belong to
     * @return its contents
     * @throws CheckpointException for a corrupt, truncated, foreign or mismatched file
     * @throws IOException         if the file cannot be read at all
     */
    public static Checkpoint read(Path file, RunIdentity expected) throws IOException {
        Checkpoint cp = read(file);
        Optional<String> why = expected.mismatch(cp.identity());
        if (why.isPresent()) throw refused(file, why.get());
        return cp;
    }

    /**
     * Reads and checks a checkpoint (format, version, checksum) without comparing identities.
     *
     * @param file the checkpoint
     * @return its contents
     * @throws CheckpointException for a corrupt, truncated or foreign file
     * @throws IOException         if the file cannot be read at all
     */
    public static Checkpoint read(Path file) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            return decode(file, f);
        } catch (CheckpointException e) {
            throw e;
        } catch (IllegalArgumentException | EOFException e) {
            throw refused(file, "it is truncated or corrupt: " + e.getMessage(), e);
        }
    }

    private static Checkpoint decode(Path file, SafetensorsFile f) {
        SortedMap<String, String> meta = new TreeMap<>(f.metadata());
        if (!FORMAT.equals(meta.get("format"))) throw refused(file, "it is not a " + FORMAT + " file");
        String version = meta.get("format_version");
        if (!Integer.toString(FORMAT_VERSION).equals(version)) {
            throw refused(file, "it has format version " + version + ", this build reads version " + FORMAT_VERSION);
        }
        Map<String, Object> tensors = new TreeMap<>();
        Map<String, long[]> shapes = new TreeMap<>();
        for (String name : new TreeSet<>(f.names())) {
            TensorInfo info = f.info(name);
            shapes.put(name, info.shape());
            if (info.dtype() == SafetensorsDType.F32) tensors.put(name, f.readFloats(name, info.shape()));
            else if (info.dtype() == SafetensorsDType.F64) tensors.put(name, f.readDoubles(name, info.shape()));
            else throw refused(file, "tensor '" + name + "' has dtype " + info.dtype() + " (only F32 and F64 are written)");
        }
        String stored = meta.remove(CHECKSUM);
        if (stored == null) throw refused(file, "it has no checksum");
        String actual = digest(meta, tensors, shapes);
        if (!actual.equals(stored)) {
            throw refused(file, "its checksum does not match its contents (stored " + stored + ", computed " + actual
                    + "): the file is corrupt");
        }
        return assemble(file, meta, tensors, shapes);
    }

    private static Checkpoint assemble(Path file, SortedMap<String, String> meta, Map<String, Object> tensors,
            Map<String, long[]> shapes) {
        MethodState state = new MethodState();
        Map<String, AccuracyMatrix> metrics = new LinkedHashMap<>();
        Map<String, String> config = new TreeMap<>();
        for (Map.Entry<String, Object> t : tensors.entrySet()) {
            String name = t.getKey();
            if (name.startsWith(STATE) && t.getValue() instanceof float[] v) {
                state.putFloats(name.substring(STATE.length()), v, shapes.get(name));
            } else if (name.startsWith(STATE)) {
                state.putDoubles(name.substring(STATE.length()), (double[]) t.getValue(), shapes.get(name));
            } else if (name.startsWith(METRIC) && t.getValue() instanceof double[] v) {
                String metric = name.substring(METRIC.length());
                metrics.put(metric, matrix(file, metric, v, integer(file, meta, METRIC_TASKS + metric + TASKS_SUFFIX)));
            } else {
                throw refused(file, "it holds an unknown tensor '" + name + "'");
            }
        }
        meta.forEach((k, v) -> {
            if (k.startsWith(STATE_PROPERTY)) state.put(k.substring(STATE_PROPERTY.length()), v);
            else if (k.startsWith(CONFIG)) config.put(k.substring(CONFIG.length()), v);
        });
        RunIdentity id = new RunIdentity(required(file, meta, "method"), required(file, meta, "model"),
                required(file, meta, "dataset"), required(file, meta, "class_order"),
                longValue(file, meta, "seed"));
        return new Checkpoint(file, integer(file, meta, "task"), id, state, metrics, config);
    }

    private static AccuracyMatrix matrix(Path file, String name, double[] triangle, int tasks) {
        if (tasks < 1 || tasks > MAX_TASKS) {
            throw refused(file, "metric '" + name + "' is of " + tasks + " tasks (1 to " + MAX_TASKS + " are possible)");
        }
        long rows = 0;
        while (rows * (rows + 1) / 2 < triangle.length) rows++;
        if (rows * (rows + 1) / 2 != triangle.length || tasks < rows) {
            throw refused(file, "metric '" + name + "' has " + triangle.length + " values, not the rows of a "
                    + tasks + "-task matrix");
        }
        AccuracyMatrix m = new AccuracyMatrix(tasks);
        for (int i = 0, k = 0; i < rows; k += ++i) m.setRow(i, Arrays.copyOfRange(triangle, k, k + i + 1));
        return m;
    }

    private static String required(Path file, Map<String, String> meta, String key) {
        String v = meta.get(key);
        if (v == null) throw refused(file, "its metadata has no '" + key + "'");
        return v;
    }

    private static long longValue(Path file, Map<String, String> meta, String key) {
        String v = required(file, meta, key);
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw refused(file, "its metadata '" + key + "' is not an integer: '" + v + "'");
        }
    }

    private static int integer(Path file, Map<String, String> meta, String key) {
        long v = longValue(file, meta, key);
        if (v < 0 || v > Integer.MAX_VALUE) throw refused(file, "its metadata '" + key + "' = " + v + " is out of range");
        return (int) v;
    }

    // ------------------------------------------------------------------ checksum

    private static Map<String, Object> tensorsInOrder(Map<String, float[]> floats, Map<String, double[]> doubles) {
        Map<String, Object> all = new TreeMap<>(floats);
        all.putAll(doubles);
        return all;
    }

    /** SHA-256 of the metadata (without the checksum) and of the tensors in name order; see the class comment. */
    private static String digest(SortedMap<String, String> meta, Map<String, Object> tensors, Map<String, long[]> shapes) {
        MessageDigest sha = sha256();
        meta.forEach((k, v) -> {
            if (!k.equals(CHECKSUM)) {
                field(sha, k);
                field(sha, v);
            }
        });
        for (Map.Entry<String, Object> t : new TreeMap<>(tensors).entrySet()) {
            field(sha, t.getKey());
            field(sha, t.getValue() instanceof float[] ? "F32" : "F64");
            StringBuilder shape = new StringBuilder();
            for (long d : shapes.get(t.getKey())) shape.append(shape.length() == 0 ? "" : ",").append(d);
            field(sha, shape.toString());
            values(sha, t.getValue());
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private static void field(MessageDigest sha, String s) {
        sha.update(s.getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
    }

    private static void values(MessageDigest sha, Object values) {
        if (values instanceof float[] f) {
            ByteBuffer b = ByteBuffer.allocate(f.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(f);
            sha.update(b);
        } else {
            double[] d = (double[]) values;
            ByteBuffer b = ByteBuffer.allocate(d.length * Double.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            b.asDoubleBuffer().put(d);
            sha.update(b);
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    private static CheckpointException refused(Path file, String why) {
        return new CheckpointException("checkpoint " + file + " refused: " + why);
    }

    private static CheckpointException refused(Path file, String why, Throwable cause) {
        return new CheckpointException("checkpoint " + file + " refused: " + why, cause);
    }
}
