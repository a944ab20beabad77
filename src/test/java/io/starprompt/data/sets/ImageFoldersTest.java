package io.starprompt.data.sets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.cl.ClassOrder;
import io.starprompt.cl.TaskData;
import io.starprompt.cl.TaskData.Batch;
import io.starprompt.cl.TaskSplit;
import io.starprompt.data.CenterCrop;
import io.starprompt.data.ImagePipeline;
import io.starprompt.data.ImagePreprocessing;
import io.starprompt.data.Images;
import io.starprompt.data.Normalize;
import io.starprompt.data.Resize;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

public class ImageFoldersTest {
    public static final List<String> FOLDERS = List.of("dog", "apple_pie", "car", "bird");

    /** root/{train,test}/&lt;class&gt;/ with generated PNGs: per class a base colour plus noise, sizes vary. */
    public static void writeTree(Path root, List<String> classes, int train, int test, int size) throws IOException {
        for (int c = 0; c < classes.size(); c++) {
            for (String split : List.of("train", "test")) {
                Path dir = Files.createDirectories(root.resolve(split).resolve(classes.get(c)));
                int n = split.equals("train") ? train : test;
                for (int i = 0; i < n; i++) {
                    writePng(dir.resolve("img" + i + ".png"), size + (i % 3) * 4, size, c, split.hashCode() * 31 + i);
                }
            }
        }
    }

    public static void writePng(Path file, int w, int h, int c, long seed) throws IOException {
        Random r = new Random(seed * 977 + c);
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int base = (c * 67) % 256;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int red = clamp(base + r.nextInt(40) + x), green = clamp(255 - base + r.nextInt(40)),
                        blue = clamp(c * 50 + y * 3);
                img.setRGB(x, y, red << 16 | green << 8 | blue);
            }
        }
        ImageIO.write(img, "png", file.toFile());
    }

    private static int clamp(int v) {
        return Math.max(0, Math.min(255, v));
    }

    private static List<Batch> all(Iterable<Batch> it) {
        List<Batch> out = new ArrayList<>();
        it.forEach(out::add);
        return out;
    }

    @Test
    void discoversSortedClassesAndTasks(@TempDir Path root) throws IOException {
        writeTree(root, FOLDERS, 6, 3, 32);
        try (ImageTaskData d = ImageFolders.builder(root).tasks(2).imageSize(32).build()) {
            assertEquals(4, d.classes());
            assertEquals(2, d.tasks());
            assertEquals(List.of("apple pie", "bird", "car", "dog"), d.classNames());
            assertEquals(List.of("apple_pie", "bird", "car", "dog"), d.classKeys());
            assertArrayEquals(new int[] {0, 1}, d.classesOfTask(0));
            assertArrayEquals(new int[] {2, 3}, d.classesOfTask(1));
            assertEquals(TaskSplit.equal(4, 2), d.split());
            assertEquals(6, d.count(0, TaskData.Split.TRAIN));
            assertEquals(3, d.count(3, TaskData.Split.TEST));
        }
    }

    @Test
    void classOrderPermutesLabelsAndNames(@TempDir Path root) throws IOException {
        writeTree(root, FOLDERS, 2, 1, 16);
        // order[orig] = new: apple_pie(0)->2, bird(1)->0, car(2)->3, dog(3)->1
        ClassOrder order = new ClassOrder("test", 1, new int[] {2, 0, 3, 1}, TaskSplit.equal(4, 2));
        try (ImageTaskData d = ImageFolders.builder(root).classOrder(order).imageSize(16).build()) {
            assertEquals(List.of("bird", "dog", "apple pie", "car"), d.classNames());
            // the first test image of new label 0 is bird's: labels follow the permutation
            Batch b = all(d.testBatches(0, 8)).get(0);
            assertArrayEquals(new int[] {0, 1}, b.labels());
            // test transform: Resize(round(16·256/224) = 18, shorter side) → CenterCrop(16) → ImageNet normalisation
            assertEquals(18, ImageTaskData.testResize(16));
            assertEquals(256, ImageTaskData.testResize(224));
            float[] bird = ImagePipeline.of(Normalize.IMAGENET, Resize.shorterSide(18), CenterCrop.of(16))
                    .apply(Images.decode(root.resolve("test/bird/img0.png")), new java.util.SplittableRandom(0));
            assertArrayEquals(bird, Arrays.copyOf(b.vitImages(), bird.length));
            assertArrayEquals(ImagePreprocessing.renormalizeForClip(b.vitImages(), 16 * 16, Normalize.IMAGENET),
                    b.clipImages());
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ImageFolders.builder(root)
                .classOrder(ClassOrder.identity(TaskSplit.equal(2, 1))).build()).getMessage().contains("class order"));
    }

    @Test
    void batchesHaveTheRightShapesAndLabels(@TempDir Path root) throws IOException {
        writeTree(root, FOLDERS, 6, 3, 32);
        int s = 32, plane = 3 * s * s;
        try (ImageTaskData d = ImageFolders.builder(root).tasks(2).imageSize(s).clipImageSize(16).threads(2)
                .build()) {
            List<Batch> train = all(d.trainBatches(0, 5, 1));
            assertEquals(List.of(5, 5, 2), train.stream().map(Batch::size).toList());
            int[] counts = new int[4];
            for (Batch b : train) {
                assertEquals(b.size() * plane, b.vitImages().length);
                assertEquals(b.size() * plane, b.clipImages().length);
                assertArrayEquals(ImagePreprocessing.renormalizeForClip(b.vitImages(), s * s, Normalize.IMAGENET),
                        b.clipImages());
                for (int l : b.labels()) counts[l]++;
            }
            assertArrayEquals(new int[] {6, 6, 0, 0}, counts);
            List<Batch> test = all(d.testBatches(1, 4));
            assertEquals(List.of(4, 2), test.stream().map(Batch::size).toList());
            assertArrayEquals(new int[] {2, 2, 2, 3}, test.get(0).labels());
            assertEquals(4 * plane, test.get(0).vitImages().length);
            List<Batch> clip = all(d.clipBatches(1, TaskData.Split.TRAIN, 64));
            assertEquals(1, clip.size());
            assertNull(clip.get(0).vitImages());
            assertEquals(12 * 3 * 16 * 16, clip.get(0).clipImages().length);
            for (int l : clip.get(0).labels()) assertTrue(l == 2 || l == 3);
            // clip_preprocess of the first image of label 2 (car/img0.png)
            float[] expected = ImagePipeline.of(Normalize.CLIP, Resize.shorterSide(16), CenterCrop.of(16))
                    .apply(Images.decode(root.resolve("train/car/img0.png")), new java.util.SplittableRandom(0));
            assertArrayEquals(expected, Arrays.copyOf(clip.get(0).clipImages(), expected.length));
            assertThrows(IllegalArgumentException.class, () -> d.trainBatches(0, 0, 1));
        }
    }

    @Test
    void deterministicForASeedWhateverTheThreads(@TempDir Path root) throws IOException {
        writeTree(root, FOLDERS, 6, 3, 32);
        try (ImageTaskData a = ImageFolders.builder(root).tasks(2).imageSize(24).seed(5).threads(1).build();
                ImageTaskData b = ImageFolders.builder(root).tasks(2).imageSize(24).seed(5).threads(3).build()) {
            List<Batch> x = all(a.trainBatches(1, 4, 9)), y = all(b.trainBatches(1, 4, 9));
            assertEquals(x.size(), y.size());
            for (int i = 0; i < x.size(); i++) {
                assertArrayEquals(x.get(i).labels(), y.get(i).labels());
                assertArrayEquals(x.get(i).vitImages(), y.get(i).vitImages());
            }
            List<Batch> z = all(a.trainBatches(1, 4, 10));
            boolean differs = false;
            for (int i = 0; i < x.size(); i++) {
                differs |= !Arrays.equals(x.get(i).vitImages(), z.get(i).vitImages());
            }
            assertTrue(differs, "another shuffle seed gives other batches");
            assertArrayEquals(all(a.testBatches(0, 6)).get(0).vitImages(), all(b.testBatches(0, 6)).get(0).vitImages());
        }
    }

    @Test
    void clearErrors(@TempDir Path tmp) throws IOException {
        Files.createDirectories(tmp.resolve("a/test/x"));
        assertMessage(tmp.resolve("a"), 1, "missing train");

        Path root = tmp.resolve("b");
        writeTree(root, FOLDERS, 1, 1, 16);
        assertMessage(root, 3, "cannot be cut into 3");

        Path noTest = tmp.resolve("c");
        writeTree(noTest, List.of("x", "y"), 1, 1, 16);
        deleteTree(noTest.resolve("test"));
        assertMessage(noTest, 1, "missing test");

        Path missingClass = tmp.resolve("d");
        writeTree(missingClass, List.of("x", "y"), 1, 1, 16);
        deleteTree(missingClass.resolve("test/y"));
        assertMessage(missingClass, 1, "test/y");

        Path empty = tmp.resolve("e");
        writeTree(empty, List.of("x", "y"), 1, 1, 16);
        Files.delete(empty.resolve("train/y/img0.png"));
        Files.writeString(empty.resolve("train/y/notes.txt"), "not an image");
        assertMessage(empty, 1, "no .jpg/.jpeg/.png");

        Path corrupt = tmp.resolve("f");
        writeTree(corrupt, List.of("x", "y"), 2, 1, 16);
        Path bad = corrupt.resolve("train/y/img1.png");
        Files.write(bad, new byte[] {1, 2, 3, 4, 5});
        try (ImageTaskData d = ImageFolders.builder(corrupt).imageSize(16).build()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> all(d.trainBatches(0, 4, 0)));
            assertTrue(e.getMessage().contains(bad.toString()), e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ImageFolders.builder(corrupt).imageSize(16).verifyImages(true).build());
        assertTrue(e.getMessage().contains(bad.toString()), e.getMessage());
    }

    private static void assertMessage(Path root, int tasks, String part) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ImageFolders.builder(root).tasks(tasks).imageSize(16).build());
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var s = Files.walk(dir)) {
            for (Path p : s.sorted((x, y) -> y.getNameCount() - x.getNameCount()).toList()) Files.delete(p);
        }
    }
}
