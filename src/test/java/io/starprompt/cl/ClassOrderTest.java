package io.starprompt.cl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.util.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** class-orders.json (ALGORITHM.md §7.2): loading, permutation checks and the numpy re-implementation. */
class ClassOrderTest {
    /** class-orders.json: the one in -Dstarprompt.spec.dir if set, else the library's built-in copy. */
    static Path classOrders() throws Exception {
        String spec = System.getProperty("starprompt.spec.dir");
        Path p = spec != null ? Path.of(spec).resolve("class-orders.json")
                : Path.of(ClassOrder.class.getResource(ClassOrder.BUILT_IN_RESOURCE).toURI());
        assertTrue(Files.isRegularFile(p), "class-orders.json not found at " + p.toAbsolutePath());
        return p;
    }

    @Test
    void builtInOrdersMatchTheFile() throws Exception {
        Path file = classOrders();
        assertEquals(ClassOrder.benchmarks(file), ClassOrder.builtInBenchmarks());
        for (String b : ClassOrder.builtInBenchmarks()) {
            assertArrayEquals(ClassOrder.load(file, b, 1996).order(), ClassOrder.builtIn(b, 1996).order(), b);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClassOrder.builtIn("seq-x", 1993));
        assertTrue(e.getMessage().contains("seq-cifar100-224"), e.getMessage());
    }

    @Test
    void cifar100Seed1993IsAPermutationWithTenTasks() throws Exception {
        Path file = classOrders();
        ClassOrder o = ClassOrder.load(file, "seq-cifar100-224", 1993);
        assertEquals(100, o.classes());
        int[] order = o.order();
        boolean[] hit = new boolean[100];
        for (int v : order) {
            assertTrue(v >= 0 && v < 100);
            assertFalse(hit[v], "duplicate new label " + v);
            hit[v] = true;
        }
        assertEquals(10, o.split().tasks());
        assertEquals(10, o.split().classesInTask(9));
        // Task lists in original ids match the file's orig_classes_per_task.
        Object root = Json.parse(Files.readString(file));
        for (int t = 0; t < 10; t++) {
            List<?> expected = (List<?>) Json.path(root, "datasets", "seq-cifar100-224", "seeds", "1993",
                    "orig_classes_per_task", t);
            int[] mine = o.originalClassesOfTask(t);
            for (int i = 0; i < mine.length; i++) assertEquals(((Double) expected.get(i)).intValue(), mine[i]);
        }
        for (int orig = 0; orig < 100; orig++) assertEquals(orig, o.originalLabel(o.newLabel(orig)));
        assertEquals(68, o.newLabel(0)); // first entry of the file
    }

    @Test
    void namesFollowThePermutation() throws Exception {
        ClassOrder o = ClassOrder.load(classOrders(), "seq-eurosat-rgb", 1997);
        List<String> names = new ArrayList<>();
        for (int i = 0; i < o.classes(); i++) names.add("orig" + i);
        List<String> permuted = o.permuteNames(names);
        for (int orig = 0; orig < o.classes(); orig++) assertEquals("orig" + orig, permuted.get(o.newLabel(orig)));
    }

    @Test
    void numpyPermutationReproducesEveryBenchmarkAndSeed() throws Exception {
        Path file = classOrders();
        List<String> benchmarks = ClassOrder.benchmarks(file);
        assertEquals(9, benchmarks.size());
        for (String b : benchmarks) {
            for (long seed : new long[] {1993, 1996, 1997}) {
                ClassOrder o = ClassOrder.load(file, b, seed);
                assertArrayEquals(o.order(), ClassOrder.numpyPermutation(seed, o.classes()), b + " seed " + seed);
                assertArrayEquals(o.order(), ClassOrder.permuted(b, seed, o.split()).order());
            }
        }
    }

    @Test
    void unevenSplitAndErrors() throws Exception {
        Path file = classOrders();
        ClassOrder cars = ClassOrder.load(file, "seq-cars196", 1996);
        assertEquals(16, cars.split().classesInTask(9));
        assertEquals(196, cars.split().classes());
        assertThrows(IllegalArgumentException.class, () -> ClassOrder.load(file, "seq-mnist", 1993));
        assertThrows(IllegalArgumentException.class, () -> ClassOrder.load(file, "seq-isic", 42));
        assertThrows(IllegalArgumentException.class,
                () -> new ClassOrder("x", 0, new int[] {0, 0}, TaskSplit.of(2)));
        assertArrayEquals(new int[] {0, 1, 2, 3}, ClassOrder.identity(TaskSplit.of(2, 2)).order());
    }
}
