package io.starprompt.data.sets;

import static io.starprompt.data.sets.Fixtures.assertNames;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.starprompt.data.RgbImage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxTest {
    private static final int ROWS = 3;
    private static final int COLS = 2;
    private static final byte[] TRAIN_LABELS = {7, 0, 9, 7};
    private static final byte[] TEST_LABELS = {3, 1};

    @TempDir
    Path dir;

    private static byte[] pixels(int n, int salt) {
        byte[] p = new byte[n * ROWS * COLS];
        for (int i = 0; i < p.length; i++) p[i] = (byte) (i * 13 + salt);
        return p;
    }

    /** Train files gzipped, test files plain. */
    private Path mnist() {
        Path root = dir.resolve("mnist");
        Fixtures.write(root.resolve("train-images-idx3-ubyte.gz"),
                Fixtures.gzip(Fixtures.idx(pixels(4, 0), 4, ROWS, COLS)));
        Fixtures.write(root.resolve("train-labels-idx1-ubyte.gz"), Fixtures.gzip(Fixtures.idx(TRAIN_LABELS, 4)));
        Fixtures.write(root.resolve("t10k-images-idx3-ubyte"), Fixtures.idx(pixels(2, 5), 2, ROWS, COLS));
        Fixtures.write(root.resolve("t10k-labels-idx1-ubyte"), Fixtures.idx(TEST_LABELS, 2));
        return root;
    }

    /** Grey pixels of image i, replicated to R, G and B. */
    private static void assertGrey(byte[] pixels, int i, RgbImage img) {
        assertEquals(COLS, img.width());
        assertEquals(ROWS, img.height());
        for (int y = 0; y < ROWS; y++) {
            for (int x = 0; x < COLS; x++) {
                for (int c = 0; c < 3; c++) assertEquals(pixels[i * ROWS * COLS + y * COLS + x] & 0xFF, img.get(x, y, c));
            }
        }
    }

    @Test
    void readsGzippedAndPlainFiles() {
        Path root = mnist();
        assertEquals(Datasets.Format.IDX, Datasets.detect(root));
        Dataset d = Datasets.open(root, DatasetOptions.defaults());
        assertEquals(10, d.classes());
        assertEquals(List.of("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"), d.classNames());
        assertArrayEquals(new int[] {7, 0, 9, 7}, d.train().stream().mapToInt(Sample::label).toArray());
        assertArrayEquals(new int[] {3, 1}, d.test().stream().mapToInt(Sample::label).toArray());
        for (int i = 0; i < 4; i++) assertGrey(pixels(4, 0), i, d.train().get(i).source().load());
        for (int i = 0; i < 2; i++) assertGrey(pixels(2, 5), i, d.test().get(i).source().load());
    }

    @Test
    void acceptsTheDottedNamesAndPrefersUncompressedFiles() throws IOException {
        Path root = mnist();
        Files.move(root.resolve("t10k-images-idx3-ubyte"), root.resolve("t10k-images.idx3-ubyte"));
        Fixtures.write(root.resolve("train-images-idx3-ubyte"), Fixtures.idx(pixels(4, 9), 4, ROWS, COLS));
        Dataset d = Idx.load(root);
        assertGrey(pixels(4, 9), 2, d.train().get(2).source().load());
        assertGrey(pixels(2, 5), 1, d.test().get(1).source().load());
    }

    @Test
    void namesFileNamesTheClasses() {
        Path root = mnist();
        List<String> fashion = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                "Bag", "Ankle boot");
        Path names = Fixtures.write(dir.resolve("fashion.txt"), Fixtures.lines(fashion));
        assertEquals(fashion, Datasets.open(root, DatasetOptions.defaults().withClassNames(names)).classNames());
    }

    @Test
    void badMagicDimensionsAndSizesAreRefusedNamingTheFile() throws IOException {
        Path root = mnist();
        Path labels = root.resolve("t10k-labels-idx1-ubyte");
        Fixtures.write(labels, Fixtures.idx(TEST_LABELS, 2, 1));
        assertNames(labels, () -> Idx.load(root), "bad IDX magic number 0x00000802", "0x00000801");

        Fixtures.write(labels, Fixtures.idx(TEST_LABELS, 3));
        assertNames(labels, () -> Idx.load(root), "announces 11 bytes", "has 10", "truncated");

        Fixtures.write(labels, Fixtures.idx(new byte[] {3, 1, 4}, 2));
        assertNames(labels, () -> Idx.load(root), "announces 10 bytes", "has 11");

        Fixtures.write(labels, Fixtures.idx(new byte[] {3}, 1));
        assertNames(labels, () -> Idx.load(root), "1 labels for the 2 images");

        Fixtures.write(labels, Fixtures.idx(new byte[0], 0));
        assertNames(labels, () -> Idx.load(root), "dimension 0 is 0");

        Path images = root.resolve("t10k-images-idx3-ubyte");
        Fixtures.write(images, Arrays.copyOf(Fixtures.idx(pixels(2, 5), 2, ROWS, COLS), 20));
        assertNames(images, () -> Idx.load(root), "truncated");
    }

    @Test
    void hugeHeadersAreRefusedBeforeAnyAllocation() {
        Path root = mnist();
        Path images = root.resolve("t10k-images-idx3-ubyte");
        // 60000 × 60000 × 60000 bytes: more than any array, whatever the file holds
        Fixtures.write(images, ByteBuffer.allocate(16).putInt(0x0803).putInt(60000).putInt(60000).putInt(60000).array());
        assertNames(images, () -> Idx.load(root), "more data bytes than one array holds");
        // 1 GB announced, 16 bytes present: refused from the file size before reading
        Fixtures.write(images, ByteBuffer.allocate(16).putInt(0x0803).putInt(1000).putInt(1000).putInt(1000).array());
        assertNames(images, () -> Idx.load(root), "announces 1000000016 bytes but the file has 16");
        // the same inside gzip: refused from the gzip trailer
        Path gz = root.resolve("train-images-idx3-ubyte.gz");
        Fixtures.write(gz, Fixtures.gzip(ByteBuffer.allocate(16).putInt(0x0803).putInt(1000).putInt(1000).putInt(1000)
                .array()));
        assertNames(gz, () -> Idx.load(root), "announces 1000000016 bytes but the file unpacks to 16");
        // One 30000×30000 image: within an array, but beyond the pixel limit of an image (its RGB copy
        // would not fit in an array): refused from the header, whatever the file holds.
        Fixtures.write(gz, Fixtures.gzip(ByteBuffer.allocate(16).putInt(0x0803).putInt(1).putInt(30000).putInt(30000)
                .array()));
        assertNames(gz, () -> Idx.load(root), "images of 30000x30000 pixels exceed");
    }

    @Test
    void truncatedGzipIsNamed() throws IOException {
        Path root = mnist();
        Path gz = root.resolve("train-labels-idx1-ubyte.gz");
        Fixtures.truncate(gz, (int) Files.size(gz) - 6);
        assertNames(gz, () -> Idx.load(root));
        Files.delete(gz);
        assertNames(root, () -> Idx.load(root), "no train-labels-idx1-ubyte[.gz]");
    }
}
