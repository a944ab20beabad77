package io.starprompt.fuzz;

import io.starprompt.data.RgbImage;
import io.starprompt.data.sets.Dataset;
import io.starprompt.data.sets.DatasetCheck;
import io.starprompt.data.sets.DatasetOptions;
import io.starprompt.data.sets.Datasets;
import io.starprompt.data.sets.Fixtures;
import io.starprompt.data.sets.Sample;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every dataset format's loader on mutated datasets, as {@code train} meets them: first the
 * lenient check that lists every problem ({@link DatasetCheck}), then the strict open
 * ({@link Datasets#open}, the format recognised from the folder as without {@code --format}),
 * then every in-memory image decoded and every count taken. Each case ends in a dataset or an
 * IllegalArgumentException naming the dataset's path.
 *
 * <p>Formats of several files are fuzzed as a {@link FileBundle}: one input holding every file
 * of the folder, so that mutations hit any of them, several at once, or drop one.
 */
class DatasetFuzzTest {
    @TempDir(factory = Fuzzer.MemoryTempDir.class)
    static Path dir;

    /**
     * Empty class folders for the split-file targets and CUB's images: whether a listed image exists
     * and decodes is checked (and reported) per file, and decoding is the image decoders' target.
     */
    @BeforeAll
    static void classFolders() throws IOException {
        for (String c : List.of("cat", "dog")) {
            Files.createDirectories(dir.resolve("split").resolve(c));
            Files.createDirectories(dir.resolve("split-json").resolve(c));
        }
        for (String c : List.of("001.Black_footed_Albatross", "002.Laysan_Albatross")) {
            Files.createDirectories(dir.resolve("cub").resolve("images").resolve(c));
        }
    }

    /** Everything the train command does with a dataset before training. */
    private static void load(Path path) {
        DatasetCheck.Report report = DatasetCheck.check(path, DatasetOptions.defaults(), 1, DatasetCheck.SILENT);
        report.format(20);
        Dataset d = Datasets.open(path, DatasetOptions.defaults());
        d.coverageProblems();
        d.files();
        for (List<Sample> split : List.of(d.train(), d.test())) {
            for (Sample s : split) {
                if (s.label() >= d.classes()) throw new AssertionError("label " + s.label() + " of " + d.classes());
                if (s.hasFile()) continue; // image files: the image decoders' own target
                RgbImage img = s.source().load();
                if (img.toChw().length != 3 * img.width() * img.height()) throw new AssertionError(img.toString());
            }
        }
    }

    private static Fuzzer target(String name, Path source, byte[]... seeds) {
        return Fuzzer.target(name).seeds(seeds).documented(IllegalArgumentException.class).source(source.toString());
    }

    private static Map<String, byte[]> files(Object... nameAndBytes) {
        Map<String, byte[]> m = new LinkedHashMap<>();
        for (int i = 0; i < nameAndBytes.length; i += 2) {
            Object v = nameAndBytes[i + 1];
            m.put((String) nameAndBytes[i], v instanceof String s ? s.getBytes(StandardCharsets.UTF_8) : (byte[]) v);
        }
        return m;
    }

    // ------------------------------------------------------------------ CIFAR-100

    private static Map<String, byte[]> cifarFiles(int classes, int[] train, int[] test) {
        return files("train.bin", Fixtures.cifarRecords(train), "test.bin", Fixtures.cifarRecords(test),
                "fine_label_names.txt", Fixtures.lines(Fixtures.names("class", classes)));
    }

    private static byte[][] cifarSeeds() {
        return new byte[][] {
            FileBundle.pack(cifarFiles(3, new int[] {0, 1, 2}, new int[] {2, 0})),
            FileBundle.pack(cifarFiles(2, new int[] {1}, new int[] {0})),
        };
    }

    @Test
    void cifar100Folder() {
        Path folder = dir.resolve("cifar");
        target("cifar-100 folder", folder, cifarSeeds())
                .parse(bytes -> load(FileBundle.writeInto(folder, bytes)))
                .run();
    }

    private static byte[] cifarTar(Map<String, byte[]> files) {
        Map<String, byte[]> inArchive = new LinkedHashMap<>();
        inArchive.put("cifar-100-binary/coarse_label_names.txt", Fixtures.lines(Fixtures.names("coarse", 2)));
        files.forEach((name, bytes) -> inArchive.put("cifar-100-binary/" + name, bytes));
        return Fixtures.tar(inArchive);
    }

    @Test
    void cifar100Archive() {
        Path archive = dir.resolve("cifar-100-binary.tar.gz");
        byte[][] seeds = {
            Fixtures.gzip(cifarTar(cifarFiles(3, new int[] {0, 1, 2}, new int[] {2, 0}))),
            Fixtures.gzip(cifarTar(cifarFiles(2, new int[] {1}, new int[] {0}))),
        };
        target("cifar-100 .tar.gz", archive, seeds)
                .parse(bytes -> load(Fuzzer.write(archive, bytes)))
                .run();
    }

    /** The tar inside the archive mutated, then gzipped: headers, sizes and names of the entries. */
    @Test
    void cifar100ArchiveTarEntries() {
        Path archive = dir.resolve("entries.tar.gz");
        byte[][] seeds = {
            cifarTar(cifarFiles(3, new int[] {0, 1, 2}, new int[] {2, 0})),
            cifarTar(cifarFiles(2, new int[] {1}, new int[] {0})),
        };
        target("cifar-100 tar entries", archive, seeds)
                .parse(bytes -> load(Fuzzer.write(archive, Fixtures.gzip(bytes))))
                .run();
    }

    // ------------------------------------------------------------------ IDX

    private static byte[] pixels(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (i * 29 + seed);
        return b;
    }

    private static Map<String, byte[]> idxFiles(String suffix, boolean gzip, int side, int train, int test) {
        Map<String, byte[]> m = new LinkedHashMap<>();
        byte[] trainLabels = new byte[train];
        byte[] testLabels = new byte[test];
        for (int i = 0; i < train; i++) trainLabels[i] = (byte) (i % 3);
        for (int i = 0; i < test; i++) testLabels[i] = (byte) ((i + 1) % 3);
        m.put("train-images-idx3-ubyte" + suffix, Fixtures.idx(pixels(train * side * side, 1), train, side, side));
        m.put("train-labels-idx1-ubyte" + suffix, Fixtures.idx(trainLabels, train));
        m.put("t10k-images-idx3-ubyte" + suffix, Fixtures.idx(pixels(test * side * side, 2), test, side, side));
        m.put("t10k-labels-idx1-ubyte" + suffix, Fixtures.idx(testLabels, test));
        if (gzip) m.replaceAll((name, bytes) -> Fixtures.gzip(bytes));
        return m;
    }

    @Test
    void idxPlain() {
        Path folder = dir.resolve("idx");
        target("idx", folder, FileBundle.pack(idxFiles("", false, 4, 3, 2)), FileBundle.pack(idxFiles("", false, 2, 1, 1)))
                .parse(bytes -> load(FileBundle.writeInto(folder, bytes)))
                .run();
    }

    @Test
    void idxGzip() {
        Path folder = dir.resolve("idx-gz");
        target("idx .gz", folder, FileBundle.pack(idxFiles(".gz", true, 4, 3, 2)),
                FileBundle.pack(idxFiles(".gz", true, 2, 1, 1)))
                .parse(bytes -> load(FileBundle.writeInto(folder, bytes)))
                .run();
    }

    // ------------------------------------------------------------------ CUB-200-2011

    @Test
    void cub200Lists() {
        Path root = dir.resolve("cub");
        String a = "001.Black_footed_Albatross", b = "002.Laysan_Albatross";
        byte[] seed = FileBundle.pack(files(
                "classes.txt", "1 " + a + "\n2 " + b + "\n",
                "images.txt", "1 " + a + "/img0.png\n2 " + a + "/img1.png\n3 " + b + "/img0.png\n4 " + b + "/img1.png\n",
                "image_class_labels.txt", "1 1\n2 1\n3 2\n4 2\n",
                "train_test_split.txt", "1 1\n2 0\n3 1\n4 0\n"));
        byte[] small = FileBundle.pack(files(
                "classes.txt", "1 " + a + "\n",
                "images.txt", "7 " + a + "/img0.png\r\n9 " + a + "/img1.png\r\n",
                "image_class_labels.txt", "9 1\n7 1\n",
                "train_test_split.txt", "7 1\n9 0\n"));
        target("cub-200 lists", root, seed, small)
                .parse(bytes -> load(FileBundle.writeInto(root, bytes)))
                .run();
    }

    // ------------------------------------------------------------------ split files

    @Test
    void splitCsv() {
        Path root = dir.resolve("split");
        Path file = root.resolve("split.csv");
        byte[][] seeds = {
            ("path,label,split\ncat/img0.png,cat,train\ncat/img1.png,cat,test\ndog/img0.png,1,train\n"
                    + "dog/img1.png,dog,test\n").getBytes(StandardCharsets.UTF_8),
            ("\uFEFFsplit,\"path\",label\r\ntrain,\"dog/img0.png\",dog\r\ntest,\"dog/img1.png\",\"1\"\r\n"
                    + "train,cat/img0.png,0\r\ntest,\"cat/img1.png\",\"c\"\"at\"\r\n").getBytes(StandardCharsets.UTF_8),
        };
        target("split.csv", root, seeds)
                .parse(bytes -> {
                    Fuzzer.write(file, bytes);
                    load(root);
                })
                .run();
    }

    @Test
    void splitJson() {
        Path root = dir.resolve("split-json");
        byte[][] seeds = {
            ("[{\"path\": \"cat/img0.png\", \"label\": \"cat\", \"split\": \"train\"},"
                    + " {\"path\": \"cat/img1.png\", \"label\": 0, \"split\": \"test\"},"
                    + " {\"path\": \"dog/img0.png\", \"label\": \"dog\", \"split\": \"train\"},"
                    + " {\"path\": \"dog/img1.png\", \"label\": 1, \"split\": \"TEST\"}]").getBytes(StandardCharsets.UTF_8),
            "[{\"split\":\"train\",\"label\":1,\"path\":\"dog/img1.png\"},{\"split\":\"test\",\"label\":\"dog\",\"path\":\"dog/img0.png\"}]"
                    .getBytes(StandardCharsets.UTF_8),
        };
        Path file = root.resolve("split.json");
        target("split.json", root, seeds)
                .parse(bytes -> {
                    Fuzzer.write(file, bytes);
                    load(root);
                })
                .run();
    }
}
