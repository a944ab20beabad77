package io.starprompt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.util.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code compare} end to end on the tiny synthetic stream, and {@code train --method l2p} on an image folder. */
class CompareTest {
    private static final List<String> ALL = List.of("STAR-Prompt", "L2P", "DualPrompt", "CODA-Prompt", "joint training",
            "sequential fine-tuning");

    @Test
    void comparesEveryMethodAndBothBoundsInOneTableAndOnePlot(@TempDir Path out) throws Exception {
        CliRun r = CliRun.of("compare", "--classes", "4", "--tasks", "2", "--epochs", "1", "--seed", "3", "--backend",
                "cpu", "--out", out.toString());
        assertEquals(0, r.exit(), r.all());
        String table = r.out().substring(r.out().lastIndexOf("method "));
        for (String name : ALL) assertTrue(table.contains(name), name + " in the summary table:\n" + r.all());
        assertTrue(r.out().contains("L2P ran on the ViT of the random ViT"), r.all());
        Object results = Json.parse(Files.readString(out.resolve("results.json")));
        for (String name : ALL) {
            List<?> rows = (List<?>) Json.path(results, "methods", name, "class_il", "accuracy");
            assertNotNull(rows, name + " in results.json");
            assertEquals(2, rows.size(), name + ": one row per task");
        }
        assertEquals(List.of("starprompt", "l2p", "dualprompt", "coda-prompt", "joint", "finetune"),
                Json.path(results, "configuration", "methods"));
        String csv = Files.readString(out.resolve("metrics.csv"));
        for (String name : ALL) assertTrue(csv.contains(name + ",class_il,2,average_accuracy"), name + " in metrics.csv");
        assertTrue(javax.imageio.ImageIO.read(out.resolve("seen_accuracy.png").toFile()).getWidth() > 100);
    }

    @Test
    void unknownOrRepeatedMethodsAreOptionErrors() {
        CliRun unknown = CliRun.of("compare", "--methods", "l2p,oracle");
        assertEquals(2, unknown.exit(), unknown.all());
        assertTrue(unknown.err().contains("unknown method 'oracle'") && unknown.err().contains("l2p"), unknown.all());
        CliRun twice = CliRun.of("compare", "--methods", "l2p,l2p");
        assertEquals(2, twice.exit(), twice.all());
        assertTrue(twice.err().contains("twice"), twice.all());
    }

    @Test
    void trainRunsL2PWithItsOwnCheckpoints(@TempDir Path dir) throws Exception {
        List<String> args = new ArrayList<>(List.of("train"));
        args.addAll(TrainTest.setUp(dir));
        Path out = dir.resolve("out");
        args.addAll(List.of("--method", "l2p", "--tasks", "2", "--batch", "8", "--image-size", "32", "--threads", "2",
                "--set", "l2p.epochs=1", "--set", "baselines=none", "--backend", "cpu", "--quiet", "--out", out.toString()));
        CliRun r = CliRun.of(args);
        assertEquals(0, r.exit(), r.all());
        Object results = Json.parse(Files.readString(out.resolve("results.json")));
        assertEquals(2, ((List<?>) Json.path(results, "methods", "L2P", "class_il", "accuracy")).size(), r.all());
        assertTrue(Files.isRegularFile(out.resolve("checkpoints").resolve("l2p").resolve("task-002.ckpt")));
        // eval restores the L2P run from its checkpoint: the final row it recorded, recomputed exactly.
        CliRun eval = CliRun.of("eval", "--run", out.toString(), "--backend", "cpu");
        assertEquals(0, eval.exit(), eval.all());
        assertTrue(eval.out().contains("(identical)"), eval.all());
        CliRun image = CliRun.of("eval", "--run", out.toString(), out.resolve("results.json").toString());
        assertEquals(1, image.exit(), image.all());
        assertTrue(image.err().contains("available for STAR-Prompt runs"), image.all());
        CliRun bad = CliRun.of("train", "--method", "oracle", "--data", dir.toString());
        assertEquals(2, bad.exit(), bad.all());
        assertTrue(bad.err().contains("unknown method 'oracle'"), bad.all());
    }
}
