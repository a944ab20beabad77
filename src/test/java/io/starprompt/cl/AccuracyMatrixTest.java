package io.starprompt.cl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.util.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AccuracyMatrixTest {
    @Test
    void handExampleWhereTheBestIsTheDiagonal() {
        AccuracyMatrix m = AccuracyMatrix.of(new double[][] {{90}, {80, 85}, {70, 75, 95}});
        assertEquals(80.0, m.finalAverageAccuracy(), 1e-12);      // (70 + 75 + 95) / 3
        assertEquals(15.0, m.forgetting(), 1e-12);                // ((90 − 70) + (85 − 75)) / 2
        assertEquals(-15.0, m.backwardTransfer(), 1e-12);         // ((70 − 90) + (75 − 85)) / 2
        assertEquals(82.5, m.averageAccuracy(1), 1e-12);
    }

    @Test
    void averageIncrementalAccuracyIsTheMeanOfTheRowMeans() {
        AccuracyMatrix m = AccuracyMatrix.of(new double[][] {{90}, {80, 85}, {70, 75, 95}});
        // row means: 90, (80 + 85) / 2 = 82.5, (70 + 75 + 95) / 3 = 80
        assertArrayEquals(new double[] {90, 82.5, 80}, m.averageAccuracies(), 1e-12);
        assertEquals((90 + 82.5 + 80) / 3, m.averageIncrementalAccuracy(), 1e-12); // 84.1666…
        assertEquals(90, m.averageIncrementalAccuracy(0), 1e-12);
        assertEquals(86.25, m.averageIncrementalAccuracy(1), 1e-12);
    }

    @Test
    void averagesWeightTasksEquallyWhateverTheirSize() {
        // a row mean is over tasks, not images: (100 + 0) / 2 even if task 1 had ten times the test images
        AccuracyMatrix m = AccuracyMatrix.of(new double[][] {{100}, {100, 0}});
        assertEquals(50, m.averageAccuracy(1), 1e-12);
        assertEquals(75, m.averageIncrementalAccuracy(), 1e-12);
    }

    @Test
    void perRowForgettingAndBwtIgnoreLaterRows() {
        AccuracyMatrix m = AccuracyMatrix.of(new double[][] {{50}, {60, 80}, {55, 70, 90}});
        assertEquals(0, m.forgetting(0));
        assertEquals(0, m.backwardTransfer(0));
        assertEquals(0, m.forgetting(1), 1e-12);            // task 0 improved 50 → 60: its best is the last row
        assertEquals(10, m.backwardTransfer(1), 1e-12);     // 60 − 50
        assertEquals(m.forgetting(), m.forgetting(2), 0);
        assertEquals(m.backwardTransfer(), m.backwardTransfer(2), 0);
        AccuracyMatrix partial = new AccuracyMatrix(3);
        partial.setRow(0, new double[] {40});
        assertThrows(IllegalArgumentException.class, () -> partial.forgetting(1));
        assertThrows(IllegalArgumentException.class, () -> partial.averageIncrementalAccuracy(1));
        assertThrows(IllegalArgumentException.class, () -> partial.backwardTransfer(-1));
        assertEquals(0, new AccuracyMatrix(2).averageAccuracies().length);
        assertThrows(IllegalStateException.class, () -> new AccuracyMatrix(2).averageIncrementalAccuracy());
    }

    @Test
    void forgettingUsesTheBestEarlierAccuracyNotTheDiagonal() {
        AccuracyMatrix m = AccuracyMatrix.of(new double[][] {{50}, {60, 80}, {55, 70, 90}});
        assertEquals((55 + 70 + 90) / 3.0, m.finalAverageAccuracy(), 1e-12);
        assertEquals(((60 - 55) + (80 - 70)) / 2.0, m.forgetting(), 1e-12); // max over rows, not a_{j,j}
        assertEquals(((55 - 50) + (70 - 80)) / 2.0, m.backwardTransfer(), 1e-12);
    }

    @Test
    void partialMatrixUsesTheLastRecordedRow() {
        AccuracyMatrix m = new AccuracyMatrix(3);
        assertThrows(IllegalStateException.class, m::finalAverageAccuracy);
        m.setRow(0, new double[] {90});
        assertEquals(0, m.forgetting());
        assertEquals(0, m.backwardTransfer());
        m.setRow(1, new double[] {60, 100});
        assertEquals(80, m.finalAverageAccuracy(), 1e-12);
        assertEquals(30, m.forgetting(), 1e-12);
        assertEquals(2, m.rows());
        assertTrue(Double.isNaN(m.get(2, 0)));
        assertThrows(IllegalArgumentException.class, () -> m.setRow(2, new double[] {1, 2}));
        assertThrows(IllegalArgumentException.class, () -> new AccuracyMatrix(3).setRow(1, new double[] {1, 2}));
    }

    @Test
    void exportsJsonAndCsv(@TempDir Path dir) throws Exception {
        AccuracyMatrix m = AccuracyMatrix.of(new double[][] {{90}, {80, 85}, {70, 75, 95}});
        Path json = dir.resolve("acc.json"), csv = dir.resolve("acc.csv");
        m.writeJson(json);
        m.writeCsv(csv);
        Object root = Json.parse(Files.readString(json));
        assertEquals(3, Json.intAt(root, "tasks"));
        assertEquals(80.0, Json.doubleAt(root, "faa"), 1e-9);
        assertEquals(15.0, Json.doubleAt(root, "forgetting"), 1e-9);
        assertEquals(-15.0, Json.doubleAt(root, "bwt"), 1e-9);
        assertEquals(84.1667, Json.doubleAt(root, "aia"), 1e-9); // four decimals, as the other entries
        assertEquals(List.of(80.0, 85.0), ((List<?>) Json.path(root, "accuracy", 1)));
        List<String> lines = Files.readAllLines(csv);
        assertEquals("after_task,task_0,task_1,task_2", lines.get(0));
        assertEquals("0,90.0000,,", lines.get(1));
        assertEquals("2,70.0000,75.0000,95.0000", lines.get(3));
        assertArrayEquals(new double[] {80, 85}, m.row(1));
    }

    @Test
    void taskSplitOffsets() {
        TaskSplit s = TaskSplit.of(20, 20, 16);
        assertEquals(3, s.tasks());
        assertEquals(56, s.classes());
        assertEquals(40, s.past(2));
        assertEquals(56, s.seen(2));
        assertArrayEquals(new int[] {20, 21, 22}, java.util.Arrays.copyOf(s.classesOfTask(1), 3));
        assertEquals(2, s.taskOf(55));
        assertEquals(0, s.taskOf(0));
        assertEquals(TaskSplit.of(5, 5), TaskSplit.equal(10, 2));
        assertThrows(IllegalArgumentException.class, () -> TaskSplit.equal(10, 3));
        assertThrows(IllegalArgumentException.class, () -> s.past(3));
    }
}
