package io.starprompt.cli.report;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;

/**
 * Writes the reports of a run into an output folder:
 *
 * <ul>
 *   <li>{@value #RESULTS_JSON}: everything in the report ({@link ResultsJson}),
 *   <li>{@value #METRICS_CSV}: the accuracy metrics in a tidy long layout ({@link MetricsCsv}),
 *   <li>{@value #ACCURACY_MATRIX_PNG} and {@value #SEEN_ACCURACY_PNG}: the plots
 *       ({@link ReportCharts}).
 * </ul>
 *
 * Each file is written to a temporary file in the same folder and renamed over its final name,
 * so an interrupted run leaves each report either complete or at its previous version, never
 * half written. Files from an earlier run in the same folder are replaced.
 */
public final class ReportWriter {
    /** File name of the full report. */
    public static final String RESULTS_JSON = "results.json";
    /** File name of the metrics table. */
    public static final String METRICS_CSV = "metrics.csv";
    /** File name of the heat map of the main method's accuracy matrix. */
    public static final String ACCURACY_MATRIX_PNG = "accuracy_matrix.png";
    /** File name of the seen-task accuracy plot. */
    public static final String SEEN_ACCURACY_PNG = "seen_accuracy.png";

    /**
     * The files one call wrote.
     *
     * @param resultsJson path of results.json
     * @param metricsCsv path of metrics.csv
     * @param accuracyMatrixPng path of accuracy_matrix.png
     * @param seenAccuracyPng path of seen_accuracy.png
     */
    public record Written(Path resultsJson, Path metricsCsv, Path accuracyMatrixPng, Path seenAccuracyPng) {
        /**
         * All four paths, in the order they were written.
         *
         * @return the paths
         */
        public List<Path> all() {
            return List.of(resultsJson, metricsCsv, accuracyMatrixPng, seenAccuracyPng);
        }
    }

    private ReportWriter() {}

    /**
     * Writes the four report files of report into outDir (created if missing) and returns their
     * paths. The text files come first, so that a failure in drawing still leaves the numbers.
     *
     * @param report the report
     * @param outDir the folder to write to
     * @return the paths written
     * @throws IOException if the folder or a file cannot be written; files already renamed into
     *     place stay, no temporary file is left
     */
    public static Written write(RunReport report, Path outDir) throws IOException {
        Files.createDirectories(outDir);
        Path json = AtomicFiles.writeString(outDir.resolve(RESULTS_JSON), ResultsJson.toJson(report));
        Path csv = AtomicFiles.writeString(outDir.resolve(METRICS_CSV), MetricsCsv.toCsv(report));
        Path matrix = writePng(outDir.resolve(ACCURACY_MATRIX_PNG), ReportCharts.accuracyMatrix(report));
        Path seen = writePng(outDir.resolve(SEEN_ACCURACY_PNG), ReportCharts.seenAccuracy(report));
        return new Written(json, csv, matrix, seen);
    }

    private static Path writePng(Path target, BufferedImage image) throws IOException {
        return AtomicFiles.write(target, out -> {
            if (!ImageIO.write(image, "png", out)) throw new IOException("no PNG writer in this Java runtime");
        });
    }
}
