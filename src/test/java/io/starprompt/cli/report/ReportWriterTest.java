package io.starprompt.cli.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.util.Json;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportWriterTest {
    @TempDir
    Path dir;

    @Test
    void writesTheFourFilesAndNothingElse() throws IOException {
        Path out = dir.resolve("run/reports"); // created on demand
        ReportWriter.Written w = ReportWriter.write(SampleReports.threeTasks(), out);
        assertEquals(List.of(out.resolve("results.json"), out.resolve("metrics.csv"),
                out.resolve("accuracy_matrix.png"), out.resolve("seen_accuracy.png")), w.all());
        assertEquals(List.of("accuracy_matrix.png", "metrics.csv", "results.json", "seen_accuracy.png"), names(out),
                "no temporary file left behind");
        assertEquals(80.0, Json.doubleAt(Json.parse(Files.readString(w.resultsJson())), "methods",
                SampleReports.MAIN, "class_il", "faa"), 0.0);
        assertEquals(MetricsCsv.HEADER, Files.readAllLines(w.metricsCsv()).get(0));
    }

    @Test
    void plotsDecodeAtTheirSizeAndAreDrawn() throws IOException {
        ReportWriter.Written w = ReportWriter.write(SampleReports.threeTasks(), dir);
        for (Path png : List.of(w.accuracyMatrixPng(), w.seenAccuracyPng())) {
            BufferedImage img = ImageIO.read(png.toFile());
            assertNotNull(img, png + " decodes");
            assertEquals(ReportCharts.WIDTH, img.getWidth());
            assertEquals(ReportCharts.HEIGHT, img.getHeight());
            // a blank or single-colour canvas has a handful; text, anti-aliasing and the scale give hundreds
            assertTrue(distinctColours(img) > 100, png + ": " + distinctColours(img) + " colours");
        }
    }

    @Test
    void theSeenAccuracyPlotDrawsEveryMethod() throws IOException {
        BufferedImage img = ImageIO.read(ReportWriter.write(SampleReports.threeTasks(), dir).seenAccuracyPng().toFile());
        // the series colours in their order: main method first, then the baseline
        assertTrue(count(img, ReportCharts.SERIES[0]) > 200, "main method line: " + count(img, ReportCharts.SERIES[0]));
        assertTrue(count(img, ReportCharts.SERIES[1]) > 200, "baseline line: " + count(img, ReportCharts.SERIES[1]));
        assertEquals(0, count(img, ReportCharts.SERIES[2]), "only two methods");
    }

    @Test
    void theHeatMapColoursCellsOnAFixedZeroToHundredScale() throws IOException {
        Color full = ReportCharts.SCALE[ReportCharts.SCALE.length - 1];
        BufferedImage perfect = ImageIO.read(ReportWriter.write(
                SampleReports.single(new double[][] {{100}, {100, 100}}), dir.resolve("a")).accuracyMatrixPng().toFile());
        BufferedImage half = ImageIO.read(ReportWriter.write(
                SampleReports.single(new double[][] {{50}, {50, 50}}), dir.resolve("b")).accuracyMatrixPng().toFile());
        // three cells at 100 % cover a large area in the top colour; at 50 % only the colour bar keeps a sliver
        int inPerfect = count(perfect, full), inHalf = count(half, full);
        assertTrue(inPerfect > 30_000, "100 % cells: " + inPerfect);
        assertTrue(inHalf < 5_000, "50 % cells drawn in the top colour: " + inHalf);
    }

    @Test
    void aSecondRunReplacesTheReports() throws IOException {
        ReportWriter.write(SampleReports.threeTasks(), dir);
        ReportWriter.Written w = ReportWriter.write(SampleReports.single(new double[][] {{12.5}}), dir);
        Object root = Json.parse(Files.readString(w.resultsJson()));
        assertEquals(12.5, Json.doubleAt(root, "methods", SampleReports.MAIN, "class_il", "faa"), 0.0);
        assertEquals(1 + 5, Files.readAllLines(w.metricsCsv()).size());
        assertEquals(4, names(dir).size());
    }

    private static int distinctColours(BufferedImage img) {
        Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) colours.add(img.getRGB(x, y));
        }
        return colours.size();
    }

    private static int count(BufferedImage img, Color c) {
        int n = 0, rgb = c.getRGB();
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) if (img.getRGB(x, y) == rgb) n++;
        }
        return n;
    }

    private static List<String> names(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
