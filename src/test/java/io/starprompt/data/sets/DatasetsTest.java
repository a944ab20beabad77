package io.starprompt.data.sets;

import static io.starprompt.data.sets.Fixtures.assertNames;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetsTest {
    @TempDir
    Path dir;

    @Test
    void saysClearlyWhenItCannotTellTheFormat() throws IOException {
        Path empty = Files.createDirectories(dir.resolve("empty"));
        assertNames(empty, () -> Datasets.detect(empty), "cannot tell the dataset format", "cifar100:", "--format");
        Path text = Fixtures.write(dir.resolve("notes.txt"), "hello".getBytes());
        assertNames(text, () -> Datasets.open(text, DatasetOptions.defaults()), "cannot tell the dataset format of this file");
        assertNames(dir.resolve("missing"), () -> Datasets.detect(dir.resolve("missing")), "no such file or folder");
    }

    @Test
    void ambiguityIsReportedAndResolvedByAnExplicitFormat() throws IOException {
        Path both = dir.resolve("both");
        ImageFoldersTest.writeTree(both, List.of("p", "q"), 1, 1, 8);
        Fixtures.write(both.resolve("train.bin"), Fixtures.cifarRecords(0, 1));
        Fixtures.write(both.resolve("test.bin"), Fixtures.cifarRecords(1, 0));
        Fixtures.write(both.resolve("fine_label_names.txt"), Fixtures.lines(List.of("p", "q")));
        assertNames(both, () -> Datasets.detect(both), "several dataset formats (cifar100, folders)");
        Dataset folders = Datasets.open(both, DatasetOptions.defaults().withFormat("folders"));
        assertEquals("image folders", folders.format());
        assertEquals(2, folders.train().size());
        Dataset cifar = Datasets.open(both, DatasetOptions.defaults().withFormat(Datasets.Format.CIFAR100));
        assertEquals("CIFAR-100 binary", cifar.format());
        // as class folders, train/ and test/ are the two classes
        Dataset flat = Datasets.open(both, DatasetOptions.defaults().withFormat("class-folders"));
        assertEquals(List.of("test", "train"), flat.classKeys());
    }

    @Test
    void formatValues() {
        assertEquals(Datasets.Format.CUB200, Datasets.Format.parse("CUB200"));
        assertNull(DatasetOptions.defaults().withFormat("auto").format());
        assertNames("'mnist'", () -> Datasets.Format.parse("mnist"), "cifar100, cub200, idx, folders, class-folders");
        assertThrows(IllegalArgumentException.class, () -> DatasetOptions.defaults().withTrainFraction(1.0));
    }

    @Test
    void namesFiles() {
        Path names = Fixtures.write(dir.resolve("names.txt"), "\uFEFF apple \r\npie\n\n\n".getBytes());
        assertEquals(List.of("apple", "pie"), Datasets.readNames(names));
        Fixtures.write(names, "a\nb\na\n".getBytes());
        assertNames(names + ":3", () -> Datasets.readNames(names), "'a' repeats line 1");
        Fixtures.write(names, "\n\n".getBytes());
        assertNames(names, () -> Datasets.readNames(names), "no class names");
        assertNames(dir.resolve("none.txt"), () -> Datasets.readNames(dir.resolve("none.txt")), "cannot read");
    }

    @Test
    void namesFileOverridesFolderNames() throws IOException {
        Path root = dir.resolve("tree");
        ImageFoldersTest.writeTree(root, List.of("n01", "n02"), 1, 1, 8);
        Path names = Fixtures.write(dir.resolve("names.txt"), Fixtures.lines(List.of("goldfish", "shark")));
        Dataset d = Datasets.open(root, DatasetOptions.defaults().withClassNames(names));
        assertEquals(List.of("goldfish", "shark"), d.classNames());
        assertEquals(List.of("n01", "n02"), d.classKeys());
    }
}
