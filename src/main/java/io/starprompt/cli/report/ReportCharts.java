package io.starprompt.cli.report;

import io.starprompt.cl.AccuracyMatrix;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategorySeries;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.style.AxesChartStyler;
import org.knowm.xchart.style.CategoryStyler;
import org.knowm.xchart.style.HeatMapStyler;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The two plots of a report, drawn with XChart into images of {@link #WIDTH}×{@link #HEIGHT}
 * pixels: the accuracy matrix of the main method as a heat map, and the accuracy on the seen tasks
 * after each task for every method. Tasks are numbered from 1 here, as people count them (the data
 * files use the library's 0-based indices).
 *
 * <p>Drawing needs no display: unless the JVM was told otherwise, loading this class sets
 * {@code java.awt.headless=true}, before XChart touches AWT.
 */
public final class ReportCharts {
    /** Image width in pixels. */
    public static final int WIDTH = 800;
    /** Image height in pixels. */
    public static final int HEIGHT = 600;

    static {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    // Past 12 tasks a decimal no longer fits at a readable size; past 30 not even the integer does.
    private static final int MAX_TASKS_WITH_DECIMALS = 12, MAX_LABELLED_TASKS = 30;
    private static final String FONT = Font.SANS_SERIF;
    private static final Color GRID = new Color(0xDD, 0xDD, 0xDD);
    private static final Color TEXT = new Color(0x22, 0x22, 0x22);
    // Pale yellow → green → teal → blue, so that the 50–100 % range where runs usually land spans
    // three hues; every stop is light enough for the black cell values to stay legible.
    static final Color[] SCALE = {new Color(0xFF, 0xFB, 0xE6), new Color(0xFE, 0xE3, 0x91),
            new Color(0xA6, 0xDB, 0x8C), new Color(0x5C, 0xBC, 0xB4), new Color(0x5A, 0x9B, 0xD4)};
    // Distinguishable for common colour-vision deficiencies (Okabe–Ito), main method first.
    static final Color[] SERIES = {new Color(0x00, 0x72, 0xB2), new Color(0xE6, 0x9F, 0x00),
            new Color(0x00, 0x9E, 0x73), new Color(0xCC, 0x79, 0xA7), new Color(0x56, 0xB4, 0xE9),
            new Color(0xD5, 0x5E, 0x00), new Color(0x00, 0x00, 0x00), new Color(0xF0, 0xE4, 0x42)};

    private ReportCharts() {}

    /**
     * The class-IL accuracy matrix of the report's main method: row "after task i", column
     * "task j", each recorded cell coloured on a fixed 0–100 % scale and labelled with its
     * value. Cells above the diagonal (tasks not yet learned) and rows not recorded stay blank.
     *
     * @param report the report
     * @return the image
     */
    public static BufferedImage accuracyMatrix(RunReport report) {
        MethodResult main = report.mainMethod();
        AccuracyMatrix a = main.classIl();
        int t = a.tasks();
        // With a theme: XChart 3.8.8's plain (width, height) constructor leaves the heat-map styler
        // uninitialised (no locale, no number patterns), and painting then fails.
        HeatMapChart chart = new HeatMapChart(WIDTH, HEIGHT, Styler.ChartTheme.XChart);
        chart.setTitle("Accuracy matrix of " + main.name() + " (class-incremental)");
        chart.setXAxisTitle("Evaluated on task");
        chart.setYAxisTitle("After learning task");
        HeatMapStyler s = chart.getStyler();
        commonStyle(s);
        s.setPlotBorderVisible(true);
        s.setPlotGridLinesVisible(false);
        s.setRangeColors(SCALE);
        s.setMin(0);
        s.setMax(100);
        s.setShowValue(t <= MAX_LABELLED_TASKS);
        s.setHeatMapValueDecimalPattern(t <= MAX_TASKS_WITH_DECIMALS ? "0.0" : "0");
        s.setValueFont(new Font(FONT, Font.BOLD, valueFontSize(t)));
        s.setValueFontColor(TEXT);
        s.setDrawBorder(true);
        s.setLegendPosition(Styler.LegendPosition.OutsideE);
        s.setGradientColorColumnHeight(HEIGHT * 3 / 5);
        chart.addSeries("accuracy (%)", taskNumbers(t), rowsTopDown(t), cells(a)).setMin(0).setMax(100);
        return BitmapEncoder.getBufferedImage(chart);
    }

    /**
     * The average accuracy on the tasks seen so far after each task (the mean of each matrix row),
     * one line per method of the report, on a 0–100 % axis, with the method names in the legend.
     *
     * @param report the report
     * @return the image
     */
    public static BufferedImage seenAccuracy(RunReport report) {
        int t = 0;
        for (MethodResult m : report.methods()) t = Math.max(t, m.classIl().tasks());
        CategoryChart chart = new CategoryChart(WIDTH, HEIGHT);
        chart.setTitle("Accuracy on the seen tasks (class-incremental)");
        chart.setXAxisTitle("After learning task");
        chart.setYAxisTitle("Mean accuracy on the seen tasks (%)");
        CategoryStyler s = chart.getStyler();
        commonStyle(s);
        s.setDefaultSeriesRenderStyle(CategorySeries.CategorySeriesRenderStyle.Line);
        // Category charts give each series its own slot, like bars; every method's point for task t belongs on t.
        s.setOverlapped(true);
        s.setSeriesColors(SERIES);
        s.setSeriesLines(new BasicStroke[] {new BasicStroke(2.5f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND)});
        s.setMarkerSize(9);
        s.setYAxisMin(0.0);
        s.setYAxisMax(100.0);
        s.setYAxisDecimalPattern("0");
        s.setPlotGridVerticalLinesVisible(false);
        // A row of more than four names no longer fits the width: a column beside the plot does.
        boolean row = report.methods().size() <= 4;
        s.setLegendPosition(row ? Styler.LegendPosition.OutsideS : Styler.LegendPosition.OutsideE);
        s.setLegendLayout(row ? Styler.LegendLayout.Horizontal : Styler.LegendLayout.Vertical);
        List<Integer> x = taskNumbers(t);
        for (MethodResult m : report.methods()) {
            chart.addSeries(m.name(), x, padded(m.classIl().averageAccuracies(), t)).setMarker(SeriesMarkers.CIRCLE);
        }
        return BitmapEncoder.getBufferedImage(chart);
    }

    private static void commonStyle(AxesChartStyler s) {
        // Decimal points as in the CSV, whatever the user's locale.
        s.setLocale(Locale.ROOT);
        s.setChartBackgroundColor(Color.WHITE);
        s.setPlotBackgroundColor(Color.WHITE);
        s.setPlotBorderColor(GRID);
        s.setPlotGridLinesColor(GRID);
        s.setChartFontColor(TEXT);
        s.setAxisTickLabelsColor(TEXT);
        s.setChartTitleFont(new Font(FONT, Font.BOLD, 18));
        s.setChartTitleBoxVisible(false);
        s.setAxisTitleFont(new Font(FONT, Font.PLAIN, 15));
        s.setAxisTickLabelsFont(new Font(FONT, Font.PLAIN, 13));
        s.setLegendFont(new Font(FONT, Font.PLAIN, 13));
        s.setLegendBorderColor(GRID);
        s.setChartPadding(12);
        s.setAntiAlias(true);
    }

    /** Large enough to read, small enough that the widest label ("100.0", or "100" past 12 tasks) fits a cell. */
    static int valueFontSize(int tasks) {
        int fit = tasks <= MAX_TASKS_WITH_DECIMALS ? 150 / tasks : 220 / tasks;
        return Math.max(8, Math.min(16, fit));
    }

    private static List<Integer> taskNumbers(int tasks) {
        List<Integer> n = new ArrayList<>(tasks);
        for (int i = 1; i <= tasks; i++) n.add(i);
        return n;
    }

    /** XChart puts y index 0 at the bottom; a matrix reads with its first row on top. */
    private static List<Integer> rowsTopDown(int tasks) {
        List<Integer> n = new ArrayList<>(tasks);
        for (int i = tasks; i >= 1; i--) n.add(i);
        return n;
    }

    /** {x index, y index, value} for each recorded cell on or below the diagonal. */
    private static List<Number[]> cells(AccuracyMatrix a) {
        List<Number[]> cells = new ArrayList<>();
        for (int i = 0; i < a.rows(); i++) {
            for (int j = 0; j <= i; j++) {
                double v = a.get(i, j);
                if (Double.isFinite(v)) cells.add(new Number[] {j, a.tasks() - 1 - i, v});
            }
        }
        return cells;
    }

    /** Series of unequal length share one x axis; null leaves the tasks a method did not reach empty. */
    private static List<Double> padded(double[] values, int length) {
        List<Double> y = new ArrayList<>(length);
        for (int i = 0; i < length; i++) y.add(i < values.length && Double.isFinite(values[i]) ? values[i] : null);
        return y;
    }
}
