package io.starprompt.fuzz;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.cl.AccuracyMatrix;
import io.starprompt.method.CheckpointException;
import io.starprompt.method.Checkpoints;
import io.starprompt.method.MethodState;
import io.starprompt.method.RunIdentity;
import io.starprompt.model.safetensors.SafetensorsDType;
import io.starprompt.model.safetensors.SafetensorsException;
import io.starprompt.model.safetensors.SafetensorsFile;
import io.starprompt.model.safetensors.SafetensorsWriter;
import io.starprompt.model.safetensors.TensorInfo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The run-checkpoint reader ({@link Checkpoints#read(Path)}) on mutated checkpoints: every case
 * reads back a checkpoint or is refused with a {@link CheckpointException} naming the file.
 *
 * <p>Two targets. The first reads the mutated bytes as they are: almost every mutation is caught
 * by the container or the checksum. The second re-signs every mutated file that is still a
 * safetensors container (its SHA-256 recomputed as the format describes, the file rewritten), as
 * anyone can: a checksum detects damage, not intent, so everything behind it — task numbers,
 * matrix sizes, unknown tensors, versions — must be checked as carefully as the container.
 */
class CheckpointFuzzTest {
    @TempDir(factory = Fuzzer.MemoryTempDir.class)
    static Path dir;

    private static final RunIdentity IDENTITY = new RunIdentity("star-prompt", "vit 2x8, clip 2x8", "fuzz data (6 classes)",
            "0,1,2,3,4,5", 7);

    private static AccuracyMatrix matrix(int tasks, int rows, double base) {
        AccuracyMatrix m = new AccuracyMatrix(tasks);
        for (int i = 0; i < rows; i++) {
            double[] row = new double[i + 1];
            for (int j = 0; j <= i; j++) row[j] = base + 10 * i + j;
            m.setRow(i, row);
        }
        return m;
    }

    private static float[] floats(int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (i % 7 - 3) * scale;
        return v;
    }

    /** Checkpoints as a run writes them: state arrays of both widths, properties, matrices, the runner's settings. */
    static byte[][] seeds() throws IOException {
        Path seedDir = Files.createDirectories(dir.resolve("seeds"));
        MethodState full = new MethodState()
                .putFloats("first_stage/ctx", floats(6 * 8, 0.02f), 6, 1, 8)
                .putFloats("first_stage/keys", floats(6 * 4, 0.25f), 6, 4)
                .putFloats("second_stage/head.bias", floats(6, 0.1f), 6)
                .putDoubles("first_stage/mixture.0.means", new double[] {0.5, -0.25, 1, 2}, 1, 4)
                .putFloats("empty", new float[0], 0, 3)
                .put("tasks_learned", 2).put("config", "lr=0.001;epochs=2").put("seed", 7);
        Map<String, AccuracyMatrix> metrics = new LinkedHashMap<>();
        metrics.put("class_il", matrix(3, 2, 50));
        metrics.put("task_il", matrix(3, 2, 70));
        metrics.put("first_stage", matrix(3, 2, 40));
        Map<String, String> config = new TreeMap<>(Map.of("tasks", "3", "batch", "8", "data.path", "/data/x"));
        Path a = Checkpoints.write(seedDir.resolve("a"), 1, IDENTITY, full, metrics, config);

        MethodState small = new MethodState().putFloats("w", new float[] {1, 2}, 2).put("tasks_learned", 1);
        Path b = Checkpoints.write(seedDir.resolve("b"), 0, IDENTITY.withDataset("other"), small,
                Map.of("class_il", matrix(1, 1, 90)), Map.of());
        return new byte[][] {Files.readAllBytes(a), Files.readAllBytes(b)};
    }

    /** Everything a resuming runner reads from a checkpoint. */
    private static void readEverything(Path file) {
        try {
            Checkpoints.Checkpoint cp = Checkpoints.read(file);
            MethodState s = cp.state();
            for (String name : s.names()) {
                if (s.isDouble(name)) s.doubles(name, s.shape(name));
                else s.floats(name, s.shape(name));
            }
            cp.metrics().forEach((name, m) -> {
                for (int i = 0; i < m.rows(); i++) m.row(i);
                m.toJson();
            });
            cp.identity().mismatch(IDENTITY);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A checkpoint file target: refusals are CheckpointExceptions, reported by their reason. */
    private static Fuzzer checkpointTarget(String name, byte[][] seeds, Path file, Consumer<Path> read) {
        return Fuzzer.target(name).seeds(seeds).parseFile(file, read).documented(CheckpointException.class)
                .kindAfter("refused: ");
    }

    @Test
    void checkpointReader() throws IOException {
        checkpointTarget("checkpoint", seeds(), dir.resolve("task-002.ckpt"), CheckpointFuzzTest::readEverything).run();
    }

    @Test
    void checkpointReaderBehindAValidChecksum() throws IOException {
        Path file = dir.resolve("task-003.ckpt");
        byte[][] seeds = seeds();
        for (byte[] seed : seeds) { // the re-signer must agree with the writer, or this target tests nothing
            Files.write(file, seed);
            Checkpoints.read(resigned(file));
            if (!Arrays.equals(seed, Files.readAllBytes(file))) throw new AssertionError("re-signing changed a valid file");
        }
        checkpointTarget("checkpoint re-signed", seeds, file, f -> readEverything(resigned(f))).run();
    }

    /** Found by the re-signed target: sizes behind a valid checksum are refused before anything is allocated for them. */
    @Test
    void forgedSizesBehindAValidChecksumAreRefusedCheaply() throws IOException {
        Path file = dir.resolve("task-002.ckpt");
        byte[] seed = seeds()[0];
        Map<String, String> forgeries = new LinkedHashMap<>();
        forgeries.put("metric.class_il.tasks", "2147483647");
        forgeries.put("metric.task_il.tasks", "65537");
        forgeries.put("metric.first_stage.tasks", "0");
        forgeries.put("task", "2147483648");
        forgeries.put("format_version", "2");
        for (Map.Entry<String, String> f : forgeries.entrySet()) {
            Files.write(file, seed);
            resigned(file, meta -> meta.put(f.getKey(), f.getValue()));
            CheckpointException[] thrown = new CheckpointException[1];
            long allocated = Fuzzer.allocationOf(() -> {
                try {
                    Checkpoints.read(file);
                } catch (CheckpointException e) {
                    thrown[0] = e;
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            assertNotNull(thrown[0], f + " was accepted");
            assertTrue(thrown[0].getMessage().contains(file.toString()), thrown[0].getMessage());
            assertTrue(allocated < (4 << 20), f + ": refusing allocated " + allocated + " bytes");
        }
    }

    // ------------------------------------------------------------------ re-signing

    /**
     * Rewrites a file that is still a safetensors container of F32/F64 tensors with the checksum
     * its contents call for; leaves any other file as it is.
     */
    static Path resigned(Path file) {
        return resigned(file, meta -> { });
    }

    /** As {@link #resigned(Path)}, with the metadata edited first. */
    static Path resigned(Path file, Consumer<SortedMap<String, String>> edit) {
        SortedMap<String, String> meta;
        Map<String, float[]> floats = new TreeMap<>();
        Map<String, double[]> doubles = new TreeMap<>();
        Map<String, long[]> shapes = new TreeMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            meta = new TreeMap<>(f.metadata());
            for (String name : f.names()) {
                TensorInfo info = f.info(name);
                shapes.put(name, info.shape());
                if (info.dtype() == SafetensorsDType.F32) floats.put(name, f.readFloats(name, info.shape()));
                else if (info.dtype() == SafetensorsDType.F64) doubles.put(name, f.readDoubles(name, info.shape()));
                else return file; // the reader refuses other dtypes before the checksum
            }
        } catch (SafetensorsException | IOException e) {
            return file; // not a container any more: the first target's business
        }
        meta.remove("sha256");
        edit.accept(meta);
        meta.put("sha256", checksum(meta, floats, doubles, shapes));
        try {
            SafetensorsWriter.write(file, floats, doubles, shapes, meta);
        } catch (IllegalArgumentException | IOException e) {
            return file; // a name the writer does not take (the reader refuses it anyway)
        }
        return file;
    }

    /** The checksum as the {@link Checkpoints} class comment defines it (written from that text). */
    private static String checksum(SortedMap<String, String> meta, Map<String, float[]> floats,
            Map<String, double[]> doubles, Map<String, long[]> shapes) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        meta.forEach((k, v) -> {
            if (!k.equals("sha256")) {
                field(sha, k);
                field(sha, v);
            }
        });
        for (String name : new TreeMap<>(shapes).keySet()) {
            field(sha, name);
            field(sha, floats.containsKey(name) ? "F32" : "F64");
            StringBuilder shape = new StringBuilder();
            for (long d : shapes.get(name)) shape.append(shape.length() == 0 ? "" : ",").append(d);
            field(sha, shape.toString());
            if (floats.containsKey(name)) {
                float[] v = floats.get(name);
                ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                b.asFloatBuffer().put(v);
                sha.update(b);
            } else {
                double[] v = doubles.get(name);
                ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
                b.asDoubleBuffer().put(v);
                sha.update(b);
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private static void field(MessageDigest sha, String s) {
        sha.update(s.getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
    }
}
