package io.starprompt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.data.sets.ImageFoldersTest;
import io.starprompt.demo.RandomCheckpoints;
import io.starprompt.model.tokenizer.ClipTokenizer;
import io.starprompt.util.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainTest {
    private static final RandomCheckpoints.Tower TOWER = new RandomCheckpoints.Tower(32, 8, 64, 2, 4);
    /** '!'..'~' (ids 0..93), the same with "&lt;/w&gt;" (94..187), then SOT 188 and EOT 189. */
    private static final int VOCAB = 190;

    /** A byte-level HF vocabulary: every printable ASCII character, alone and word-final; no merges. */
    static void writeTokenizer(Path vocab, Path merges) throws IOException {
        StringBuilder json = new StringBuilder("{");
        int id = 0;
        for (String suffix : List.of("", "</w>")) {
            for (char ch = '!'; ch <= '~'; ch++) {
                String sym = (ch == '"' || ch == '\\' ? "\\" + ch : String.valueOf(ch)) + suffix;
                json.append('"').append(sym).append("\": ").append(id++).append(", ");
            }
        }
        json.append("\"<|startoftext|>\": ").append(id++).append(", \"<|endoftext|>\": ").append(id++).append('}');
        assertEquals(VOCAB, id);
        Files.writeString(vocab, json.toString(), StandardCharsets.UTF_8);
        Files.writeString(merges, "#version: 0.2\n", StandardCharsets.UTF_8);
        ClipTokenizer tok = ClipTokenizer.fromHuggingFace(vocab, merges);
        assertEquals(1, tok.encode("X").length);
        assertEquals("a photo of a apple pie.".replace(" ", "").length(), tok.encode("a photo of a apple pie.").length);
    }

    /** Data tree, checkpoints and tokenizer files under dir; returns the base arguments. */
    static List<String> setUp(Path dir) throws IOException {
        ImageFoldersTest.writeTree(dir.resolve("data"), ImageFoldersTest.FOLDERS, 6, 3, 32);
        RandomCheckpoints.writeVit(dir.resolve("vit.safetensors"), TOWER, 1);
        RandomCheckpoints.writeClip(dir.resolve("clip.safetensors"), dir.resolve("config.json"), TOWER, VOCAB, 48, 2, 4,
                32, 2);
        writeTokenizer(dir.resolve("vocab.json"), dir.resolve("merges.txt"));
        return new ArrayList<>(List.of("--data", dir.resolve("data").toString(), "--vit",
                dir.resolve("vit.safetensors").toString(), "--vit-heads", "4", "--clip",
                dir.resolve("clip.safetensors").toString(), "--clip-config", dir.resolve("config.json").toString(),
                "--vocab", dir.resolve("vocab.json").toString(), "--merges", dir.resolve("merges.txt").toString()));
    }

    @Test
    void trainsOnAnImageFolderAndWritesTheAccuracyMatrix(@TempDir Path dir) throws Exception {
        List<String> args = setUp(dir);
        Path out = dir.resolve("out");
        args.addAll(List.of("--tasks", "2", "--epochs", "1", "--batch", "8", "--seed", "3", "--image-size", "32",
                "--threads", "2", "--out", out.toString(), "--backend", "cpu"));
        CliRun r = train(args);
        assertEquals(0, r.exit(), r.all());
        String printed = r.out();
        assertTrue(printed.contains("epoch") && printed.contains("apple pie") && printed.contains("FAA"), printed);
        assertTrue(printed.contains("task 1/2") && printed.contains("task 2/2") && !printed.contains("task 0"), printed);
        Object root = Json.parse(Files.readString(out.resolve("results.json")));
        Object star = Json.path(root, "methods", "STAR-Prompt", "class_il");
        assertEquals(2, Json.intAt(star, "tasks"));
        List<?> rows = (List<?>) Json.path(star, "accuracy");
        assertEquals(2, rows.size(), "one row per task: " + root);
        assertEquals(2, ((List<?>) rows.get(1)).size());
        double faa = Json.doubleAt(star, "faa");
        assertTrue(faa >= 0 && faa <= 100);
        assertEquals(3L, Json.path(root, "configuration", "seed") instanceof Double d ? d.longValue() : -1L);
        assertTrue(Json.path(root, "methods", "zero-shot CLIP") != null && Json.path(root, "methods", "first stage only") != null);
        for (String f : List.of("metrics.csv", "accuracy_matrix.png", "seen_accuracy.png")) assertTrue(Files.isRegularFile(out.resolve(f)), f);

        // eval restores the saved run: the same final row on the test sets, and one image's top classes.
        CliRun eval = CliRun.of("eval", "--run", out.toString(), "--backend", "cpu");
        assertEquals(0, eval.exit(), eval.all());
        assertTrue(eval.out().contains("(identical)"), eval.all());
        Path image = dir.resolve("data").resolve("test").resolve("car").resolve("img0.png");
        CliRun one = CliRun.of("eval", "--run", out.toString(), "--backend", "cpu", "--top", "3", image.toString());
        assertEquals(0, one.exit(), one.all());
        assertEquals(3, one.out().lines().filter(l -> l.matches("\\s+\\d+\\.\\d\\d %  .+")).count(), one.all());
        assertEquals(1, CliRun.of("eval", "--run", dir.toString()).exit(), "not a run folder");
    }

    @Test
    void trainsOnACifarBinaryAndAGzippedIdxPair(@TempDir Path dir) throws Exception {
        List<String> base = setUp(dir);
        base.subList(0, 2).clear(); // the image-folder --data of setUp
        Path cifar = Files.createDirectories(dir.resolve("cifar"));
        Files.write(cifar.resolve("train.bin"), cifarRecords(100, 5)); // 5 per class: the mixtures have 5 components
        Files.write(cifar.resolve("test.bin"), cifarRecords(100, 1));
        List<String> names = new ArrayList<>();
        for (int c = 0; c < 100; c++) names.add("c" + c);
        Files.write(cifar.resolve("fine_label_names.txt"), names);
        // 100 classes need a CLIP projection of at least 100 for orthogonal modulation rows.
        RandomCheckpoints.writeClip(dir.resolve("clip128.safetensors"), dir.resolve("config128.json"), TOWER, VOCAB, 48, 2,
                4, 128, 2);
        base.set(base.indexOf("--clip") + 1, dir.resolve("clip128.safetensors").toString());
        base.set(base.indexOf("--clip-config") + 1, dir.resolve("config128.json").toString());
        Path idx = Files.createDirectories(dir.resolve("idx"));
        writeIdxPair(idx, "train", 10, 5);
        writeIdxPair(idx, "t10k", 10, 1);
        for (Path data : List.of(cifar, idx)) {
            List<String> args = new ArrayList<>(base);
            Path out = dir.resolve("out-" + data.getFileName());
            args.addAll(List.of("--data", data.toString(), "--tasks", "2", "--epochs", "1", "--batch", "16",
                    "--image-size", "32", "--backend", "cpu", "--set", "baselines=none", "--set", "stage1.em-iters=5",
                    "--set", "stage2.em-iters=5", "--quiet", "--out", out.toString()));
            CliRun r = train(args);
            assertEquals(0, r.exit(), r.all());
            Object star = Json.path(Json.parse(Files.readString(out.resolve("results.json"))), "methods", "STAR-Prompt");
            assertEquals(2, ((List<?>) Json.path(star, "class_il", "accuracy")).size(), data + ": " + r.all());
        }
    }

    /** CIFAR-100 binary records: coarse label, fine label, the R, G and B planes of 32×32. */
    private static byte[] cifarRecords(int classes, int perClass) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(classes * perClass * 3074);
        java.util.Random rnd = new java.util.Random(classes * 31L + perClass);
        for (int c = 0; c < classes; c++) {
            for (int i = 0; i < perClass; i++) {
                b.put((byte) (c / 5)).put((byte) c);
                for (int p = 0; p < 3 * 1024; p++) b.put((byte) (c * 37 + p / 1024 * 80 + rnd.nextInt(30)));
            }
        }
        return b.array();
    }

    /** A gzipped IDX pair (28×28 grey images, one label byte each) named like MNIST's. */
    private static void writeIdxPair(Path dir, String split, int classes, int perClass) throws IOException {
        int n = classes * perClass;
        java.nio.ByteBuffer images = java.nio.ByteBuffer.allocate(16 + n * 784).putInt(0x0803).putInt(n).putInt(28).putInt(28);
        java.nio.ByteBuffer labels = java.nio.ByteBuffer.allocate(8 + n).putInt(0x0801).putInt(n);
        for (int i = 0; i < n; i++) {
            labels.put((byte) (i % classes));
            for (int p = 0; p < 784; p++) images.put((byte) ((i % classes) * 25 + (p % 28)));
        }
        gzip(dir.resolve(split + "-images-idx3-ubyte.gz"), images.array());
        gzip(dir.resolve(split + "-labels-idx1-ubyte.gz"), labels.array());
    }

    private static void gzip(Path file, byte[] data) throws IOException {
        try (java.util.zip.GZIPOutputStream out = new java.util.zip.GZIPOutputStream(Files.newOutputStream(file))) {
            out.write(data);
        }
    }

    @Test
    void optionErrorsNameTheOption(@TempDir Path dir) throws Exception {
        List<String> base = setUp(dir);
        for (String option : List.of("--data", "--vit", "--clip", "--clip-config", "--vocab", "--merges")) {
            List<String> args = new ArrayList<>(base);
            int i = args.indexOf(option);
            args.remove(i + 1);
            args.remove(i);
            MainTest.assertOptionError(train(args), option);
        }
        assertOption(base, List.of("--epochs", "0"), "--epochs must be a positive integer");
        assertOption(base, List.of("--tasks", "x"), "--tasks");
        assertOption(base, List.of("--seed", "1.5"), "--seed");
        assertOption(base, List.of("--norm", "bogus"), "norm must be one of");
        assertOption(base, List.of("--precision", "fp16"), "precision must be one of");
        assertOption(base, List.of("--bogus", "1"), "--bogus");
        assertOption(base, List.of("--out"), "--out");
        assertOption(base, List.of("--preset", "seq-nope"), "seq-cifar100");
        assertOption(base, List.of("--set", "stage2.lambd=3"), "did you mean stage2.lambda");
        assertOption(base, List.of("--set", "baselines=zero-shot,oracle"), "unknown baseline 'oracle'");
    }

    @Test
    void runtimeErrorsAreOneLineNamingTheFile(@TempDir Path dir) throws Exception {
        List<String> base = setUp(dir);
        List<String> missingFile = new ArrayList<>(base);
        missingFile.set(missingFile.indexOf("--vocab") + 1, dir.resolve("nope.json").toString());
        assertRuntime(missingFile, List.of(), "nope.json");
        assertRuntime(base, List.of("--image-size", "224"), "--image-size 32");
        assertRuntime(base, List.of("--image-size", "32", "--tasks", "3"), "cannot be cut into 3");
    }

    @Test
    void aDivergingRunStopsWithOneLineAndKeepsTheLastCheckpoint(@TempDir Path dir) throws Exception {
        List<String> args = setUp(dir);
        Path out = dir.resolve("out");
        // An absurd second-stage learning rate: task 1 ends with huge but finite weights, task 2's first loss overflows.
        args.addAll(List.of("--tasks", "2", "--epochs", "2", "--batch", "8", "--image-size", "32", "--backend", "cpu",
                "--set", "baselines=none", "--set", "stage2.lr=1e30", "--quiet", "--out", out.toString()));
        CliRun r = train(args);
        assertEquals(1, r.exit(), r.all());
        Path kept = out.resolve("checkpoints").resolve("star-prompt").resolve("task-001.ckpt");
        assertEquals("starprompt: star-prompt: training diverged at task 2, epoch 1, step 1 (second stage): the loss holds"
                + " +Inf; the checkpoint after task 1 is intact (" + kept + "); a smaller learning rate may avoid this",
                r.err().strip(), r.all());
        assertEquals(0, io.starprompt.method.Checkpoints.read(kept).task());
        assertFalse(Files.exists(kept.resolveSibling("task-002.ckpt")));
        assertFalse(Files.exists(out.resolve("results.json")), "no reports of a stopped run");
    }

    @Test
    void aBrokenDatasetIsRefusedBeforeTrainingWithEveryProblemListed(@TempDir Path dir) throws Exception {
        List<String> base = setUp(dir);
        Path data = dir.resolve("data");
        Path bad = data.resolve("test").resolve("bird").resolve("bad.png");
        Files.write(bad, new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        Files.createDirectories(data.resolve("train").resolve("empty_class"));
        Files.createDirectories(data.resolve("test").resolve("empty_class"));
        Path orphan = Files.createDirectories(data.resolve("test").resolve("zebra"));
        ImageFoldersTest.writePng(orphan.resolve("z.png"), 32, 32, 1, 1);
        List<String> args = new ArrayList<>(base);
        args.addAll(List.of("--tasks", "2", "--epochs", "1", "--image-size", "32", "--backend", "cpu", "--out",
                dir.resolve("out").toString()));
        CliRun r = train(args);
        assertEquals(1, r.exit(), r.all());
        assertTrue(r.err().contains("nothing was trained"), r.all());
        assertTrue(r.err().contains("bad.png"), r.all());
        assertTrue(r.err().contains("empty_class"), r.all());
        assertTrue(r.err().contains("zebra"), r.all());
        assertFalse(r.out().contains("loss"), "no training: " + r.all());

        // Only the bad image left: --skip-bad-images trains without it and lists it.
        Files.delete(orphan.resolve("z.png"));
        Files.delete(orphan);
        Files.delete(data.resolve("train").resolve("empty_class"));
        Files.delete(data.resolve("test").resolve("empty_class"));
        assertEquals(1, train(args).exit(), "still refused without --skip-bad-images");
        args.add("--skip-bad-images");
        CliRun skipped = train(args);
        assertEquals(0, skipped.exit(), skipped.all());
        assertTrue(skipped.out().contains("skipping 1 images"), skipped.all());
        assertEquals(List.of(bad.toString()), Files.readAllLines(dir.resolve("out").resolve("skipped-images.txt")));
    }

    private static CliRun train(List<String> args) {
        List<String> all = new ArrayList<>(List.of("train"));
        all.addAll(args);
        return CliRun.of(all);
    }

    private static void assertOption(List<String> base, List<String> extra, String part) {
        List<String> args = new ArrayList<>(base);
        args.addAll(extra);
        MainTest.assertOptionError(train(args), part);
    }

    private static void assertRuntime(List<String> base, List<String> extra, String part) {
        List<String> args = new ArrayList<>(base);
        args.addAll(extra);
        Path out = Path.of(base.get(base.indexOf("--data") + 1)).resolveSibling("out-" + part.hashCode());
        args.addAll(List.of("--backend", "cpu", "--out", out.toString()));
        CliRun r = train(args);
        assertEquals(1, r.exit(), r.all());
        assertTrue(r.err().startsWith("starprompt: ") && r.err().contains(part), r.all());
        assertEquals(1, r.err().strip().lines().count(), r.all());
        assertFalse(Files.exists(out), "a failed start leaves no run folder behind: " + out);
    }
}
