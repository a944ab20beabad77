package io.starprompt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.data.sets.ImageFoldersTest;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a new user meets first, run as a user runs it: {@code starprompt train} in its own JVM,
 * started in a fresh folder. Random bytes given as weights, a truncated checkpoint to resume, a
 * config file with a value of the wrong type and a dataset of corrupt images each end with exit
 * code 1 and a one-line error naming the file (the dataset adds one line per bad file), never a
 * stack trace, and no JVM crash file is left anywhere.
 */
class NewUserErrorsTest {
    /** A finished child JVM: its exit code and what it printed. */
    private record Child(int exit, String out, String err) {
        String all() {
            return "exit " + exit + "\n--- stdout\n" + out + "\n--- stderr\n" + err;
        }
    }

    private static Child starprompt(Path workDir, List<String> args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(args);
        Path out = workDir.resolve("stdout.txt"), err = workDir.resolve("stderr.txt");
        Process p = new ProcessBuilder(cmd).directory(workDir.toFile()).redirectOutput(out.toFile())
                .redirectError(err.toFile()).start();
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("starprompt " + args + " did not end within 5 minutes");
        }
        return new Child(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    /** Exit 1, the error as the only line on stderr (starting "starprompt: " and naming what), no stack trace. */
    private static void assertOneLineError(Child r, String... names) {
        assertEquals(1, r.exit(), r.all());
        List<String> lines = r.err().strip().lines().toList();
        assertEquals(1, lines.size(), r.all());
        assertTrue(lines.get(0).startsWith("starprompt: "), r.all());
        for (String n : names) assertTrue(lines.get(0).contains(n), "'" + n + "' missing: " + r.all());
        assertNoStackTrace(r);
    }

    private static void assertNoStackTrace(Child r) {
        for (String text : List.of(r.out(), r.err())) {
            assertFalse(text.contains("\tat ") || text.contains("Exception in thread") || text.contains("Caused by"), r.all());
        }
    }

    private static void assertNoCrashFiles(Path... dirs) throws IOException {
        for (Path d : dirs) {
            try (Stream<Path> files = Files.walk(d)) {
                List<Path> crashes = files.filter(f -> f.getFileName().toString().startsWith("hs_err_pid")).toList();
                assertEquals(List.of(), crashes, "JVM crash files");
            }
        }
    }

    private static List<String> train(List<String> base, String... more) {
        List<String> args = new ArrayList<>(List.of("train"));
        args.addAll(base);
        args.addAll(List.of("--image-size", "32", "--backend", "cpu", "--quiet"));
        args.addAll(List.of(more));
        return args;
    }

    @Test
    void randomBytesGivenAsWeights(@TempDir Path dir) throws Exception {
        List<String> base = TrainTest.setUp(dir);
        byte[] noise = new byte[4096];
        new Random(4096).nextBytes(noise);
        Path weights = Files.write(dir.resolve("downloaded.safetensors"), noise);
        base.set(base.indexOf("--vit") + 1, weights.toString());
        Child r = starprompt(dir, train(base, "--tasks", "2", "--out", dir.resolve("out").toString()));
        assertOneLineError(r, weights.toString());
        assertNoCrashFiles(dir);
    }

    @Test
    void aTruncatedCheckpointToResume(@TempDir Path dir) throws Exception {
        List<String> base = TrainTest.setUp(dir);
        Path out = dir.resolve("out");
        CliRun done = CliRun.of(train(base, "--tasks", "2", "--epochs", "1", "--batch", "8", "--set", "baselines=none",
                "--out", out.toString()));
        assertEquals(0, done.exit(), done.all());
        Path last = out.resolve("checkpoints").resolve("star-prompt").resolve("task-002.ckpt");
        try (RandomAccessFile f = new RandomAccessFile(last.toFile(), "rw")) {
            f.setLength(f.length() / 3);
        }
        Child r = starprompt(dir, List.of("train", "--resume", out.toString(), "--backend", "cpu", "--quiet"));
        assertOneLineError(r, last.toString(), "truncated or corrupt", "move it away");
        assertNoCrashFiles(dir);
    }

    @Test
    void aConfigFileWithAValueOfTheWrongType(@TempDir Path dir) throws Exception {
        List<String> base = TrainTest.setUp(dir);
        Path config = dir.resolve("my-settings.json");
        String[][] cases = {
            {"{\"tasks\": \"two\"}", "setting tasks must be a number, got 'two'"},
            {"{\"batch\": 1.5}", "setting batch must be an integer, got 1.5"},
            {"{\"baselines\": 3}", "setting baselines must be a JSON string, got 3"},
            {"[\"tasks\", 2]", "expected a JSON object of settings"},
        };
        for (String[] c : cases) {
            Files.writeString(config, c[0], StandardCharsets.UTF_8);
            Child r = starprompt(dir, train(base, "--config", config.toString(), "--out", dir.resolve("out").toString()));
            assertOneLineError(r, config.toString(), c[1]);
        }
        Files.write(config, new byte[] {'{', '"', (byte) 0xFF, '"', ':', '1', '}'});
        assertOneLineError(starprompt(dir, train(base, "--config", config.toString())), config.toString(), "not UTF-8");
        assertNoCrashFiles(dir);
    }

    @Test
    void aFolderOfCorruptImages(@TempDir Path dir) throws Exception {
        List<String> base = TrainTest.setUp(dir);
        Path data = dir.resolve("corrupt");
        Random rnd = new Random(13);
        int files = 0;
        for (String split : List.of("train", "test")) {
            for (String c : ImageFoldersTest.FOLDERS) {
                Path folder = Files.createDirectories(data.resolve(split).resolve(c));
                for (int i = 0; i < 3; i++, files++) {
                    byte[] b = new byte[16 + rnd.nextInt(2000)];
                    rnd.nextBytes(b);
                    if (i == 0) System.arraycopy(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}, 0, b, 0, 8);
                    Files.write(folder.resolve("img" + i + (i == 1 ? ".jpg" : ".png")), b);
                }
            }
        }
        base.set(base.indexOf("--data") + 1, data.toString());
        Child r = starprompt(dir, train(base, "--tasks", "2", "--out", dir.resolve("out").toString()));
        assertEquals(1, r.exit(), r.all());
        List<String> lines = r.err().strip().lines().toList();
        assertEquals("starprompt: " + data + ": the dataset has " + files + " problems (" + files + " of " + files
                + " image files do not decode); nothing was trained", lines.get(0), r.all());
        // Then one line per bad file (at most 20, then a count), and the way to leave them out.
        for (String line : lines.subList(1, lines.size() - 2)) assertTrue(line.startsWith(data.toString()), line);
        assertEquals("… and " + (files - 20) + " more", lines.get(lines.size() - 2), r.all());
        assertTrue(lines.get(lines.size() - 1).contains("--skip-bad-images"), r.all());
        assertNoStackTrace(r);
        assertFalse(Files.exists(dir.resolve("out").resolve("settings.json")), "nothing written for a refused dataset");
        assertNoCrashFiles(dir);
    }
}
