package io.starprompt.cl;

import io.starprompt.util.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A benchmark's class permutation (ALGORITHM.md §7.2): {@code order[orig] = new} label, plus the task
 * split in new labels. Loaded from {@code class-orders.json} (the exact permutations of the paper
 * seeds 1993/1996/1997 for every benchmark) or computed with {@link #numpyPermutation} for any
 * seed (numpy legacy {@code seed(s); permutation(C)}, reproduced bit for bit). Immutable.
 */
public final class ClassOrder {
    private final String benchmark;
    private final long seed;
    private final int[] order;
    private final int[] inverse;
    private final TaskSplit split;

    /**
     * A class order and the task split over its new labels.
     *
     * @param benchmark the benchmark the order belongs to, e.g. "cifar100"
     * @param seed the seed that drew the order
     * @param order {@code order[orig] = new}; must be a permutation of [0, C)
     * @param split the tasks in new labels; must cover C classes
     */
    public ClassOrder(String benchmark, long seed, int[] order, TaskSplit split) {
        this.benchmark = benchmark;
        this.seed = seed;
        this.order = order.clone();
        this.split = split;
        if (split.classes() != order.length) {
            throw new IllegalArgumentException("class order of " + benchmark + ": " + order.length
                    + " classes but the task split covers " + split.classes());
        }
        this.inverse = new int[order.length];
        Arrays.fill(inverse, -1);
        for (int o = 0; o < order.length; o++) {
            int n = order[o];
            if (n < 0 || n >= order.length || inverse[n] != -1) {
                throw new IllegalArgumentException("class order of " + benchmark + " is not a permutation: entry " + o
                        + " = " + n);
            }
            inverse[n] = o;
        }
    }

    /**
     * The natural order (no permutation).
     *
     * @param split the task split
     * @return the identity order over the split's classes
     */
    public static ClassOrder identity(TaskSplit split) {
        int[] id = new int[split.classes()];
        for (int i = 0; i < id.length; i++) id[i] = i;
        return new ClassOrder("identity", -1, id, split);
    }

    /**
     * numpy's legacy {@code seed(seed); permutation(C)} with the given split (mammoth --permute_classes=1).
     *
     * @param benchmark the benchmark's name
     * @param seed the permutation seed
     * @param split the task split over the permuted labels
     * @return the permuted order
     */
    public static ClassOrder permuted(String benchmark, long seed, TaskSplit split) {
        return new ClassOrder(benchmark, seed, numpyPermutation(seed, split.classes()), split);
    }

    /** Classpath location of the class-orders.json shipped with the library. */
    public static final String BUILT_IN_RESOURCE = "class-orders.json";

    /**
     * One benchmark and seed from the class orders shipped with the library (the paper's seeds
     * 1993, 1996 and 1997 of every benchmark in {@link #builtInBenchmarks()}).
     *
     * @param benchmark a name from {@link #builtInBenchmarks()}
     * @param seed 1993, 1996 or 1997
     * @return the order with its task split
     * @throws IllegalArgumentException naming the benchmark or seed if the file has none
     */
    public static ClassOrder builtIn(String benchmark, long seed) {
        return parse(builtInJson(), benchmark, seed, "built-in " + BUILT_IN_RESOURCE);
    }

    /**
     * The benchmark names of the built-in class orders.
     *
     * @return the names, sorted
     */
    public static List<String> builtInBenchmarks() {
        return benchmarks(Json.parse(builtInJson()));
    }

    /**
     * The text of the built-in class-orders.json.
     *
     * @return the JSON text, as shipped
     */
    public static String builtInJson() {
        try (InputStream in = ClassOrder.class.getResourceAsStream(BUILT_IN_RESOURCE)) {
            if (in == null) throw new IllegalStateException("the library jar lacks " + BUILT_IN_RESOURCE);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the built-in " + BUILT_IN_RESOURCE, e);
        }
    }

    /**
     * Reads one benchmark and seed from class-orders.json.
     *
     * @param classOrdersJson the file
     * @param benchmark the benchmark's name in it
     * @param seed the seed's entry in it
     * @return the order with its task split
     * @throws IOException if the file cannot be read
     */
    public static ClassOrder load(Path classOrdersJson, String benchmark, long seed) throws IOException {
        return parse(Files.readString(classOrdersJson), benchmark, seed, classOrdersJson.toString());
    }

    /**
     * As {@link #load} from the JSON text; source names it in error messages.
     *
     * @param json the text of a class-orders.json
     * @param benchmark the benchmark's name in it
     * @param seed the seed's entry in it
     * @param source where the text came from, for messages
     * @return the order with its task split
     */
    public static ClassOrder parse(String json, String benchmark, long seed, String source) {
        Object root = Json.parse(json);
        Object ds = Json.path(root, "datasets", benchmark);
        if (!(ds instanceof Map<?, ?>)) {
            throw new IllegalArgumentException(source + ": no benchmark '" + benchmark + "'; known: " + benchmarks(root));
        }
        Object seedEntry = Json.path(ds, "seeds", Long.toString(seed));
        if (!(seedEntry instanceof Map<?, ?>)) {
            throw new IllegalArgumentException(source + ": benchmark '" + benchmark + "' has no seed " + seed
                    + "; known: " + ((Map<?, ?>) Json.path(ds, "seeds")).keySet());
        }
        int[] cpt = ints(Json.path(ds, "classes_per_task"), source + ": " + benchmark + ".classes_per_task");
        int[] order = ints(Json.path(seedEntry, "class_order"), source + ": " + benchmark + "." + seed + ".class_order");
        int n = Json.intAt(ds, "n_classes");
        if (order.length != n) {
            throw new IllegalArgumentException(source + ": " + benchmark + " class_order has " + order.length
                    + " entries, n_classes = " + n);
        }
        return new ClassOrder(benchmark, seed, order, TaskSplit.of(cpt));
    }

    /**
     * The benchmark names of a class-orders.json.
     *
     * @param classOrdersJson the file
     * @return the names, in file order
     * @throws IOException if the file cannot be read
     */
    public static List<String> benchmarks(Path classOrdersJson) throws IOException {
        return benchmarks(Json.parse(Files.readString(classOrdersJson)));
    }

    private static List<String> benchmarks(Object root) {
        Object ds = Json.path(root, "datasets");
        List<String> out = new ArrayList<>();
        if (ds instanceof Map<?, ?> m) m.keySet().forEach(k -> out.add(k.toString()));
        return out;
    }

    private static int[] ints(Object v, String what) {
        if (!(v instanceof List<?> l)) throw new IllegalArgumentException(what + " is not an array");
        int[] out = new int[l.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(l.get(i) instanceof Double d) || d != Math.rint(d)) {
                throw new IllegalArgumentException(what + "[" + i + "] is not an integer: " + l.get(i));
            }
            out[i] = d.intValue();
        }
        return out;
    }

    // ------------------------------------------------------------------ accessors

    /**
     * The benchmark this order belongs to.
     *
     * @return its name
     */
    public String benchmark() {
        return benchmark;
    }

    /**
     * The seed that drew this order.
     *
     * @return the seed
     */
    public long seed() {
        return seed;
    }

    /**
     * The number of classes C.
     *
     * @return C
     */
    public int classes() {
        return order.length;
    }

    /**
     * The task split over the new labels.
     *
     * @return the split
     */
    public TaskSplit split() {
        return split;
    }

    /**
     * {@code order[orig] = new} (a copy).
     *
     * @return the permutation
     */
    public int[] order() {
        return order.clone();
    }

    /**
     * The new label of original label orig.
     *
     * @param orig an original label
     * @return its new label
     */
    public int newLabel(int orig) {
        return order[orig];
    }

    /**
     * The original label of new label n.
     *
     * @param n a new label
     * @return its original label
     */
    public int originalLabel(int n) {
        return inverse[n];
    }

    /**
     * Original label ids of task t in new-label order ({@code orig_classes_per_task} of the JSON).
     *
     * @param t a task index
     * @return its original labels, one per new label of the task
     */
    public int[] originalClassesOfTask(int t) {
        int[] out = new int[split.classesInTask(t)];
        for (int i = 0; i < out.length; i++) out[i] = inverse[split.past(t) + i];
        return out;
    }

    /**
     * Class names reordered so that entry i names new label i (ALGORITHM.md §12.13).
     *
     * @param originalNames the names in original-label order
     * @return the names in new-label order
     */
    public List<String> permuteNames(List<String> originalNames) {
        if (originalNames.size() != order.length) {
            throw new IllegalArgumentException("class order: " + originalNames.size() + " names for " + order.length
                    + " classes");
        }
        List<String> out = new ArrayList<>(order.length);
        for (int n = 0; n < order.length; n++) out.add(originalNames.get(inverse[n]));
        return out;
    }

    @Override
    public String toString() {
        return "ClassOrder[" + benchmark + ", seed " + seed + ", " + split + "]";
    }

    // ------------------------------------------------------------------ numpy legacy permutation

    /**
     * {@code np.random.seed(seed); np.random.permutation(n)}: MT19937 seeded with init_genrand(seed),
     * then the legacy Fisher–Yates shuffle of arange(n) with rejection-sampled bounded integers.
     *
     * @param seed numpy's seed
     * @param n the length of the permutation
     * @return a permutation of 0…n−1, as numpy draws it
     */
    public static int[] numpyPermutation(long seed, int n) {
        if (seed < 0 || seed > 0xffffffffL) throw new IllegalArgumentException("numpy seed must be in [0, 2^32): " + seed);
        Mt19937 mt = new Mt19937(seed);
        int[] a = new int[n];
        for (int i = 0; i < n; i++) a[i] = i;
        for (int i = n - 1; i >= 1; i--) {
            int j = (int) mt.interval(i);
            int tmp = a[i];
            a[i] = a[j];
            a[j] = tmp;
        }
        return a;
    }

    private static final class Mt19937 {
        private final int[] mt = new int[624];
        private int mti;

        Mt19937(long seed) {
            mt[0] = (int) seed;
            for (int i = 1; i < 624; i++) {
                mt[i] = 1812433253 * (mt[i - 1] ^ (mt[i - 1] >>> 30)) + i;
            }
            mti = 624;
        }

        long next() {
            if (mti >= 624) {
                for (int k = 0; k < 624; k++) {
                    int y = (mt[k] & 0x80000000) | (mt[(k + 1) % 624] & 0x7fffffff);
                    mt[k] = mt[(k + 397) % 624] ^ (y >>> 1) ^ ((y & 1) != 0 ? 0x9908b0df : 0);
                }
                mti = 0;
            }
            int y = mt[mti++];
            y ^= y >>> 11;
            y ^= (y << 7) & 0x9d2c5680;
            y ^= (y << 15) & 0xefc60000;
            y ^= y >>> 18;
            return y & 0xffffffffL;
        }

        /** numpy random_interval(max) for max &lt; 2^32: masked rejection sampling. */
        long interval(long max) {
            if (max == 0) return 0;
            long mask = max;
            mask |= mask >>> 1;
            mask |= mask >>> 2;
            mask |= mask >>> 4;
            mask |= mask >>> 8;
            mask |= mask >>> 16;
            long v;
            while ((v = next() & mask) > max) {
                // reject
            }
            return v;
        }
    }
}
