package io.starprompt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.util.Json;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A training JVM killed with SIGKILL in the middle of a task is resumed from its checkpoints and
 * ends with exactly the metrics of an uninterrupted run; a truncated checkpoint is refused by
 * name, and the one before it still resumes.
 */
class ResumeTest {
    private static final String CKPT = "checkpoints/star-prompt/";

    @Test
    void aKilledRunResumesToTheSameFinalMetrics(@TempDir Path dir) throws Exception {
        List<String> args = TrainTest.setUp(dir);
        args.addAll(List.of("--tasks", "4", "--epochs", "2", "--batch", "8", "--seed", "11", "--image-size", "32",
                "--threads", "1", "--backend", "cpu", "--set", "baselines=none", "--quiet"));

        Path reference = dir.resolve("reference");
        CliRun full = train(args, reference);
        assertEquals(0, full.exit(), full.all());

        Path killed = dir.resolve("killed");
        killDuringTask3(args, killed);
        assertTrue(Files.isRegularFile(killed.resolve(CKPT + "task-002.ckpt")), "two tasks were checkpointed");
        assertFalse(Files.exists(killed.resolve(CKPT + "task-003.ckpt")), "killed before task 3 finished");
        assertFalse(Files.exists(killed.resolve("results.json")), "no reports from the killed run");

        // A truncated latest checkpoint is refused, naming it; the run folder is left as it was.
        Path latest = killed.resolve(CKPT + "task-002.ckpt");
        byte[] whole = Files.readAllBytes(latest);
        try (RandomAccessFile f = new RandomAccessFile(latest.toFile(), "rw")) {
            f.setLength(whole.length / 2);
        }
        CliRun refused = CliRun.of("train", "--resume", killed.toString(), "--backend", "cpu", "--quiet");
        assertEquals(1, refused.exit(), refused.all());
        assertTrue(refused.err().contains("task-002.ckpt") && refused.err().contains("truncated"), refused.all());
        assertEquals(1, refused.err().strip().lines().count(), refused.all());

        // Without it, the checkpoint of task 1 resumes, and the run ends exactly as the uninterrupted one.
        Files.delete(latest);
        CliRun resumed = CliRun.of("train", "--resume", killed.toString(), "--backend", "cpu");
        assertEquals(0, resumed.exit(), resumed.all());
        assertTrue(resumed.out().contains("resumed after task 1"), resumed.all());
        assertEquals(accuracy(reference), accuracy(killed));
    }

    private static CliRun train(List<String> args, Path out) {
        List<String> all = new ArrayList<>(List.of("train", "--out", out.toString()));
        all.addAll(args);
        return CliRun.of(all);
    }

    /** Starts the run in a child JVM and kills it (SIGKILL) as soon as task 2's checkpoint exists. */
    private static void killDuringTask3(List<String> args, Path out) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-cp", System.getProperty("java.class.path"), Main.class.getName(), "train", "--out",
                out.toString()));
        cmd.addAll(args);
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(out.resolveSibling("child.log").toFile()).start();
        try {
            Path second = out.resolve(CKPT + "task-002.ckpt");
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
            while (!Files.exists(second) && child.isAlive() && System.nanoTime() < deadline) Thread.sleep(5);
            assertTrue(child.isAlive(), "the child ended before it could be killed: "
                    + Files.readString(out.resolveSibling("child.log")));
        } finally {
            child.destroyForcibly(); // SIGKILL: no shutdown hooks, no flushing
            child.waitFor();
        }
    }

    private static Object accuracy(Path run) throws IOException {
        return Json.path(Json.parse(Files.readString(run.resolve("results.json"))), "methods", "STAR-Prompt", "class_il",
                "accuracy");
    }
}
