package io.starprompt.cl;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import java.util.function.IntToDoubleFunction;

/**
 * Class-incremental accuracies (ALGORITHM.md §7.3): {@code acc[i][j]} = accuracy (%) on the test set of
 * task j after learning task i, defined for j ≤ i (NaN elsewhere). Rows are filled as training
 * proceeds; the summary metrics use the last filled row.
 *
 * <ul>
 *   <li>FAA = (1/T) Σ_j a_{T−1,j} (unweighted over tasks),
 *   <li>forgetting = (1/(T−1)) Σ_{j&lt;T−1} [max_{i ≥ j} a_{i,j} − a_{T−1,j}] (max includes the last row),
 *   <li>BWT = (1/(T−1)) Σ_{j&lt;T−1} (a_{T−1,j} − a_{j,j}).
 * </ul>
 * With "last row" meaning the last completed row r, the same formulas with T = r + 1 (so they are
 * meaningful mid-run). With a single task forgetting and BWT are 0.
 *
 * <p>The average incremental accuracy (AIA, ALGORITHM.md §7.3) is the
 * usual mean, over the tasks learned so far, of the average accuracy after each of them:
 * AIA = (1/T) Σ_i A_i with A_i = (1/(i+1)) Σ_{j≤i} a_{i,j}. Like FAA (ALGORITHM.md §7.3) every mean
 * weights tasks equally, not by their number of test images or classes, so A_i is the accuracy
 * on the seen classes exactly when the seen tasks have test sets of equal size.
 *
 * <p>The per-row variants ({@link #averageIncrementalAccuracy(int)}, {@link #forgetting(int)},
 * {@link #backwardTransfer(int)}) evaluate the same formulas as if row i were the last, which is
 * what a report needs to show how a metric evolved over the run.
 */
public final class AccuracyMatrix {
    /** Row i holds its i + 1 entries once set and is null before: memory grows with the rows recorded. */
    private final double[][] acc;
    private int rows;

    /**
     * An empty matrix for a run of {@code tasks} tasks (every entry NaN until its row is set).
     *
     * @param tasks T, the number of tasks of the run
     */
    public AccuracyMatrix(int tasks) {
        if (tasks < 1) throw new IllegalArgumentException("accuracy matrix: need ≥ 1 task, got " + tasks);
        acc = new double[tasks][];
    }

    /**
     * A matrix from a full lower-triangular table (rows of length T, entries above the diagonal ignored).
     *
     * @param table row i holds the accuracies after task i (at least i + 1 entries each)
     * @return the matrix
     */
    public static AccuracyMatrix of(double[][] table) {
        AccuracyMatrix m = new AccuracyMatrix(table.length);
        for (int i = 0; i < table.length; i++) m.setRow(i, Arrays.copyOf(table[i], i + 1));
        return m;
    }

    /**
     * Number of tasks T of the run (the matrix is T×T).
     *
     * @return T
     */
    public int tasks() {
        return acc.length;
    }

    /**
     * Number of completed rows (tasks learned so far).
     *
     * @return the rows set so far
     */
    public int rows() {
        return rows;
    }

    /**
     * Records the accuracies after learning task i on tasks 0…i. Rows must be set in order
     * (i = rows()), or an existing row may be overwritten.
     *
     * @param i the task just learned
     * @param accuracies the accuracies (%) on the test sets of tasks 0…i
     */
    public void setRow(int i, double[] accuracies) {
        if (i < 0 || i >= acc.length || i > rows) {
            throw new IllegalArgumentException("accuracy matrix: row " + i + " cannot be set (rows so far " + rows
                    + ", tasks " + acc.length + ")");
        }
        if (accuracies.length != i + 1) {
            throw new IllegalArgumentException("accuracy matrix: row " + i + " needs " + (i + 1) + " accuracies, got "
                    + accuracies.length);
        }
        acc[i] = accuracies.clone();
        if (i == rows) rows++;
    }

    /**
     * a_{i,j} (NaN if j &gt; i or the row is not filled).
     *
     * @param i the row (after task i)
     * @param j the column (tested task)
     * @return the accuracy in %
     */
    public double get(int i, int j) {
        Objects.checkIndex(j, acc.length);
        return acc[i] == null || j > i ? Double.NaN : acc[i][j];
    }

    /**
     * Row i, entries 0…i (NaN while the row is not filled).
     *
     * @param i the row
     * @return a copy of its i + 1 entries
     */
    public double[] row(int i) {
        if (acc[i] == null) {
            double[] empty = new double[i + 1];
            Arrays.fill(empty, Double.NaN);
            return empty;
        }
        return acc[i].clone();
    }

    private int last() {
        if (rows == 0) throw new IllegalStateException("accuracy matrix: no row recorded yet");
        return rows - 1;
    }

    private void checkRecorded(int i) {
        if (i < 0 || i >= rows) {
            throw new IllegalArgumentException("accuracy matrix: row " + i + " is not recorded (rows so far " + rows + ")");
        }
    }

    /**
     * Mean accuracy over tasks after the last recorded task (FAA once all T rows are in).
     *
     * @return the mean of the last recorded row, in %
     */
    public double finalAverageAccuracy() {
        int r = last();
        double s = 0;
        for (int j = 0; j <= r; j++) s += acc[r][j];
        return s / (r + 1);
    }

    /**
     * Average accuracy after learning task i (mean of row i; NaN while the row is not filled).
     *
     * @param i the row
     * @return the mean of row i, in %
     */
    public double averageAccuracy(int i) {
        if (acc[i] == null) return Double.NaN;
        double s = 0;
        for (int j = 0; j <= i; j++) s += acc[i][j];
        return s / (i + 1);
    }

    /**
     * The average accuracy after each recorded task, {@code A_i = averageAccuracy(i)} for
     * i = 0…rows()−1: the accuracy on the tasks seen so far, as plotted over a run. Empty
     * before the first row.
     *
     * @return one average per recorded row, in %
     */
    public double[] averageAccuracies() {
        double[] a = new double[rows];
        for (int i = 0; i < rows; i++) a[i] = averageAccuracy(i);
        return a;
    }

    /**
     * Average incremental accuracy up to the last recorded task (see the class comment).
     *
     * @return the mean of the average accuracies of all recorded rows, in %
     */
    public double averageIncrementalAccuracy() {
        return averageIncrementalAccuracy(last());
    }

    /**
     * Average incremental accuracy over tasks 0…i: the mean of averageAccuracy(0…i).
     *
     * @param i the last row taken into account
     * @return the mean of averageAccuracy(0…i), in %
     */
    public double averageIncrementalAccuracy(int i) {
        checkRecorded(i);
        double s = 0;
        for (int t = 0; t <= i; t++) s += averageAccuracy(t);
        return s / (i + 1);
    }

    /**
     * Mean over earlier tasks of (best accuracy ever − final accuracy); 0 with one row.
     *
     * @return the mean forgetting in percentage points
     */
    public double forgetting() {
        return forgetting(last());
    }

    /**
     * Forgetting as if row {@code row} were the last: later rows are ignored; 0 for row 0.
     *
     * @param row the row taken as the last
     * @return the mean forgetting in percentage points
     */
    public double forgetting(int row) {
        return meanOverEarlierTasks(row, j -> {
            double best = Double.NEGATIVE_INFINITY;
            for (int i = j; i <= row; i++) best = Math.max(best, acc[i][j]);
            return best - acc[row][j];
        });
    }

    /**
     * Backward transfer: mean over earlier tasks of (final − just-learned accuracy); 0 with one row.
     *
     * @return the mean backward transfer in percentage points
     */
    public double backwardTransfer() {
        return backwardTransfer(last());
    }

    /**
     * Backward transfer as if row {@code row} were the last; 0 for row 0.
     *
     * @param row the row taken as the last
     * @return the mean backward transfer in percentage points
     */
    public double backwardTransfer(int row) {
        return meanOverEarlierTasks(row, j -> acc[row][j] - acc[j][j]);
    }

    /** The mean of perTask(j) over the tasks j learned before row {@code row}; 0 for row 0. */
    private double meanOverEarlierTasks(int row, IntToDoubleFunction perTask) {
        checkRecorded(row);
        if (row == 0) return 0;
        double s = 0;
        for (int j = 0; j < row; j++) s += perTask.applyAsDouble(j);
        return s / row;
    }

    // ------------------------------------------------------------------ export

    /**
     * {"tasks":T,"rows":r,"accuracy":[[…],…],"average_accuracy":[…],"faa":…,"aia":…,"forgetting":…,"bwt":…}.
     *
     * @return the JSON text
     */
    public String toJson() {
        StringBuilder sb = new StringBuilder("{\n  \"tasks\": ").append(acc.length).append(",\n  \"rows\": ").append(rows)
                .append(",\n  \"accuracy\": [");
        for (int i = 0; i < rows; i++) {
            sb.append(i == 0 ? "\n    [" : ",\n    [");
            for (int j = 0; j <= i; j++) sb.append(j == 0 ? "" : ", ").append(num(acc[i][j]));
            sb.append(']');
        }
        sb.append(rows == 0 ? "]" : "\n  ]");
        if (rows > 0) {
            sb.append(",\n  \"average_accuracy\": [");
            for (int i = 0; i < rows; i++) sb.append(i == 0 ? "" : ", ").append(num(averageAccuracy(i)));
            sb.append("],\n  \"faa\": ").append(num(finalAverageAccuracy()))
                    .append(",\n  \"aia\": ").append(num(averageIncrementalAccuracy()))
                    .append(",\n  \"forgetting\": ").append(num(forgetting()))
                    .append(",\n  \"bwt\": ").append(num(backwardTransfer()));
        }
        return sb.append("\n}\n").toString();
    }

    /**
     * CSV with header {@code after_task,task_0,…,task_{T−1}}; cells above the diagonal empty.
     *
     * @return the CSV text, one line per recorded row after the header
     */
    public String toCsv() {
        StringBuilder sb = new StringBuilder("after_task");
        for (int j = 0; j < acc.length; j++) sb.append(",task_").append(j);
        sb.append('\n');
        for (int i = 0; i < rows; i++) {
            sb.append(i);
            for (int j = 0; j < acc.length; j++) sb.append(',').append(j <= i ? num(acc[i][j]) : "");
            sb.append('\n');
        }
        return sb.toString();
    }

    /**
     * Writes {@link #toJson()} to file.
     *
     * @param file the file to write (replaced if present)
     * @throws IOException if the file cannot be written
     */
    public void writeJson(Path file) throws IOException {
        Files.writeString(file, toJson());
    }

    /**
     * Writes {@link #toCsv()} to file.
     *
     * @param file the file to write (replaced if present)
     * @throws IOException if the file cannot be written
     */
    public void writeCsv(Path file) throws IOException {
        Files.writeString(file, toCsv());
    }

    private static String num(double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) return "null";
        return String.format(Locale.ROOT, "%.4f", v);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("AccuracyMatrix (%), rows = after task i\n");
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j <= i; j++) sb.append(String.format(Locale.ROOT, "%7.2f", acc[i][j]));
            sb.append('\n');
        }
        if (rows > 0) {
            sb.append(String.format(Locale.ROOT, "FAA %.2f  forgetting %.2f  BWT %.2f", finalAverageAccuracy(),
                    forgetting(), backwardTransfer()));
        }
        return sb.toString();
    }
}
