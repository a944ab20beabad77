package io.starprompt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.backend.Backend;
import io.starprompt.backend.cpu.CpuBackend;
import io.starprompt.data.ImageFolderTaskDataTest;
import io.starprompt.demo.RandomCheckpoints;
import io.starprompt.model.tokenizer.ClipTokenizer;
import io.starprompt.util.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
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
        ImageFolderTaskDataTest.writeTree(dir.resolve("data"), ImageFolderTaskDataTest.FOLDERS, 6, 3, 32);
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
                "--threads", "2", "--out", out.toString()));
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        try (Backend be = new CpuBackend(); PrintStream ps = new PrintStream(text, true, StandardCharsets.UTF_8)) {
            Train.run(be, Train.Options.parse(args.toArray(new String[0])), ps);
        }
        String printed = text.toString(StandardCharsets.UTF_8);
        assertTrue(printed.contains("epoch") && printed.contains("apple pie") && printed.contains("FAA"), printed);
        String json = Files.readString(out.resolve("accuracy.json"));
        assertTrue(json.contains("\"faa\""), json);
        Object root = Json.parse(json);
        assertEquals(2, Json.intAt(root, "tasks"), json);
        List<?> rows = (List<?>) Json.path(root, "accuracy");
        assertEquals(2, rows.size(), "one row per task: " + json);
        assertEquals(2, ((List<?>) rows.get(1)).size(), json);
        double faa = Json.doubleAt(root, "faa");
        assertTrue(faa >= 0 && faa <= 100, json);
        assertTrue(Files.readAllLines(out.resolve("accuracy.csv")).size() >= 2, "one CSV row per task");
    }

    @Test
    void optionErrorsNameTheOption(@TempDir Path dir) throws Exception {
        List<String> base = setUp(dir);
        String[] full = base.toArray(new String[0]);
        Train.Options.parse(full);
        for (String option : List.of("--data", "--vit", "--vit-heads", "--clip", "--clip-config", "--vocab", "--merges")) {
            List<String> args = new ArrayList<>(base);
            int i = args.indexOf(option);
            args.remove(i + 1);
            args.remove(i);
            String msg = assertThrows(IllegalArgumentException.class,
                    () -> Train.Options.parse(args.toArray(new String[0]))).getMessage();
            assertTrue(msg.contains("missing option " + option), msg);
        }
        assertMessage(base, List.of("--epochs", "0"), "--epochs");
        assertMessage(base, List.of("--tasks", "x"), "--tasks");
        assertMessage(base, List.of("--seed", "1.5"), "--seed");
        assertMessage(base, List.of("--norm", "bogus"), "--norm");
        assertMessage(base, List.of("--bogus", "1"), "--bogus");
        assertMessage(base, List.of("--out"), "--out");
        List<String> missingFile = new ArrayList<>(base);
        missingFile.set(missingFile.indexOf("--vocab") + 1, dir.resolve("nope.json").toString());
        assertMessage(missingFile, List.of(), "--vocab");
        // size mismatch with the checkpoints, and classes not divisible by tasks
        try (Backend be = new CpuBackend()) {
            assertMessage(be, base, List.of("--image-size", "224"), "--image-size");
            assertMessage(be, base, List.of("--image-size", "32", "--tasks", "3"), "cannot be cut into 3");
        }
        // Main dispatches "train" to these options
        String msg = assertThrows(IllegalArgumentException.class, () -> Main.run(new String[] {"train", "--data"}))
                .getMessage();
        assertTrue(msg.contains("--data"), msg);
        assertTrue(Main.USAGE.contains("train --data"));
    }

    private static void assertMessage(List<String> base, List<String> extra, String part) {
        List<String> args = new ArrayList<>(base);
        args.addAll(extra);
        String msg = assertThrows(IllegalArgumentException.class, () -> Train.Options.parse(args.toArray(new String[0])))
                .getMessage();
        assertTrue(msg.contains(part), msg);
    }

    private static void assertMessage(Backend be, List<String> base, List<String> extra, String part) {
        List<String> args = new ArrayList<>(base);
        args.addAll(extra);
        String msg = assertThrows(IllegalArgumentException.class, () -> Train.run(be,
                Train.Options.parse(args.toArray(new String[0])), new PrintStream(new ByteArrayOutputStream()))).getMessage();
        assertTrue(msg.contains(part), msg + " " + Arrays.toString(args.toArray()));
    }
}
