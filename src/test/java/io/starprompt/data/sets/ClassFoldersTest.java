package io.starprompt.data.sets;

import static io.starprompt.data.sets.Fixtures.assertNames;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.cl.TaskData.Split;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClassFoldersTest {
    private static final List<String> CLASSES = List.of("dog", "cat", "sea_fish");

    @TempDir
    Path dir;

    /** dir/data/&lt;class&gt;/img{i}.png, n images per class. */
    private Path tree(int n) throws IOException {
        Path root = dir.resolve("data");
        for (int c = 0; c < CLASSES.size(); c++) {
            Path cls = Files.createDirectories(root.resolve(CLASSES.get(c)));
            for (int i = 0; i < n; i++) ImageFoldersTest.writePng(cls.resolve("img" + i + ".png"), 8, 8, c, i);
        }
        return root;
    }

    private static List<String> relative(Path root, List<Sample> samples) {
        return samples.stream().map(s -> root.relativize(s.file()).toString().replace('\\', '/') + "=" + s.label()).toList();
    }

    @Test
    void csvSplitFileAssignsTheSplitWithLabelsByNameOrIndex() throws IOException {
        Path root = tree(2);
        ImageFoldersTest.writePng(root.resolve("cat/with,comma.png"), 8, 8, 0, 9);
        Files.writeString(root.resolve("split.csv"), """
                split,path,label
                train,dog/img0.png,dog
                test,dog/img1.png,2
                train,cat/img0.png,cat
                test,"cat/with,comma.png",0

                TRAIN,sea_fish/img1.png,sea_fish
                test,sea_fish/img0.png,1
                """);
        assertEquals(Datasets.Format.CLASS_FOLDERS, Datasets.detect(root));
        Dataset d = Datasets.open(root, DatasetOptions.defaults());
        // sorted folders: cat = 0, dog = 1, sea_fish = 2
        assertEquals(List.of("cat", "dog", "sea fish"), d.classNames());
        assertEquals(List.of("dog/img0.png=1", "cat/img0.png=0", "sea_fish/img1.png=2"), relative(root, d.train()));
        assertEquals(List.of("dog/img1.png=2", "cat/with,comma.png=0", "sea_fish/img0.png=1"), relative(root, d.test()));
        assertEquals(List.of(), d.coverageProblems());
    }

    @Test
    void jsonSplitFile() throws IOException {
        Path root = tree(2);
        Path json = Fixtures.write(dir.resolve("split.json"), """
                [{"path": "cat/img0.png", "label": 0, "split": "train"},
                 {"path": "cat/img1.png", "label": "cat", "split": "test"},
                 {"path": "dog/img1.png", "label": "dog", "split": "train"}]
                """.getBytes());
        Dataset d = Datasets.open(root, DatasetOptions.defaults().withSplitFile(json));
        assertEquals(List.of("cat/img0.png=0", "dog/img1.png=1"), relative(root, d.train()));
        assertEquals(List.of("cat/img1.png=0"), relative(root, d.test()));
        // dog has no test entry, sea_fish none at all
        assertEquals(List.of(new Problem(json.toString(), "no test entries for class 'dog'"),
                new Problem(json.toString(), "no train entries for class 'sea_fish'"),
                new Problem(json.toString(), "no test entries for class 'sea_fish'")), d.coverageProblems());
    }

    @Test
    void badSplitEntriesAreNamedByFileAndLine() throws IOException {
        Path root = tree(2);
        Path csv = root.resolve("split.csv");
        String header = "path,label,split\ncat/img0.png,cat,train\n";
        Files.writeString(csv, header + "cat/img1.png,cow,test\n");
        assertNames(csv + ":3", () -> ImageFolders.withSplitFile(root, csv), "label 'cow'", "[0, 3)");
        Files.writeString(csv, header + "cat/img1.png,7,test\n");
        assertNames(csv + ":3", () -> ImageFolders.withSplitFile(root, csv), "label '7'");
        Files.writeString(csv, header + "cat/img1.png,cat,val\n");
        assertNames(csv + ":3", () -> ImageFolders.withSplitFile(root, csv), "split 'val'");
        Files.writeString(csv, header + "../outside.png,cat,test\n");
        assertNames(csv + ":3", () -> ImageFolders.withSplitFile(root, csv), "leaves the dataset folder");
        Files.writeString(csv, header + "cat/img1.png,cat\n");
        assertNames(csv + ":3", () -> ImageFolders.withSplitFile(root, csv), "2 fields, the header has 3");
        Files.writeString(csv, header + "cat/img0.png,cat,test\n");
        assertNames(csv + ":3", () -> ImageFolders.withSplitFile(root, csv), "listed twice (first at " + csv + ":2)");
        Files.writeString(csv, "file,label,split\n");
        assertNames(csv, () -> ImageFolders.withSplitFile(root, csv), "no column 'path'");
        Path json = Fixtures.write(dir.resolve("split.json"), "{\"path\": 1}".getBytes());
        assertNames(json, () -> ImageFolders.withSplitFile(root, json), "expected a JSON list");
        Fixtures.write(json, "[{\"path\": \"cat/img0.png\", \"label\": 0.5, \"split\": \"train\"}]".getBytes());
        assertNames(json + "[0]", () -> ImageFolders.withSplitFile(root, json), "\"label\"");
    }

    @Test
    void stratifiedSplitIsDeterministicAndPerClass() throws IOException {
        Path root = tree(10);
        assertEquals(Datasets.Format.CLASS_FOLDERS, Datasets.detect(root));
        Dataset a = Datasets.open(root, DatasetOptions.defaults().withSplitSeed(7));
        Dataset b = ImageFolders.stratified(root, 0.8, 7);
        assertEquals(a.train().stream().map(Sample::file).toList(), b.train().stream().map(Sample::file).toList());
        assertEquals(a.test().stream().map(Sample::file).toList(), b.test().stream().map(Sample::file).toList());
        for (int c = 0; c < 3; c++) {
            assertEquals(8, a.count(Split.TRAIN, c));
            assertEquals(2, a.count(Split.TEST, c));
        }
        Set<Path> all = new HashSet<>(a.train().stream().map(Sample::file).toList());
        all.addAll(a.test().stream().map(Sample::file).toList());
        assertEquals(30, all.size(), "train and test are disjoint and cover every image");
        for (Sample s : a.test()) {
            assertEquals(s.file().getParent().getFileName().toString(), a.classKeys().get(s.label()), "label = folder");
        }
        List<Path> sorted = new ArrayList<>(a.test().stream().map(Sample::file).toList());
        sorted.sort(null);
        assertEquals(sorted, a.test().stream().map(Sample::file).toList(), "sorted by name within the split");

        Dataset other = ImageFolders.stratified(root, 0.8, 8);
        assertNotEquals(a.test().stream().map(Sample::file).toList(), other.test().stream().map(Sample::file).toList());
        Dataset seventy = ImageFolders.stratified(root, 0.7, 7);
        assertEquals(3, seventy.count(Split.TEST, 0));
        assertNames("0.0", () -> ImageFolders.stratified(root, 0.0, 7), "train fraction");
    }

    @Test
    void aClassOfOneImageCannotBeSplit() throws IOException {
        Path root = tree(3);
        Files.delete(root.resolve("cat/img1.png"));
        Files.delete(root.resolve("cat/img2.png"));
        Dataset d = ImageFolders.stratified(root, 0.8, 0);
        assertEquals(List.of(new Problem(root.resolve("cat").toString(), "a single image cannot be split into train and test")),
                d.coverageProblems());
        IllegalArgumentException e = assertNames(root.resolve("cat"), () -> ImageTaskData.builder(d).tasks(3).build());
        assertTrue(e.getMessage().contains("single image"), e.getMessage());
    }
}
