package io.starprompt.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Parallel batch assembly equals serial assembly and is reproducible from the seed. */
class BatchAssemblerTest {
    private static final int SIZE = 32;

    @TempDir
    Path dir;

    /** A training-style augmenting pipeline (RandomResizedCrop + flip, ImageNet normalisation). */
    private static ImagePipeline augmenting() {
        return ImagePipeline.of(Normalize.IMAGENET, RandomResizedCrop.of(SIZE), HorizontalFlip.random());
    }

    /** Images of different sizes, half of them as PNG files. */
    private List<ImageSource> sources(int n) throws IOException {
        List<ImageSource> list = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            RgbImage img = ImagesTest.picture(40 + 7 * i, 30 + 5 * (i % 4));
            if (i % 2 == 0) {
                Path png = dir.resolve("img" + i + ".png");
                ImageIO.write(img.toBufferedImage(), "png", png.toFile());
                list.add(ImageSource.file(png));
            } else {
                list.add(ImageSource.of(img));
            }
        }
        return list;
    }

    /** The reference: one sample after another on this thread, with the documented generators. */
    private static float[] serial(ImagePipeline pipeline, List<ImageSource> sources, long seed) {
        SplittableRandom root = new SplittableRandom(seed);
        int size = 3 * SIZE * SIZE;
        float[] out = new float[sources.size() * size];
        for (int i = 0; i < sources.size(); i++) {
            float[] x = pipeline.apply(sources.get(i).load(), root.split());
            System.arraycopy(x, 0, out, i * size, size);
        }
        return out;
    }

    @Test
    void equalsSerialAssemblyWithOneAndFourThreads() throws IOException {
        List<ImageSource> sources = sources(12);
        float[] expected = serial(augmenting(), sources, 42);
        for (int threads : new int[] {1, 4}) {
            try (BatchAssembler assembler = new BatchAssembler(augmenting(), SIZE, SIZE, threads)) {
                assertEquals(3 * SIZE * SIZE, assembler.sampleSize());
                for (int run = 0; run < 3; run++) assertArrayEquals(expected, assembler.assemble(sources, 42), threads + " threads");
            }
        }
    }

    @Test
    void seedChangesTheAugmentationOnly() throws IOException {
        List<ImageSource> sources = sources(6);
        try (BatchAssembler assembler = new BatchAssembler(augmenting(), SIZE, SIZE, 3)) {
            assertFalse(Arrays.equals(assembler.assemble(sources, 1), assembler.assemble(sources, 2)));
        }
        ImagePipeline fixed = ImagePipeline.of(Normalize.CLIP, Resize.shorterSide(SIZE), CenterCrop.of(SIZE));
        try (BatchAssembler assembler = new BatchAssembler(fixed, SIZE, SIZE, 3)) {
            assertArrayEquals(assembler.assemble(sources, 1), assembler.assemble(sources, 2));
            // Each slot holds its own image's transform.
            float[] batch = assembler.assemble(sources, 7);
            float[] third = fixed.apply(sources.get(2).load(), new SplittableRandom(0));
            assertArrayEquals(third, Arrays.copyOfRange(batch, 2 * 3 * SIZE * SIZE, 3 * 3 * SIZE * SIZE));
        }
    }

    @Test
    void corruptFileFailsTheBatchWithItsName() throws IOException {
        List<ImageSource> sources = new ArrayList<>(sources(5));
        Path bad = Files.write(dir.resolve("broken.jpg"), new byte[] {(byte) 0xFF, (byte) 0xD8, 1, 2, 3});
        sources.add(3, ImageSource.file(bad));
        try (BatchAssembler assembler = new BatchAssembler(augmenting(), SIZE, SIZE, 4)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> assembler.assemble(sources, 0));
            assertTrue(e.getMessage().contains("broken.jpg"), e.getMessage());
        }
    }

    @Test
    void wrongSampleSizeIsReported() throws IOException {
        try (BatchAssembler assembler = new BatchAssembler(augmenting(), SIZE + 1, SIZE, 2)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> assembler.assemble(sources(2), 0));
            assertTrue(e.getMessage().contains("expected 3x33x32"), e.getMessage());
        }
    }

    @Test
    void emptyBatch() {
        try (BatchAssembler assembler = new BatchAssembler(augmenting(), SIZE, SIZE, 2)) {
            assertEquals(0, assembler.assemble(List.of(), 0).length);
        }
    }
}
