package io.starprompt.cli.report;

import io.starprompt.cl.AccuracyMatrix;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Small hand-made reports whose metrics are worked out in the tests. */
final class SampleReports {
    static final String MAIN = "STAR-Prompt";
    // A comma in the name: the CSV must quote it.
    static final String BASELINE = "CLIP, fixed prompts";

    private SampleReports() {}

    static final RunReport.Versions VERSIONS = new RunReport.Versions("0.1.0-test", "17", "TestOS 1", "x86_64");
    static final RunReport.BackendInfo BACKEND = new RunReport.BackendInfo("cpu", "CPU, 2 processors");

    /** Three tasks; main class-IL {{90},{80,85},{70,75,95}}, with Task-IL, losses, throughput and timings. */
    static RunReport threeTasks() {
        Map<String, List<double[]>> losses = new LinkedHashMap<>();
        losses.put("second_stage", List.of(new double[] {1.5, 1.0}, new double[] {1.2, 0.8}, new double[] {1.1, 0.7}));
        losses.put("head_alignment", List.of(new double[0], new double[] {0.3}, new double[] {0.25}));
        MethodResult main = new MethodResult(MAIN, AccuracyMatrix.of(new double[][] {{90}, {80, 85}, {70, 75, 95}}),
                AccuracyMatrix.of(new double[][] {{95}, {90, 92}, {88, 89, 97}}), losses, 123.5,
                new double[] {1.25, 2.5, 3.75});
        MethodResult baseline = MethodResult.accuracyOnly(BASELINE,
                AccuracyMatrix.of(new double[][] {{60}, {55, 58}, {50, 52, 57}}));
        return new RunReport(configuration(), VERSIONS, BACKEND, List.of(main, baseline));
    }

    static Map<String, Object> configuration() {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("seed", 1993L);
        c.put("epochs", 5);
        c.put("lr", 0.001f);
        c.put("lambda", 100.0 / 3);
        c.put("dataset", "synthetic");
        c.put("permute", true);
        c.put("checkpoint", null);
        return c;
    }

    /** A report with one method whose class-IL matrix is the given table. */
    static RunReport single(double[][] table) {
        return new RunReport(Map.of(), VERSIONS, BACKEND,
                List.of(MethodResult.accuracyOnly(MAIN, AccuracyMatrix.of(table))));
    }
}
