package io.starprompt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.method.Checkpoints;
import io.starprompt.util.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash consistency: training JVMs killed with SIGKILL ({@link Process#destroyForcibly()}) at
 * seeded points — after a seeded delay, anywhere in a run, and inside checkpoint writes (the
 * writer paused after a seeded number of bytes of its temporary file, or after all of them but
 * before the rename) — leave a run folder that holds only complete checkpoints, and every run
 * resumed from it continues after its last complete task and ends with exactly the accuracy
 * matrices (class-IL and task-IL, with every summary metric) and the final state of an
 * uninterrupted run.
 *
 * <p>Kill points come in chains: a fresh run is killed, resumed in a new JVM, killed again,
 * resumed again... and the last resume runs to the end, so that every resume continues a folder
 * left by a kill, some of them by a resumed run. The number of kill points survived is printed.
 */
class CrashConsistencyTest {
    private static final long SEED = Long.getLong("starprompt.crash.seed", 20_261_206L);
    private static final int TASKS = 4;
    private static final int CHAINS = 4;
    private static final int KILLS_PER_CHAIN = 6;
    private static final int REQUIRED_KILLS = 20;
    private static final String CKPT = "checkpoints/star-prompt/";
    private static final Pattern RESUMED = Pattern.compile("resumed after task (\\d+)");

    /** A child JVM of the command line, its output in a log file. */
    private record Child(Process process, Path log, long started) {
        String output() throws IOException {
            return Files.exists(log) ? Files.readString(log) : "";
        }
    }

    private static Child start(List<String> args, Path log, String pauseAt) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
        if (pauseAt != null) cmd.add("-Dstarprompt.checkpoint.pause-at=" + pauseAt);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        return new Child(p, log, System.nanoTime());
    }

    private static List<String> fresh(List<String> base, Path run) {
        List<String> args = new ArrayList<>(List.of("train", "--out", run.toString()));
        args.addAll(base);
        return args;
    }

    private static List<String> resume(Path run) {
        return List.of("train", "--resume", run.toString(), "--backend", "cpu");
    }

    @Test
    void killedRunsResumeToTheMetricsOfAnUninterruptedRun(@TempDir Path dir) throws Exception {
        long testStart = System.nanoTime();
        List<String> base = TrainTest.setUp(dir);
        base.addAll(List.of("--tasks", Integer.toString(TASKS), "--epochs", "1", "--batch", "8", "--seed", "11",
                "--image-size", "32", "--threads", "1", "--backend", "cpu", "--set", "baselines=none"));

        // The uninterrupted reference, in a child JVM like the others; its length spreads the timed kills.
        Path reference = dir.resolve("reference");
        Child ref = start(fresh(base, reference), dir.resolve("reference.log"), null);
        assertTrue(ref.process().waitFor(5, TimeUnit.MINUTES), "reference run did not end");
        double refSeconds = (System.nanoTime() - ref.started()) / 1e9;
        assertEquals(0, ref.process().exitValue(), ref.output());
        long[] checkpointBytes = new long[TASKS + 1];
        for (int t = 1; t <= TASKS; t++) checkpointBytes[t] = Files.size(reference.resolve(CKPT + name(t)));

        Random rnd = new Random(SEED);
        int kills = 0, inWrite = 0, beforeSettings = 0, endedFirst = 0;
        for (int chain = 0; chain < CHAINS || (kills < REQUIRED_KILLS && chain < 3 * CHAINS); chain++) {
            Path run = dir.resolve("chain-" + chain);
            int complete = 0;
            for (int k = 0; ; k++) {
                boolean settings = Files.isRegularFile(run.resolve(Train.SETTINGS_FILE));
                List<String> args = settings ? resume(run) : fresh(base, run);
                Path log = dir.resolve("chain-" + chain + "-" + k + ".log");
                if (k == KILLS_PER_CHAIN) { // the last one runs to the end
                    Child last = start(args, log, null);
                    assertTrue(last.process().waitFor(5, TimeUnit.MINUTES), "final resume did not end");
                    assertEquals(0, last.process().exitValue(), last.output());
                    checkResumedAfter(last.output(), complete, settings);
                    break;
                }
                boolean pause = complete < TASKS && rnd.nextInt(3) == 0;
                int pauseTask = complete + 1 + (pause && complete + 2 <= TASKS ? rnd.nextInt(2) : 0);
                long pauseBytes = pause ? (long) (rnd.nextDouble() * 1.05 * checkpointBytes[pauseTask]) : -1;
                Child child = start(args, log, pause ? pauseTask + ":" + pauseBytes : null);
                boolean killed = pause ? killWhenPaused(child) : killAfter(child,
                        rnd.nextDouble() * refSeconds * (TASKS - complete + 1.0) / TASKS);
                if (!killed) { // it ended on its own: a complete run, and the end of this chain
                    assertEquals(0, child.process().exitValue(), child.output());
                    checkResumedAfter(child.output(), complete, settings);
                    endedFirst++;
                    break;
                }
                kills++;
                if (pause) inWrite++;
                if (!Files.isRegularFile(run.resolve(Train.SETTINGS_FILE))) beforeSettings++;
                String out = child.output();
                if (settings && out.contains("resumed after")) checkResumedAfter(out, complete, true);
                int now = checkFolder(run, pause ? pauseTask : -1, pauseBytes, checkpointBytes);
                assertTrue(now >= complete, "checkpoints went back from " + complete + " to " + now);
                complete = now;
            }
            assertEquals(metrics(reference), metrics(run), "chain " + chain);
            assertEquals(Checkpoints.read(reference.resolve(CKPT + name(TASKS))).state(),
                    Checkpoints.read(run.resolve(CKPT + name(TASKS))).state(), "final state of chain " + chain);
        }
        System.out.printf(Locale.ROOT, "crash consistency: %d kill points survived (%d inside a checkpoint write, %d before"
                + " the settings were saved), %d runs ended before their kill; reference run %.1f s, whole test %.1f s"
                + " (seed %d)%n", kills, inWrite, beforeSettings, endedFirst, refSeconds,
                (System.nanoTime() - testStart) / 1e9, SEED);
        assertTrue(kills >= REQUIRED_KILLS, "only " + kills + " kill points");
        assertTrue(inWrite >= 3, "only " + inWrite + " kills inside a checkpoint write");
    }

    private static String name(int task) {
        return String.format(Locale.ROOT, "task-%03d.ckpt", task);
    }

    /** SIGKILL after the delay; false if the process ended before it. */
    private static boolean killAfter(Child child, double seconds) throws InterruptedException {
        if (child.process().waitFor((long) (seconds * 1000), TimeUnit.MILLISECONDS)) return false;
        child.process().destroyForcibly();
        child.process().waitFor();
        return true;
    }

    /** SIGKILL once the checkpoint writer reports its pause; false if the process ended first. */
    private static boolean killWhenPaused(Child child) throws InterruptedException, IOException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        while (!child.output().contains("checkpoint write paused")) {
            if (!child.process().isAlive()) return false;
            assertTrue(System.nanoTime() < deadline, "no pause within 5 minutes: " + child.output());
            Thread.sleep(10);
        }
        child.process().destroyForcibly();
        child.process().waitFor();
        return true;
    }

    /**
     * What a killed run leaves: checkpoints task-001 … task-k, every one complete; for a kill
     * inside the write of task j, k = j − 1 and the temporary file holds the bytes written so far.
     * Returns k.
     */
    private static int checkFolder(Path run, int pausedTask, long pausedBytes, long[] sizes) throws IOException {
        Path dir = run.resolve(CKPT);
        int k = 0;
        List<String> temporaries = new ArrayList<>();
        if (Files.isDirectory(dir)) {
            try (Stream<Path> files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    String n = f.getFileName().toString();
                    if (n.endsWith(".tmp")) temporaries.add(n);
                    else if (n.matches("task-\\d{3}\\.ckpt")) k = Math.max(k, Integer.parseInt(n.substring(5, 8)));
                    else throw new AssertionError("unexpected file " + f);
                }
            }
        }
        for (int t = 1; t <= k; t++) {
            Path f = dir.resolve(name(t));
            assertTrue(Files.isRegularFile(f), "checkpoints are consecutive: " + f + " is missing");
            assertEquals(t - 1, Checkpoints.read(f).task(), "complete and readable: " + f);
        }
        if (pausedTask > 0) {
            assertEquals(pausedTask - 1, k, "killed inside the write of task " + pausedTask);
            assertEquals(1, temporaries.size(), "one temporary file: " + temporaries);
            assertTrue(temporaries.get(0).startsWith("." + name(pausedTask) + "."), temporaries.toString());
            long size = Files.size(dir.resolve(temporaries.get(0)));
            assertEquals(Math.min(pausedBytes, sizes[pausedTask]), size, "bytes written before the kill");
        }
        assertTrue(temporaries.size() <= 1, "stale temporary files are removed by the next write: " + temporaries);
        assertFalse(k < TASKS && Files.exists(run.resolve("results.json")), "no reports before the last task");
        return k;
    }

    private static void checkResumedAfter(String output, int complete, boolean resumed) {
        Matcher m = RESUMED.matcher(output);
        if (!resumed || complete == 0) {
            assertFalse(m.find(), "a fresh start or an empty folder: " + output);
            return;
        }
        assertTrue(m.find(), "no resume line: " + output);
        assertEquals(complete, Integer.parseInt(m.group(1)), "resumed after the last complete task: " + output);
    }

    private static Object metrics(Path run) throws IOException {
        Object star = Json.path(Json.parse(Files.readString(run.resolve("results.json"))), "methods", "STAR-Prompt");
        return List.of(Json.path(star, "class_il"), Json.path(star, "task_il"));
    }
}
