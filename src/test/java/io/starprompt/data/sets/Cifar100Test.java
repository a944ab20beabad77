package io.starprompt.data.sets;

import static io.starprompt.data.sets.Fixtures.assertNames;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.starprompt.data.CenterCrop;
import io.starprompt.data.ImagePipeline;
import io.starprompt.data.Normalize;
import io.starprompt.data.Resize;
import io.starprompt.data.RgbImage;
import io.starprompt.cl.TaskData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Cifar100Test {
    private static final int[] TRAIN = {3, 99, 0, 3, 42};
    private static final int[] TEST = {42, 7};
    private static final List<String> NAMES = Fixtures.names("fine", 100);

    @TempDir
    Path dir;

    /** The unpacked layout with the names under meta/. */
    private Path folder(int[] train, int[] test) {
        Path root = dir.resolve("cifar");
        Fixtures.write(root.resolve("train.bin"), Fixtures.cifarRecords(train));
        Fixtures.write(root.resolve("test.bin"), Fixtures.cifarRecords(test));
        Fixtures.write(root.resolve("meta/fine_label_names.txt"), Fixtures.lines(NAMES));
        return root;
    }

    /** The official archive's layout: cifar-100-binary/{coarse,fine}_label_names.txt, test.bin, train.bin. */
    private Path archive(int[] train, int[] test) {
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("cifar-100-binary/coarse_label_names.txt", Fixtures.lines(Fixtures.names("coarse", 20)));
        files.put("cifar-100-binary/fine_label_names.txt", Fixtures.lines(NAMES));
        files.put("cifar-100-binary/test.bin", Fixtures.cifarRecords(test));
        files.put("cifar-100-binary/train.bin", Fixtures.cifarRecords(train));
        return Fixtures.write(dir.resolve("cifar-100-binary.tar.gz"), Fixtures.gzip(Fixtures.tar(files)));
    }

    private static void assertContents(Dataset d) {
        assertEquals(100, d.classes());
        assertEquals("fine_42", d.classKeys().get(42));
        assertEquals("fine 42", d.classNames().get(42));
        assertArrayEquals(TRAIN, d.train().stream().mapToInt(Sample::label).toArray());
        assertArrayEquals(TEST, d.test().stream().mapToInt(Sample::label).toArray());
        assertFalse(d.train().get(0).hasFile());
        assertEquals(List.of(), d.files());
        for (int r = 0; r < TRAIN.length; r++) assertPixels(r, d.train().get(r).source().load());
        assertPixels(1, d.test().get(1).source().load());
    }

    /** Every pixel against the bytes written: R plane, then G, then B, row-major. */
    private static void assertPixels(int record, RgbImage img) {
        assertEquals(32, img.width());
        assertEquals(32, img.height());
        for (int y = 0; y < 32; y++) {
            for (int x = 0; x < 32; x++) {
                for (int c = 0; c < 3; c++) {
                    assertEquals(Fixtures.cifarPixel(record, c, y * 32 + x), img.get(x, y, c), "pixel " + x + "," + y + "," + c);
                }
            }
        }
    }

    @Test
    void readsTheUnpackedFolder() {
        Path root = folder(TRAIN, TEST);
        assertContents(Cifar100.load(root));
        assertEquals(Datasets.Format.CIFAR100, Datasets.detect(root));
    }

    @Test
    void readsTheFolderInsideAnUnpackedArchive() {
        Path outer = dir.resolve("outer");
        Path inner = outer.resolve(Cifar100.ARCHIVE_FOLDER);
        Fixtures.write(inner.resolve("train.bin"), Fixtures.cifarRecords(TRAIN));
        Fixtures.write(inner.resolve("test.bin"), Fixtures.cifarRecords(TEST));
        Fixtures.write(inner.resolve("fine_label_names.txt"), Fixtures.lines(NAMES));
        assertContents(Datasets.open(outer, DatasetOptions.defaults()));
    }

    @Test
    void readsTheArchive() {
        Path tgz = archive(TRAIN, TEST);
        assertEquals(Datasets.Format.CIFAR100, Datasets.detect(tgz));
        assertContents(Datasets.open(tgz, DatasetOptions.defaults()));
    }

    @Test
    void namesFileOverridesTheFineLabelNames() {
        Path names = Fixtures.write(dir.resolve("names.txt"), Fixtures.lines(Fixtures.names("other", 100)));
        Dataset d = Datasets.open(archive(TRAIN, TEST), DatasetOptions.defaults().withClassNames(names));
        assertEquals("other_99", d.classNames().get(99));
        assertEquals("fine_99", d.classKeys().get(99));
        Path short_ = Fixtures.write(dir.resolve("short.txt"), Fixtures.lines(Fixtures.names("other", 10)));
        assertNames(short_, () -> Datasets.open(dir.resolve("cifar-100-binary.tar.gz"),
                DatasetOptions.defaults().withClassNames(short_)), "10 class names", "100 classes");
    }

    @Test
    void feedsImageTaskDataWithTheRecordPixels() {
        int[] labels = new int[100];
        for (int c = 0; c < 100; c++) labels[c] = 99 - c;
        try (ImageTaskData data = ImageTaskData.builder(Cifar100.load(folder(labels, labels))).tasks(10).imageSize(32)
                .threads(2).build()) {
            assertEquals(10, data.tasks());
            TaskData.Batch b = data.clipBatches(0, TaskData.Split.TEST, 4).iterator().next();
            // new label 0 = fine label 0 = record 99 in both files
            assertArrayEquals(new int[] {0, 1, 2, 3}, b.labels());
            RgbImage record99 = Cifar100.load(dir.resolve("cifar")).test().get(99).source().load();
            float[] expected = ImagePipeline.of(Normalize.CLIP, Resize.shorterSide(32), CenterCrop.of(32))
                    .apply(record99, new SplittableRandom(0));
            assertArrayEquals(expected, Arrays.copyOf(b.clipImages(), expected.length));
        }
    }

    @Test
    void truncatedOrCorruptFolderFilesAreNamed() throws IOException {
        Path root = folder(TRAIN, TEST);
        Path train = root.resolve("train.bin");
        Fixtures.truncate(train, 2 * Cifar100.RECORD_BYTES - 100);
        assertNames(train, () -> Cifar100.load(root), "not a whole number of 3074-byte");
        Files.write(train, Fixtures.cifarRecords(1, 120));
        assertNames(train, () -> Cifar100.load(root), "record 1", "fine label 120");
        Files.write(train, Fixtures.cifarRecords(TRAIN));
        Files.delete(root.resolve("meta/fine_label_names.txt"));
        assertNames(root.resolve("fine_label_names.txt"), () -> Cifar100.load(root), "missing");
        Fixtures.write(root.resolve("fine_label_names.txt"), "a\n\nb\n".getBytes());
        assertNames(root.resolve("fine_label_names.txt") + ":2", () -> Cifar100.load(root), "empty class name");
    }

    @Test
    void truncatedOrCorruptArchivesAreNamed() throws IOException {
        Path tgz = archive(TRAIN, TEST);
        long size = Files.size(tgz);
        Fixtures.truncate(tgz, (int) size / 2);
        assertNames(tgz, () -> Cifar100.load(tgz), "cannot read the archive");

        Fixtures.write(tgz, new byte[] {31, 42, 1, 2, 3});
        assertNames(tgz, () -> Cifar100.load(tgz));

        Fixtures.write(tgz, Fixtures.gzip("this is not a tar archive at all".repeat(40).getBytes()));
        assertNames(tgz, () -> Cifar100.load(tgz), "corrupt tar archive");

        Map<String, byte[]> noTest = new LinkedHashMap<>();
        noTest.put("cifar-100-binary/fine_label_names.txt", Fixtures.lines(NAMES));
        noTest.put("cifar-100-binary/train.bin", Fixtures.cifarRecords(TRAIN));
        Fixtures.write(tgz, Fixtures.gzip(Fixtures.tar(noTest)));
        assertNames(tgz, () -> Cifar100.load(tgz), "holds no test.bin");

        Map<String, byte[]> badRecords = new LinkedHashMap<>(noTest);
        badRecords.put("cifar-100-binary/test.bin", Arrays.copyOf(Fixtures.cifarRecords(TEST), 5000));
        Fixtures.write(tgz, Fixtures.gzip(Fixtures.tar(badRecords)));
        assertNames(tgz + "!cifar-100-binary/test.bin", () -> Cifar100.load(tgz), "not a whole number");
    }
}
