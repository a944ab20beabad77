package io.starprompt.cli.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.cl.AccuracyMatrix;
import io.starprompt.util.Json;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ReportResultsJsonTest {
    private final RunReport report = SampleReports.threeTasks();
    private final Object root = Json.parse(ResultsJson.toJson(report));

    @Test
    void headerVersionsAndBackend() {
        assertEquals(List.of("format", "format_version", "versions", "backend", "configuration", "main_method",
                "methods"), List.copyOf(((Map<?, ?>) root).keySet()));
        assertEquals(ResultsJson.FORMAT, Json.path(root, "format"));
        assertEquals(1, Json.intAt(root, "format_version"));
        assertEquals("0.1.0-test", Json.path(root, "versions", "library"));
        assertEquals("x86_64", Json.path(root, "versions", "arch"));
        assertEquals("cpu", Json.path(root, "backend", "name"));
        assertEquals("CPU, 2 processors", Json.path(root, "backend", "device"));
        assertEquals(SampleReports.MAIN, Json.path(root, "main_method"));
    }

    @Test
    void configurationKeepsOrderAndValues() {
        Map<?, ?> c = (Map<?, ?>) Json.path(root, "configuration");
        assertEquals(List.of("seed", "epochs", "lr", "lambda", "dataset", "permute", "checkpoint"),
                List.copyOf(c.keySet()));
        assertEquals(1993.0, c.get("seed"));
        assertEquals(0.001f, ((Double) c.get("lr")).floatValue());
        assertEquals(100.0 / 3, (Double) c.get("lambda"), 0.0);
        assertEquals(Boolean.TRUE, c.get("permute"));
        assertTrue(c.containsKey("checkpoint") && c.get("checkpoint") == null);
    }

    @Test
    void methodMatricesAndMetricsParseBackExactly() {
        assertEquals(List.of(SampleReports.MAIN, SampleReports.BASELINE),
                List.copyOf(((Map<?, ?>) Json.path(root, "methods")).keySet()));
        AccuracyMatrix a = report.mainMethod().classIl();
        Object m = Json.path(root, "methods", SampleReports.MAIN, "class_il");
        assertEquals(3, Json.intAt(m, "tasks"));
        assertEquals(3, Json.intAt(m, "rows"));
        assertEquals(List.of(List.of(90.0), List.of(80.0, 85.0), List.of(70.0, 75.0, 95.0)), Json.path(m, "accuracy"));
        assertEquals(List.of(90.0, 82.5, 80.0), Json.path(m, "average_accuracy"));
        assertEquals(80.0, Json.doubleAt(m, "faa"), 0.0);
        // (90 + 82.5 + 80) / 3 has no short decimal form; it must still come back bit for bit
        assertEquals(a.averageIncrementalAccuracy(), Json.doubleAt(m, "aia"), 0.0);
        assertEquals(15.0, Json.doubleAt(m, "forgetting"), 0.0);
        assertEquals(-15.0, Json.doubleAt(m, "bwt"), 0.0);
        assertEquals(List.of(95.0, 91.0, 91.33333333333333),
                Json.path(root, "methods", SampleReports.MAIN, "task_il", "average_accuracy"));
    }

    @Test
    void lossesThroughputAndTimings() {
        Object main = Json.path(root, "methods", SampleReports.MAIN);
        assertEquals(List.of("second_stage", "head_alignment"), List.copyOf(((Map<?, ?>) Json.path(main, "losses")).keySet()));
        assertEquals(List.of(1.2, 0.8), Json.path(main, "losses", "second_stage", 1));
        assertEquals(List.of(), Json.path(main, "losses", "head_alignment", 0));
        assertEquals(123.5, Json.doubleAt(main, "images_per_second"), 0.0);
        assertEquals(List.of(1.25, 2.5, 3.75), Json.path(main, "task_seconds"));
        Object baseline = Json.path(root, "methods", SampleReports.BASELINE);
        assertNull(Json.path(baseline, "task_il"));
        assertNull(Json.path(baseline, "images_per_second"), "NaN (not measured) is written as null");
        assertEquals(Map.of(), Json.path(baseline, "losses"));
        assertEquals(53.0, Json.doubleAt(baseline, "class_il", "faa"), 0.0);
    }

    @Test
    void aPartialMatrixIsWrittenWithTheRowsItHas() {
        AccuracyMatrix partial = new AccuracyMatrix(4);
        partial.setRow(0, new double[] {42});
        Object m = Json.parse(Json.write(ResultsJson.matrix(partial)));
        assertEquals(4, Json.intAt(m, "tasks"));
        assertEquals(1, Json.intAt(m, "rows"));
        assertEquals(42.0, Json.doubleAt(m, "faa"), 0.0);
        Object empty = Json.parse(Json.write(ResultsJson.matrix(new AccuracyMatrix(2))));
        assertEquals(List.of(), Json.path(empty, "accuracy"));
        assertNull(Json.path(empty, "faa"));
    }
}
