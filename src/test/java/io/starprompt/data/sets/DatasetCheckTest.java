package io.starprompt.data.sets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.cl.TaskData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetCheckTest {
    @TempDir
    Path dir;

    /** Records every progress report. */
    private static final class Recorder implements DatasetCheck.Progress {
        final List<int[]> calls = new ArrayList<>();

        @Override
        public void update(int done, int total) {
            calls.add(new int[] {done, total});
        }
    }

    /** A train/test tree of classes a, b, c with a corrupt test/b/bad.png. */
    private Path treeWithBadImage() throws IOException {
        Path root = dir.resolve("data");
        ImageFoldersTest.writeTree(root, List.of("a", "b", "c"), 2, 1, 16);
        byte[] junk = new byte[300];
        new Random(1).nextBytes(junk);
        Files.write(root.resolve("test/b/bad.png"), junk);
        return root;
    }

    @Test
    void reportsEveryProblemOfAnImageFolderTreeInOnePass() throws IOException {
        Path root = treeWithBadImage();
        for (String f : List.of("img0.png", "img1.png")) Files.delete(root.resolve("train/c").resolve(f));
        ImageFoldersTest.writePng(Files.createDirectories(root.resolve("test/d")).resolve("img0.png"), 16, 16, 3, 0);
        Recorder progress = new Recorder();

        DatasetCheck.Report r = DatasetCheck.check(root, DatasetOptions.defaults(), 2, progress);

        Path bad = root.resolve("test/b/bad.png");
        assertEquals(List.of(bad), r.badImages());
        List<String> lines = r.problems().stream().map(Problem::toString).toList();
        assertEquals(3, lines.size(), r.format(20));
        assertEquals(root.resolve("train/c") + ": class folder holds no .jpg/.jpeg/.png images", lines.get(0));
        assertEquals(root.resolve("train/d") + ": class folder missing (class 'd' has a test folder)", lines.get(1));
        assertTrue(lines.get(2).startsWith(bad + ": "), lines.get(2));
        assertFalse(r.isOk());
        assertFalse(r.onlyBadImages());
        // a: 2 + 1, b: 2 + 2 (one bad), c: 0 + 1, d: 0 + 1
        assertEquals(9, r.checkedImages());
        assertEquals(10, progress.calls.size());
        for (int i = 0; i < progress.calls.size(); i++) {
            assertEquals(i, progress.calls.get(i)[0]);
            assertEquals(9, progress.calls.get(i)[1]);
        }
        assertEquals(String.join("\n", lines.get(0), lines.get(1), "… and 1 more"), r.format(2));
        assertEquals(String.join("\n", lines), r.format(20));
        // the strict path stops at the first of them
        assertThrows(IllegalArgumentException.class, () -> ImageTaskData.builder(Datasets.open(root,
                DatasetOptions.defaults())).build());
    }

    @Test
    void excludingTheBadImagesLoadsTheRest() throws IOException {
        Path root = treeWithBadImage();
        DatasetCheck.Report r = DatasetCheck.check(root, DatasetOptions.defaults(), 3, DatasetCheck.SILENT);
        Path bad = root.resolve("test/b/bad.png");
        assertEquals(List.of(bad), r.badImages());
        assertTrue(r.onlyBadImages());
        Dataset d = Datasets.open(root, DatasetOptions.defaults());
        try (ImageTaskData data = ImageTaskData.builder(d).tasks(3).imageSize(16).threads(2).exclude(r.badImages())
                .build()) {
            assertEquals(1, data.count(1, TaskData.Split.TEST));
            TaskData.Batch b = data.testBatches(1, 8).iterator().next();
            assertEquals(1, b.size());
        }
        try (ImageTaskData data = ImageTaskData.builder(d).tasks(3).imageSize(16).threads(2).build()) {
            Fixtures.assertNames(bad, () -> data.testBatches(1, 8).iterator().next());
        }
    }

    @Test
    void aClassEmptiedByExclusionIsStillAnError() throws IOException {
        Path root = treeWithBadImage();
        Dataset d = Datasets.open(root, DatasetOptions.defaults());
        List<Path> all = List.of(root.resolve("test/b/bad.png"), root.resolve("test/b/img0.png"));
        IllegalArgumentException e = Fixtures.assertNames(root.resolve("test/b"),
                () -> ImageTaskData.builder(d).tasks(3).exclude(all).build(), "after excluding 2 image files");
        assertTrue(e.getMessage().contains("holds no"), e.getMessage());
    }

    @Test
    void anUnreadableDatasetIsOneProblem() throws IOException {
        Path root = Files.createDirectories(dir.resolve("cifar"));
        Fixtures.write(root.resolve("train.bin"), new byte[100]);
        DatasetCheck.Report r = DatasetCheck.check(root, DatasetOptions.defaults(), 1, DatasetCheck.SILENT);
        assertEquals(1, r.problems().size());
        assertTrue(r.format(20).contains(root.resolve("train.bin").toString()), r.format(20));
        assertEquals(List.of(), r.badImages());

        DatasetCheck.Report unknown = DatasetCheck.check(dir.resolve("nowhere"), DatasetOptions.defaults(), 1,
                DatasetCheck.SILENT);
        assertTrue(unknown.format(20).contains("no such file or folder"), unknown.format(20));
    }

    @Test
    void splitFileProblemsAndMissingFilesAreCollectedTogether() throws IOException {
        Path root = dir.resolve("flat");
        for (String c : List.of("x", "y")) {
            for (int i = 0; i < 2; i++) {
                ImageFoldersTest.writePng(Files.createDirectories(root.resolve(c)).resolve(i + ".png"), 8, 8, i, i);
            }
        }
        Path csv = root.resolve("split.csv");
        Files.writeString(csv, "path,label,split\nx/0.png,x,train\nx/1.png,x,test\ny/0.png,y,train\ny/9.png,y,test\n"
                + "y/1.png,z,test\ny/1.png,y,holdout\n");
        DatasetCheck.Report r = DatasetCheck.check(root, DatasetOptions.defaults(), 2, DatasetCheck.SILENT);
        assertEquals(List.of(root.resolve("y/9.png")), r.badImages());
        List<String> lines = r.problems().stream().map(Problem::toString).toList();
        assertEquals(3, lines.size(), r.format(20));
        assertTrue(lines.get(0).startsWith(csv + ":6: label 'z'"), lines.get(0));
        assertTrue(lines.get(1).startsWith(csv + ":7: split 'holdout'"), lines.get(1));
        assertEquals(root.resolve("y/9.png") + ": image file not found", lines.get(2));
    }

    @Test
    void inMemoryDatasetsNeedNoImagePass() {
        Dataset d = Dataset.of("memory", dir, List.of("one", "two"),
                List.of(Sample.inMemory(() -> io.starprompt.data.RgbImage.filled(2, 2, 1, 2, 3), 0)), List.of());
        DatasetCheck.Report r = DatasetCheck.check(d, 1, DatasetCheck.SILENT);
        assertEquals(0, r.checkedImages());
        // "one" has no test image, "two" nothing at all
        assertEquals(3, r.problems().size(), r.format(20));
        assertEquals(dir + ": class 1 'two' has no train images", r.problems().get(1).toString());
        assertTrue(DatasetCheck.check(Dataset.of("memory", dir, List.of("one"), List.of(Sample.inMemory(() -> null, 0)),
                List.of(Sample.inMemory(() -> null, 0))), 1, DatasetCheck.SILENT).isOk());
    }
}
