package io.starprompt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import io.starprompt.util.Json;
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

    @Test
    void benchTimesEveryVariantWithItsBaseline() {
        CliRun r = CliRun.of("bench", "--backend", "cpu", "--batch", "1", "--runs", "1", "--model-size", "none");
        assertEquals(0, r.exit(), r.all());
        for (String part : List.of("attention forward", "tiled", "naive", "retrieval", "fused", "1.00x")) {
            assertTrue(r.out().contains(part), part + " in " + r.all());
        }
        assertOptionError(CliRun.of("bench", "--model-size", "huge"), "--model-size");
    }

    @Test
    void jsonLinesAreOneObjectPerLineWithASummaryPerMethod(@TempDir Path out) {
        CliRun r = CliRun.of("demo", "--classes", "4", "--epochs", "1", "--backend", "cpu", "--json-lines", "--out",
                out.toString());
        assertEquals(0, r.exit(), r.all());
        List<Object> events = r.out().lines().map(l -> Json.parse(l)).toList();
        assertTrue(events.stream().anyMatch(e -> "epoch".equals(Json.path(e, "event"))), r.out());
        List<Object> summaries = events.stream().filter(e -> "summary".equals(Json.path(e, "event"))).toList();
        assertEquals(5, summaries.size(), r.out());
        assertEquals("STAR-Prompt", Json.path(summaries.get(0), "method"));
    }

    static void assertOptionError(CliRun r, String option) {
        assertEquals(2, r.exit(), r.all());
        assertTrue(r.err().contains(option), r.all());
        assertTrue(r.err().contains("Usage: starprompt") || r.err().contains("Possible solutions"), r.all());
    }

    @Test
    void demoPrintsEveryMethodAndWritesTheReports(@TempDir Path out) throws Exception {
        CliRun r = CliRun.of("demo", "--classes", "4", "--tasks", "2", "--epochs", "2", "--seed", "3", "--backend", "cpu",
                "--out", out.toString());
        assertEquals(0, r.exit(), r.all());
        for (String part : List.of("task 2/2 second stage epoch 2", "STAR-Prompt", "first stage only",
                "CLIP with fixed prompts", "FAA", "forgetting", "Task-IL FAA")) {
            assertTrue(r.out().contains(part), part + " in " + r.all());
        }
        Object results = Json.parse(Files.readString(out.resolve("results.json")));
        Object star = Json.path(results, "methods", "STAR-Prompt", "class_il");
        assertEquals(2, ((List<?>) Json.path(star, "accuracy")).size(), "one row per task");
        double faa = Json.doubleAt(star, "faa");
        assertTrue(faa >= 0 && faa <= 100);
        assertTrue(r.out().contains(String.format(java.util.Locale.ROOT, "%.2f", faa)), "summary shows the FAA " + faa);
        assertTrue(Files.readString(out.resolve("metrics.csv")).contains("STAR-Prompt,class_il,2,average_accuracy"));
        for (String png : List.of("accuracy_matrix.png", "seen_accuracy.png")) {
            assertTrue(javax.imageio.ImageIO.read(out.resolve(png).toFile()).getWidth() > 100, png);
        }
    }
}
