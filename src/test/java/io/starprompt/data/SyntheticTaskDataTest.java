package io.starprompt.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.cl.TaskData;
import io.starprompt.cl.TaskSplit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class SyntheticTaskDataTest {
    private final SyntheticTaskData data = SyntheticTaskData.builder().classes(6).tasks(3).trainPerClass(5)
            .testPerClass(3).vitImageSize(16).clipImageSize(24).seed(3).build();

    @Test
    void tasksAreContiguousAndBatchesHaveTheRightShapes() {
        assertEquals(TaskSplit.of(2, 2, 2), data.split());
        assertArrayEquals(new int[] {2, 3}, data.classesOfTask(1));
        assertEquals(6, data.classNames().size());
        int seen = 0;
        for (TaskData.Batch b : data.trainBatches(1, 4, 7)) {
            assertEquals(b.size() * 3 * 16 * 16, b.vitImages().length);
            assertEquals(b.size() * 3 * 24 * 24, b.clipImages().length);
            for (int y : b.labels()) assertTrue(y == 2 || y == 3);
            seen += b.size();
        }
        assertEquals(10, seen); // 2 classes × 5, last partial batch kept
        for (TaskData.Batch b : data.clipBatches(2, TaskData.Split.TEST, 100)) {
            assertNull(b.vitImages());
            assertEquals(6, b.size());
            assertArrayEquals(new int[] {4, 4, 4, 5, 5, 5}, b.labels());
        }
    }

    @Test
    void deterministicPerSeedAndShuffledAcrossSeeds() {
        float[] a = first(data.trainBatches(0, 10, 1)).vitImages();
        float[] b = first(data.trainBatches(0, 10, 1)).vitImages();
        assertArrayEquals(a, b);
        int[] la = first(data.trainBatches(0, 10, 1)).labels(), lb = first(data.trainBatches(0, 10, 2)).labels();
        float[] c = first(data.trainBatches(0, 10, 2)).vitImages();
        assertFalse(Arrays.equals(a, c) && Arrays.equals(la, lb), "another seed must change order or augmentation");
        // Test images are fixed.
        assertArrayEquals(first(data.testBatches(0, 10)).clipImages(), first(data.testBatches(0, 10)).clipImages());
    }

    @Test
    void classesDifferMoreThanSamplesOfOneClass() {
        // Mean image per class from the clip_preprocess view: class means are far apart.
        List<float[]> means = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
            TaskData.Batch b = first(data.clipBatches(t, TaskData.Split.TRAIN, 100));
            int per = b.clipImages().length / b.size();
            for (int c = 0; c < 2; c++) {
                float[] m = new float[per];
                for (int i = 0; i < 5; i++) {
                    for (int k = 0; k < per; k++) m[k] += b.clipImages()[(c * 5 + i) * per + k] / 5;
                }
                means.add(m);
            }
        }
        for (int i = 0; i < 6; i++) {
            for (int j = i + 1; j < 6; j++) {
                double d = 0;
                for (int k = 0; k < means.get(i).length; k++) d += Math.abs(means.get(i)[k] - means.get(j)[k]);
                assertTrue(d / means.get(i).length > 0.1, "classes " + i + " and " + j + " look alike");
            }
        }
    }

    private static TaskData.Batch first(Iterable<TaskData.Batch> it) {
        return it.iterator().next();
    }
}
