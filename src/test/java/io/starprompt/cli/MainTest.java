package io.starprompt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.backend.Backend;
import io.starprompt.backend.cpu.CpuBackend;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MainTest {
    @Test
    void optionErrorsNameTheOptionAndShowTheUsage() {
        assertOptionError(CliRun.of("--clases", "4"), "--clases");
        assertOptionError(CliRun.of("demo", "--epochs", "x"), "--epochs");
        assertOptionError(CliRun.of("--seed"), "--seed");
        assertOptionError(CliRun.of("train"), "--data");
        assertOptionError(CliRun.of("bogus-command"), "bogus-command");
        assertOptionError(CliRun.of("demo", "--epochs", "0"), "--epochs must be a positive integer");
        assertOptionError(CliRun.of("--classes", "5", "--tasks", "2"), "not a multiple of --tasks");
    }

    @Test
    void runtimeErrorsAreOneLineWithoutUsage() {
        for (CliRun r : List.of(CliRun.of("--backend", "nosuch"), CliRun.of("--backend", "cpu:nosuch"))) {
            assertEquals(1, r.exit(), r.all());
            assertEquals(1, r.err().strip().lines().count(), r.all());
            assertTrue(r.err().startsWith("starprompt: "), r.all());
            assertFalse(r.err().contains("Usage"), r.all());
        }
        assertTrue(CliRun.of("--backend", "nosuch").err().contains("nosuch"));
    }

    @Test
    void versionAndHelp() {
        CliRun v = CliRun.of("--version");
        assertEquals(0, v.exit(), v.all());
        assertTrue(v.out().startsWith("starprompt 0."), v.all());
        CliRun h = CliRun.of("--help");
        assertEquals(0, h.exit());
        for (String command : List.of("demo", "train", "check-kernels")) assertTrue(h.out().contains(command), h.out());
    }

    @Test
    void checkKernelsAgreesWithTheReference() {
        CliRun r = CliRun.of("check-kernels");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().contains("cpu") && r.out().contains("ok"), r.all());
    }

    static void assertOptionError(CliRun r, String option) {
        assertEquals(2, r.exit(), r.all());
        assertTrue(r.err().contains(option), r.all());
        assertTrue(r.err().contains("Usage: starprompt") || r.err().contains("Possible solutions"), r.all());
    }

    @Test
    void demoLearnsAndWritesTheAccuracyMatrix(@TempDir Path out) throws Exception {
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        try (Backend be = new CpuBackend(); PrintStream ps = new PrintStream(text, true, StandardCharsets.UTF_8);
                Console console = Console.of(ps, Console.Mode.PLAIN)) {
            Demo.run(be, new Demo.Options(4, 2, 2, 16, 3, out), console);
        }
        String printed = text.toString(StandardCharsets.UTF_8);
        assertTrue(printed.contains("FAA") && printed.contains("second stage"), printed);
        String json = Files.readString(out.resolve("accuracy.json"));
        assertTrue(json.contains("\"faa\"") && json.contains("\"forgetting\""), json);
        assertTrue(Files.readAllLines(out.resolve("accuracy.csv")).size() >= 2, "one CSV row per task");
    }
}
