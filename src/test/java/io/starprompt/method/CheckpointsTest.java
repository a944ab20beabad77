package io.starprompt.method;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.cl.AccuracyMatrix;
import io.starprompt.model.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The checkpoint file format: round trip, atomic writing, and every kind of refusal. */
class CheckpointsTest {
    private static final RunIdentity ID = new RunIdentity("toy-method", "ViT[tiny]; 4 classes", "toy data; tasks [2, 2]",
            "a | b | c | d", 7);

    private static MethodState state() {
        return new MethodState().put("tasks_learned", 2).put("config", "cfg[x=1]")
                .putFloats("prompts", new float[] {1.5f, -2f, 3.25f, 0f, 1e-30f, -0f}, 2, 3)
                .putDoubles("mixture.weights", new double[] {0.25, 0.75 + 1e-12}, 2)
                .putDoubles("mixture.means", new double[] {Math.PI, -Math.E, 1e300, 4.9e-324}, 2, 2);
    }

    private static Map<String, AccuracyMatrix> metrics() {
        return Map.of("class_il", AccuracyMatrix.of(new double[][] {{90.5, 0}, {80.25, 70}}),
                "task_il", AccuracyMatrix.of(new double[][] {{91, 0}, {85.125, 72}}));
    }

    private static Path written(Path dir, int task) throws IOException {
        return Checkpoints.write(dir, task, ID, state(), metrics(), Map.of("epochs", "5", "preset", "seq-toy"));
    }

    @Test
    void roundTripKeepsEveryBitAndLeavesNoTemporaryFile(@TempDir Path dir) throws IOException {
        Path file = written(dir, 1);
        assertEquals(dir.resolve("task-002.ckpt"), file);
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList());
        }
        Checkpoints.Checkpoint cp = Checkpoints.read(file, ID);
        assertEquals(1, cp.task());
        assertEquals(ID, cp.identity());
        assertEquals(state(), cp.state());
        assertTrue(cp.state().isDouble("mixture.means"));
        assertEquals(Map.of("epochs", "5", "preset", "seq-toy"), cp.config());
        for (String m : List.of("class_il", "task_il")) {
            assertEquals(2, cp.metrics().get(m).rows());
            for (int i = 0; i < 2; i++) assertArrayEquals(metrics().get(m).row(i), cp.metrics().get(m).row(i), 0.0);
        }
    }

    @Test
    void latestIsTheHighestTaskAndIgnoresTemporaryFiles(@TempDir Path dir) throws IOException {
        assertTrue(Checkpoints.latest(dir.resolve("none")).isEmpty());
        written(dir, 0);
        written(dir, 1);
        Files.writeString(dir.resolve(".task-003.ckpt.123.tmp"), "half");
        Files.writeString(dir.resolve("notes.txt"), "x");
        assertEquals(dir.resolve("task-002.ckpt"), Checkpoints.latest(dir).orElseThrow());
        // Writing the same task again replaces the file.
        written(dir, 1);
        assertEquals(state(), Checkpoints.read(dir.resolve("task-002.ckpt")).state());
    }

    @Test
    void aTemporaryFileLeftByAKilledWriterIsRemovedWhenTheCheckpointIsWrittenAgain(@TempDir Path dir) throws IOException {
        written(dir, 0);
        Path stale = Files.writeString(dir.resolve(".task-002.ckpt.4711.tmp"), "half a checkpoint");
        Path otherTask = Files.writeString(dir.resolve(".task-003.ckpt.4712.tmp"), "another half");
        Path notOurs = Files.writeString(dir.resolve("task-002.ckpt.notes.tmp"), "kept");
        written(dir, 1);
        assertFalse(Files.exists(stale), "the stale temporary file of task-002.ckpt is gone");
        assertTrue(Files.exists(otherTask) && Files.exists(notOurs), "other files are left alone");
        assertEquals(state(), Checkpoints.read(dir.resolve("task-002.ckpt")).state());
    }

    @Test
    void aTruncatedCheckpointIsRefusedAndThePreviousOneStillWorks(@TempDir Path dir) throws IOException {
        Path previous = written(dir, 0), last = written(dir, 1);
        long size = Files.size(last);
        for (long keep : new long[] {size - 1, size / 2, 12, 4, 0}) {
            try (RandomAccessFile f = new RandomAccessFile(last.toFile(), "rw")) {
                f.setLength(keep);
            }
            CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoints.read(last, ID));
            assertTrue(e.getMessage().contains("task-002.ckpt") && e.getMessage().contains("truncated or corrupt"),
                    keep + " bytes: " + e.getMessage());
        }
        assertEquals(last, Checkpoints.latest(dir).orElseThrow());
        assertEquals(state(), Checkpoints.read(previous, ID).state());
    }

    @Test
    void aFlippedBitIsRefusedByTheChecksum(@TempDir Path dir) throws IOException {
        Path file = written(dir, 1);
        byte[] clean = Files.readAllBytes(file);
        // In the tensor data (the end of the file) and in a metadata value (the header).
        int inHeader = indexOf(clean, "toy data".getBytes(StandardCharsets.UTF_8));
        for (int at : new int[] {clean.length - 3, clean.length - 40, inHeader}) {
            byte[] bad = clean.clone();
            bad[at] ^= 0x01;
            Files.write(file, bad);
            CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoints.read(file));
            assertTrue(e.getMessage().contains("checksum"), "byte " + at + ": " + e.getMessage());
        }
    }

    @Test
    void aCheckpointOfAnotherRunIsRefusedSayingWhichAndWhy(@TempDir Path dir) throws IOException {
        Path file = written(dir, 1);
        Map<String, Function<RunIdentity, RunIdentity>> others = Map.of(
                "dataset", id -> id.withDataset("cifar100; tasks [2, 2]"),
                "class order", id -> id.withClassOrder("b | a | c | d"),
                "model", id -> new RunIdentity(id.method(), "ViT[base]; 4 classes", id.dataset(), id.classOrder(), id.seed()),
                "method", id -> new RunIdentity("other-method", id.model(), id.dataset(), id.classOrder(), id.seed()),
                "seed", id -> new RunIdentity(id.method(), id.model(), id.dataset(), id.classOrder(), 8));
        for (Map.Entry<String, Function<RunIdentity, RunIdentity>> o : others.entrySet()) {
            RunIdentity expected = o.getValue().apply(ID);
            CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoints.read(file, expected));
            assertTrue(e.getMessage().contains("task-002.ckpt") && e.getMessage().contains("another " + o.getKey()),
                    o.getKey() + ": " + e.getMessage());
        }
    }

    @Test
    void otherFilesAndFormatVersionsAreRefused(@TempDir Path dir) throws IOException {
        Path plain = dir.resolve("weights.safetensors");
        SafetensorsWriter.write(plain, Map.of("w", new float[] {1}), Map.of("w", new long[] {1}));
        assertTrue(assertThrows(CheckpointException.class, () -> Checkpoints.read(plain)).getMessage()
                .contains("not a " + Checkpoints.FORMAT));
        Path newer = dir.resolve("task-000.ckpt");
        SafetensorsWriter.write(newer, Map.of("w", new float[] {1}), Map.of("w", new long[] {1}),
                Map.of("format", Checkpoints.FORMAT, "format_version", "2"));
        assertTrue(assertThrows(CheckpointException.class, () -> Checkpoints.read(newer)).getMessage()
                .contains("format version 2"));
        Path text = dir.resolve("task-003.ckpt");
        Files.writeString(text, "not a checkpoint at all");
        assertTrue(assertThrows(CheckpointException.class, () -> Checkpoints.read(text)).getMessage()
                .contains("truncated or corrupt"));
    }

    @Test
    void stateReadsCheckNamesAndShapes() {
        MethodState s = state();
        assertEquals("state entry 'prompts' has shape [2, 3], this model needs [3, 2]",
                assertThrows(CheckpointException.class, () -> s.floats("prompts", 3, 2)).getMessage());
        assertTrue(assertThrows(CheckpointException.class, () -> s.floats("head", 2)).getMessage().contains("missing"));
        assertTrue(assertThrows(CheckpointException.class, () -> s.requireProperty("config", "cfg[x=2]")).getMessage()
                .contains("'cfg[x=1]'"));
        assertThrows(IllegalArgumentException.class, () -> s.putFloats("bad", new float[3], 2, 2));
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) if (haystack[i + j] != needle[j]) continue outer;
            return i;
        }
        throw new AssertionError("not found");
    }
}
