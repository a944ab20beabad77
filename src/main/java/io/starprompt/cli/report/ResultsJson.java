package io.starprompt.cli.report;

import io.starprompt.cl.AccuracyMatrix;
import io.starprompt.util.Json;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The text of {@code results.json}: one object with, in this order,
 *
 * <pre>
 * format          "starprompt-run-report"
 * format_version  1
 * versions        {library, java, os, arch}
 * backend         {name, device}
 * configuration   {name: value, …} in the report's order
 * main_method     name of the method whose matrix is drawn
 * methods         {name: {class_il, task_il, losses, images_per_second, task_seconds}, …}
 * </pre>
 *
 * where class_il and task_il (null when not measured) are matrices
 * {@code {tasks, rows, accuracy: [[a00], [a10, a11], …], average_accuracy: [A_0, …], faa, aia,
 * forgetting, bwt}} (row i holds the accuracies after task i on tasks 0…i, in %), losses is
 * {@code {phase: [[losses of the first task], …]}}: lists follow the task order, so position 0
 * holds task 1.
 * Numbers are written by {@link Json#write}, so they parse back to the same doubles; values that
 * are not numbers (NaN, such as an unmeasured throughput) are null.
 */
public final class ResultsJson {
    /** Value of the "format" key, so that a reader can tell this file from other JSON. */
    public static final String FORMAT = "starprompt-run-report";
    /** Raised when a key is removed or changes meaning; adding keys keeps it. */
    public static final int FORMAT_VERSION = 1;

    private ResultsJson() {}

    /**
     * The JSON text of report.
     *
     * @param report the report
     * @return the JSON text
     */
    public static String toJson(RunReport report) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("format", FORMAT);
        root.put("format_version", FORMAT_VERSION);
        root.put("versions", versions(report.versions()));
        root.put("backend", backend(report.backend()));
        root.put("configuration", report.configuration());
        root.put("main_method", report.mainMethod().name());
        Map<String, Object> methods = new LinkedHashMap<>();
        for (MethodResult m : report.methods()) methods.put(m.name(), method(m));
        root.put("methods", methods);
        return Json.write(root);
    }

    private static Map<String, Object> versions(RunReport.Versions v) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("library", v.library());
        map.put("java", v.java());
        map.put("os", v.os());
        map.put("arch", v.arch());
        return map;
    }

    private static Map<String, Object> backend(RunReport.BackendInfo b) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("name", b.name());
        map.put("device", b.device());
        return map;
    }

    private static Map<String, Object> method(MethodResult m) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("class_il", matrix(m.classIl()));
        map.put("task_il", m.taskIl() == null ? null : matrix(m.taskIl()));
        map.put("losses", m.losses());
        map.put("images_per_second", m.imagesPerSecond());
        map.put("task_seconds", m.taskSeconds());
        return map;
    }

    /** The summary metrics need a row; an empty Task-IL matrix is written with its shape only. */
    static Map<String, Object> matrix(AccuracyMatrix a) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("tasks", a.tasks());
        map.put("rows", a.rows());
        List<double[]> rows = new ArrayList<>();
        for (int i = 0; i < a.rows(); i++) rows.add(a.row(i));
        map.put("accuracy", rows);
        if (a.rows() > 0) {
            map.put("average_accuracy", a.averageAccuracies());
            map.put("faa", a.finalAverageAccuracy());
            map.put("aia", a.averageIncrementalAccuracy());
            map.put("forgetting", a.forgetting());
            map.put("bwt", a.backwardTransfer());
        }
        return map;
    }
}
