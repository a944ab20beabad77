package io.starprompt.cli.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.cl.AccuracyMatrix;
import io.starprompt.method.starprompt.StarPrompt;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RunReportTest {
    private static final AccuracyMatrix ONE_ROW = AccuracyMatrix.of(new double[][] {{50}});

    @Test
    void mainMethodIsTheFirstAndNamesAreUnique() {
        RunReport r = SampleReports.threeTasks();
        assertEquals(SampleReports.MAIN, r.mainMethod().name());
        List<MethodResult> twice = List.of(MethodResult.accuracyOnly("m", ONE_ROW), MethodResult.accuracyOnly("m", ONE_ROW));
        assertThrows(IllegalArgumentException.class, () -> report(Map.of(), twice));
        assertThrows(IllegalArgumentException.class, () -> report(Map.of(), List.of()));
    }

    @Test
    void configurationIsCopiedInOrderAndMustBeWritable() {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("b", 1);
        c.put("a", null);
        RunReport r = report(c, List.of(MethodResult.accuracyOnly("m", ONE_ROW)));
        c.put("later", 2);
        assertEquals(List.of("b", "a"), List.copyOf(r.configuration().keySet()));
        assertThrows(UnsupportedOperationException.class, () -> r.configuration().put("x", 1));
        Map<String, Object> withPath = new HashMap<>(Map.of("out", Path.of("/tmp/x")));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> report(withPath, List.of(MethodResult.accuracyOnly("m", ONE_ROW))));
        assertTrue(e.getMessage().contains("configuration"), e.getMessage());
    }

    @Test
    void methodResultChecksItsParts() {
        assertThrows(IllegalArgumentException.class, () -> MethodResult.accuracyOnly(" ", ONE_ROW));
        assertThrows(IllegalArgumentException.class, () -> MethodResult.accuracyOnly("m", new AccuracyMatrix(2)),
                "no row recorded");
        AccuracyMatrix two = AccuracyMatrix.of(new double[][] {{1}, {2, 3}});
        assertThrows(IllegalArgumentException.class,
                () -> new MethodResult("m", ONE_ROW, two, Map.of(), Double.NaN, new double[0]), "task counts differ");
        assertThrows(IllegalArgumentException.class,
                () -> new MethodResult("m", ONE_ROW, null, Map.of(), Double.NaN, new double[2]), "more times than tasks");
    }

    @Test
    void methodResultCopiesWhatTheCallerCouldChange() {
        double[] seconds = {1.5};
        double[] epochLosses = {0.5, 0.25};
        List<double[]> perTask = new ArrayList<>(List.of(epochLosses));
        MethodResult m = new MethodResult("m", ONE_ROW, null, Map.of("stage", perTask), 10, seconds);
        seconds[0] = 99;
        epochLosses[0] = 99;
        perTask.add(new double[0]);
        assertArrayEquals(new double[] {1.5}, m.taskSeconds());
        assertArrayEquals(new double[] {0.5, 0.25}, m.losses().get("stage").get(0));
        assertEquals(1, m.losses().get("stage").size());
        m.taskSeconds()[0] = 7;
        assertEquals(1.5, m.taskSeconds()[0]);
    }

    @Test
    void methodResultOfAStarPromptRun() {
        AccuracyMatrix acc = AccuracyMatrix.of(new double[][] {{90}, {80, 85}});
        List<StarPrompt.TaskResult> tasks = List.of(
                new StarPrompt.TaskResult(0, new double[] {2, 1}, new double[] {0.7}, new double[] {3, 2},
                        new double[0], 1500),
                new StarPrompt.TaskResult(1, new double[] {1.5, 0.9}, new double[] {0.6}, new double[] {2.5, 1.5},
                        new double[] {0.4}, 2250));
        MethodResult m = MethodResult.of("STAR-Prompt", new StarPrompt.RunResult(acc, acc, tasks), 42);
        assertEquals(List.of(MethodResult.FIRST_STAGE, MethodResult.FIRST_STAGE_ALIGNMENT, MethodResult.SECOND_STAGE,
                MethodResult.HEAD_ALIGNMENT), List.copyOf(m.losses().keySet()));
        assertArrayEquals(new double[] {2.5, 1.5}, m.losses().get(MethodResult.SECOND_STAGE).get(1));
        assertArrayEquals(new double[] {0.4}, m.losses().get(MethodResult.HEAD_ALIGNMENT).get(1));
        assertArrayEquals(new double[] {1.5, 2.25}, m.taskSeconds());
        assertEquals(42, m.imagesPerSecond());
        assertNull(m.taskIl());
        assertEquals(acc, m.classIl());
    }

    @Test
    void currentVersionsNameThisJvm() {
        RunReport.Versions v = RunReport.Versions.current();
        assertTrue(v.java().startsWith(System.getProperty("java.version")), v.java());
        assertEquals(System.getProperty("os.arch"), v.arch());
        assertFalse(v.library().isBlank());
    }

    private static RunReport report(Map<String, Object> config, List<MethodResult> methods) {
        return new RunReport(config, SampleReports.VERSIONS, SampleReports.BACKEND, methods);
    }
}
