package io.starprompt.data.sets;

import static io.starprompt.data.sets.Fixtures.assertNames;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.data.Images;
import io.starprompt.cl.TaskData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Cub200Test {
    private static final List<String> CLASSES = List.of("001.Black_footed_Albatross", "002.Laysan_Albatross",
            "003.Sooty_Albatross");

    @TempDir
    Path dir;

    /**
     * dir/CUB_200_2011 with three images per class; image ids run class by class, the second image
     * of every class is a test image.
     */
    private Path cub() throws IOException {
        Path root = dir.resolve(Cub200.FOLDER);
        StringBuilder classes = new StringBuilder();
        StringBuilder images = new StringBuilder();
        StringBuilder labels = new StringBuilder();
        StringBuilder split = new StringBuilder();
        int id = 1;
        for (int c = 0; c < CLASSES.size(); c++) {
            classes.append(c + 1).append(' ').append(CLASSES.get(c)).append('\n');
            for (int i = 0; i < 3; i++, id++) {
                String path = CLASSES.get(c) + "/img_" + id + ".png";
                Files.createDirectories(root.resolve("images").resolve(CLASSES.get(c)));
                ImageFoldersTest.writePng(root.resolve("images").resolve(path), 12, 10, c, id);
                images.append(id).append(' ').append(path).append('\n');
                labels.append(id).append(' ').append(c + 1).append('\n');
                split.append(id).append(' ').append(i == 1 ? 0 : 1).append('\n');
            }
        }
        Files.writeString(root.resolve("classes.txt"), classes);
        Files.writeString(root.resolve("images.txt"), images);
        Files.writeString(root.resolve("image_class_labels.txt"), labels);
        Files.writeString(root.resolve("train_test_split.txt"), split);
        return root;
    }

    @Test
    void readsTheOfficialLayout() throws IOException {
        Path root = cub();
        for (Path p : List.of(dir, root)) {
            assertEquals(Datasets.Format.CUB200, Datasets.detect(p));
            Dataset d = Datasets.open(p, DatasetOptions.defaults());
            assertEquals(List.of("Black footed Albatross", "Laysan Albatross", "Sooty Albatross"), d.classNames());
            assertEquals(CLASSES, d.classKeys());
            assertArrayEquals(new int[] {0, 0, 1, 1, 2, 2}, d.train().stream().mapToInt(Sample::label).toArray());
            assertArrayEquals(new int[] {0, 1, 2}, d.test().stream().mapToInt(Sample::label).toArray());
            assertEquals(root.resolve("images/002.Laysan_Albatross/img_5.png"), d.test().get(1).file());
            assertEquals(Images.decode(d.train().get(4).file()), d.train().get(4).source().load());
        }
        try (ImageTaskData data = ImageTaskData.builder(Cub200.load(root)).tasks(3).imageSize(8).threads(1).build()) {
            assertEquals(2, data.count(2, TaskData.Split.TRAIN));
            TaskData.Batch b = data.testBatches(2, 8).iterator().next();
            assertArrayEquals(new int[] {2}, b.labels());
        }
    }

    @Test
    void badIndexLinesAreNamedByFileAndLine() throws IOException {
        Path root = cub();
        Path labels = root.resolve("image_class_labels.txt");
        String good = Files.readString(labels);
        Files.writeString(labels, good.replace("7 3\n", "7\n"));
        assertNames(labels + ":7", () -> Cub200.load(root), "expected '<positive id> <value>'");
        Files.writeString(labels, good.replace("7 3\n", "7 4\n"));
        assertNames(labels + ":7", () -> Cub200.load(root), "class id '4' is outside 1..3");
        Files.writeString(labels, good.replace("7 3\n", "3 3\n"));
        assertNames(labels + ":7", () -> Cub200.load(root), "id 3 repeats");
        Files.writeString(labels, good);

        Path split = root.resolve("train_test_split.txt");
        Files.writeString(split, Files.readString(split).replace("2 0\n", "2 2\n"));
        assertNames(split + ":2", () -> Cub200.load(root), "neither 1 nor 0");
        Files.delete(split);
        assertNames(split, () -> Cub200.load(root), "missing");

        Path classes = root.resolve("classes.txt");
        Files.writeString(classes, "1 001.A\n3 003.C\n");
        assertNames(classes, () -> Cub200.load(root), "class ids must run from 1 to 2, 2 is missing");
    }

    @Test
    void theCheckListsMissingImagesAndBadLinesTogether() throws IOException {
        Path root = cub();
        Path labels = root.resolve("image_class_labels.txt");
        Files.writeString(labels, Files.readString(labels).replace("4 2\n", "4 x\n"));
        Path gone = root.resolve("images/003.Sooty_Albatross/img_9.png");
        Files.delete(gone);
        DatasetCheck.Report r = DatasetCheck.check(dir, DatasetOptions.defaults(), 2, DatasetCheck.SILENT);
        assertEquals(List.of(gone), r.badImages());
        assertEquals(2, r.problems().size(), r.format(20));
        assertTrue(r.problems().get(0).toString().startsWith(labels + ":4: class id 'x'"), r.format(20));
        assertEquals(new Problem(gone.toString(), "image file not found"), r.problems().get(1));
    }
}
