package io.starprompt.cli.report;

import io.starprompt.cl.AccuracyMatrix;

/**
 * The text of {@code metrics.csv}, in a tidy long layout: one observation per line, so that a
 * spreadsheet pivot or a data-frame filter needs no reshaping.
 *
 * <pre>
 * method,protocol,after_task,metric,task,value
 * STAR-Prompt,class_il,1,accuracy,1,90.0
 * STAR-Prompt,class_il,1,average_accuracy,,90.0
 * …
 * </pre>
 *
 * <ul>
 *   <li>{@code method}: the method's name (quoted as RFC 4180 asks when it holds a comma, quote or
 *       line break).
 *   <li>{@code protocol}: {@code class_il}, then {@code task_il} when the method measured it.
 *   <li>{@code after_task}: the number (1-based, as people count tasks) of the task just learned.
 *   <li>{@code metric}, with {@code task} filled only for the first:
 *       {@code accuracy} (accuracy on task {@code task}, 1-based, one line per task learned so far),
 *       {@code average_accuracy} (mean of row i: the accuracy on the tasks seen so far; at the
 *       last task this is the FAA),
 *       {@code aia} (average incremental accuracy over the rows so far),
 *       {@code forgetting} and {@code bwt} (as if this row were the last; 0 after the first task).
 *   <li>{@code value}: in % (percentage points for forgetting and BWT), written as the shortest
 *       decimal that reads back to the same double; empty for NaN.
 * </ul>
 * Lines come in the order method, protocol, after_task, then the metrics in the order above.
 * All means weight tasks equally (see {@link AccuracyMatrix}).
 */
public final class MetricsCsv {
    /** The header line, without its line break. */
    public static final String HEADER = "method,protocol,after_task,metric,task,value";

    private MetricsCsv() {}

    /**
     * The CSV text of report, header included, each line ending in '\n'.
     *
     * @param report the report
     * @return the CSV text
     */
    public static String toCsv(RunReport report) {
        StringBuilder sb = new StringBuilder(HEADER).append('\n');
        for (MethodResult m : report.methods()) {
            appendMatrix(sb, m.name(), "class_il", m.classIl());
            if (m.taskIl() != null) appendMatrix(sb, m.name(), "task_il", m.taskIl());
        }
        return sb.toString();
    }

    private static void appendMatrix(StringBuilder sb, String method, String protocol, AccuracyMatrix a) {
        String prefix = field(method) + "," + protocol + ",";
        for (int i = 0; i < a.rows(); i++) {
            for (int j = 0; j <= i; j++) line(sb, prefix, i + 1, "accuracy", Integer.toString(j + 1), a.get(i, j));
            line(sb, prefix, i + 1, "average_accuracy", "", a.averageAccuracy(i));
            line(sb, prefix, i + 1, "aia", "", a.averageIncrementalAccuracy(i));
            line(sb, prefix, i + 1, "forgetting", "", a.forgetting(i));
            line(sb, prefix, i + 1, "bwt", "", a.backwardTransfer(i));
        }
    }

    private static void line(StringBuilder sb, String prefix, int afterTask, String metric, String task, double v) {
        sb.append(prefix).append(afterTask).append(',').append(metric).append(',').append(task).append(',')
                .append(Double.isFinite(v) ? Double.toString(v) : "").append('\n');
    }

    /** RFC 4180: a field with a separator, quote or line break is quoted, its quotes doubled. */
    static String field(String s) {
        if (s.indexOf(',') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0 && s.indexOf('\r') < 0) return s;
        return '"' + s.replace("\"", "\"\"") + '"';
    }
}
