package io.starprompt.cli;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.backend.Backend;
import io.starprompt.backend.cpu.CpuBackend;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MainTest {
    @Test
    void badArgumentsAreClearErrors() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Main.run(new String[] {"--clases", "4"}))
                .getMessage().contains("--clases"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Main.run(new String[] {"demo", "--epochs", "0"}))
                .getMessage().contains("positive"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> Main.run(new String[] {"--classes", "5", "--tasks", "2"})).getMessage().contains("multiple"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Main.run(new String[] {"train"}))
                .getMessage().contains("train"));
        assertThrows(IllegalArgumentException.class, () -> Main.run(new String[] {"--seed"}));
    }

    @Test
    void demoLearnsAndWritesTheAccuracyMatrix(@TempDir Path out) throws Exception {
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        try (Backend be = new CpuBackend(); PrintStream ps = new PrintStream(text, true, StandardCharsets.UTF_8)) {
            Demo.run(be, new Demo.Options(4, 2, 2, 16, 3, out), ps);
        }
        String printed = text.toString(StandardCharsets.UTF_8);
        assertTrue(printed.contains("FAA") && printed.contains("second_stage"), printed);
        String json = Files.readString(out.resolve("accuracy.json"));
        assertTrue(json.contains("\"faa\"") && json.contains("\"forgetting\""), json);
        assertTrue(Files.readAllLines(out.resolve("accuracy.csv")).size() >= 2, "one CSV row per task");
    }
}
