package io.starprompt.data.sets;

import io.starprompt.data.Images;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CompletionService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Checks a whole dataset before any training and reports every problem at once:
 * <ul>
 *   <li>the index files (split file, CUB's lists, CIFAR/IDX headers and labels): malformed
 *       entries, unknown labels or ids, paths leaving the dataset folder;</li>
 *   <li>classes without train or without test images: an empty class folder, a class folder present
 *       in one split only, a class the split file never assigns to a split;</li>
 *   <li>every image file: it exists, is readable and its header decodes to a positive size. Only
 *       the header is read (ImageIO's {@code getWidth}/{@code getHeight}), on a thread pool, so the
 *       pass is fast; a file damaged after its header is found later, when its batch decodes it.</li>
 * </ul>
 * Typical use before training:
 * <pre>{@code
 * DatasetCheck.Report r = DatasetCheck.check(path, options, threads, (done, total) -> ...);
 * if (!r.isOk()) System.err.println(r.format(20));
 * if (r.isOk() || (skipBadImages && r.onlyBadImages())) {
 *     ImageTaskData data = ImageTaskData.builder(Datasets.open(path, options)).exclude(r.badImages())...build();
 * }
 * }</pre>
 */
public final class DatasetCheck {
    /** Progress of the image pass. */
    @FunctionalInterface
    public interface Progress {
        /**
         * Called on the checking thread: once with {@code done = 0} before the pass, then after each
         * image file.
         *
         * @param done image files checked so far
         * @param total image files to check
         */
        void update(int done, int total);
    }

    /** No progress reports. */
    public static final Progress SILENT = (done, total) -> { };

    private DatasetCheck() {}

    /**
     * Opens the dataset leniently (collecting every problem in its index files instead of stopping
     * at the first) and checks it. A dataset that cannot be read at all (no recognisable format, a
     * truncated CIFAR or IDX file...) gives a report with that one problem.
     *
     * @param path the dataset's file or folder
     * @param options how to read it
     * @param threads threads of the image pass, at least 1
     * @param progress called as images are checked
     * @return the report
     */
    public static Report check(Path path, DatasetOptions options, int threads, Progress progress) {
        Problems problems = Problems.collecting();
        Dataset dataset;
        try {
            dataset = Datasets.open(path, options, problems);
        } catch (IllegalArgumentException e) {
            List<Problem> all = new ArrayList<>(problems.list());
            all.add(new Problem(null, e.getMessage()));
            return new Report(all, List.of(), 0);
        }
        return check(dataset, problems.list(), threads, progress);
    }

    /**
     * Checks an opened dataset: classes without images and every image file.
     *
     * @param dataset the opened dataset
     * @param threads threads of the image pass, at least 1
     * @param progress called as images are checked
     * @return the report
     */
    public static Report check(Dataset dataset, int threads, Progress progress) {
        return check(dataset, List.of(), threads, progress);
    }

    private static Report check(Dataset dataset, List<Problem> indexProblems, int threads, Progress progress) {
        if (threads < 1) throw new IllegalArgumentException("dataset check: thread count must be positive, got " + threads);
        Objects.requireNonNull(progress, "dataset check: progress");
        List<Problem> problems = new ArrayList<>(indexProblems);
        problems.addAll(dataset.coverageProblems());
        List<Path> files = dataset.files();
        Map<Path, Problem> bad = probeAll(files, threads, progress);
        problems.addAll(bad.values());
        return new Report(problems, List.copyOf(bad.keySet()), files.size());
    }

    /** The outcome of one header probe: null problem if the file is fine. */
    private record Probe(Path file, Problem problem) {}

    /** Probes every file on a pool (on this thread when threads is 1); the bad ones sorted by path. */
    private static Map<Path, Problem> probeAll(List<Path> files, int threads, Progress progress) {
        if (threads == 1 || files.size() <= 1) {
            Map<Path, Problem> bad = new TreeMap<>();
            progress.update(0, files.size());
            for (int n = 1; n <= files.size(); n++) {
                Probe p = probe(files.get(n - 1));
                if (p.problem() != null) bad.put(p.file(), p.problem());
                progress.update(n, files.size());
            }
            return bad;
        }
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "starprompt-dataset-check");
            t.setDaemon(true);
            return t;
        });
        try {
            CompletionService<Probe> done = new ExecutorCompletionService<>(pool);
            for (Path f : files) done.submit(() -> probe(f));
            Map<Path, Problem> bad = new TreeMap<>();
            progress.update(0, files.size());
            for (int n = 1; n <= files.size(); n++) {
                Probe p = done.take().get();
                if (p.problem() != null) bad.put(p.file(), p.problem());
                progress.update(n, files.size());
            }
            return bad;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("dataset check interrupted", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("dataset check failed: " + e.getCause(), e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }

    private static Probe probe(Path file) {
        try {
            Images.probe(file);
            return new Probe(file, null);
        } catch (RuntimeException e) {
            String prefix = file + ": ";
            String msg = String.valueOf(e.getMessage());
            return new Probe(file, new Problem(file.toString(), msg.startsWith(prefix) ? msg.substring(prefix.length()) : msg));
        }
    }

    /**
     * Everything wrong with a dataset; immutable.
     *
     * @param problems      every problem: index entries first, then classes without images, then bad
     *                      images by path
     * @param badImages     the image files that are missing, unreadable or not decodable, sorted (for
     *                      {@link ImageTaskData.Builder#exclude})
     * @param checkedImages how many image files the header pass looked at (0 for in-memory formats)
     */
    public record Report(List<Problem> problems, List<Path> badImages, int checkedImages) {
        /**
         * Copies the lists.
         *
         * @param problems      every problem
         * @param badImages     the bad image files
         * @param checkedImages the image files looked at
         */
        public Report {
            problems = List.copyOf(problems);
            badImages = List.copyOf(badImages);
        }

        /**
         * No problem at all.
         *
         * @return whether the dataset passed
         */
        public boolean isOk() {
            return problems.isEmpty();
        }

        /**
         * Whether bad image files are the only problems, so that leaving them out may give a usable
         * dataset (it does unless that empties a class, which building then reports).
         *
         * @return whether only image files failed
         */
        public boolean onlyBadImages() {
            return problems.size() == badImages.size();
        }

        /**
         * One line per problem, at most {@code max} of them, then "… and N more"; a single line
         * when there is no problem.
         *
         * @param max the most problems to list
         * @return the text
         */
        public String format(int max) {
            if (problems.isEmpty()) return "dataset OK (" + checkedImages + " image files checked)";
            List<String> lines = new ArrayList<>();
            for (int i = 0; i < Math.min(max, problems.size()); i++) lines.add(problems.get(i).toString());
            if (problems.size() > max) lines.add("… and " + (problems.size() - max) + " more");
            return String.join("\n", lines);
        }

        /** {@link #format(int) format(20)}. */
        @Override
        public String toString() {
            return format(20);
        }
    }
}
