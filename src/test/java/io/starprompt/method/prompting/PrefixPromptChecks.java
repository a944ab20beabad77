package io.starprompt.method.prompting;

import io.starprompt.method.prompting.PrefixPromptMethod;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.backend.Backend;
import io.starprompt.backend.Backends;
import io.starprompt.cl.TaskData;
import io.starprompt.data.SyntheticTaskData;
import io.starprompt.demo.RandomCheckpoints;
import io.starprompt.method.Checkpoints;
import io.starprompt.method.ContinualMethod;
import io.starprompt.method.ContinualRun;
import io.starprompt.method.RunIdentity;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.IntPredicate;

/**
 * Checks shared by the prefix-prompt methods' tests (CODA-Prompt, DualPrompt): a tiny random
 * ViT deep enough for their prompted layers, gradients of one training step against central
 * finite differences, one backend against another, learning a synthetic stream, and resuming.
 */
public final class PrefixPromptChecks {
    /** Sizes of the tiny ViT: 16 px images in 8 px patches (5 tokens), width 32, 6 layers, 4 heads. */
    public static final RandomCheckpoints.Tower TOWER = new RandomCheckpoints.Tower(16, 8, 32, 6, 4);

    private PrefixPromptChecks() {}

    /**
     * "class 0", "class 1", …: names for a head of C classes.
     *
     * @param classes C
     * @return the names
     */
    public static List<String> classNames(int classes) {
        List<String> n = new ArrayList<>();
        for (int c = 0; c < classes; c++) n.add("class " + c);
        return n;
    }

    /**
     * The tiny random ViT on a backend, written into dir once.
     *
     * @param be the backend
     * @param dir a folder for the checkpoint file
     * @return the ViT
     */
    public static VisionTransformer vit(Backend be, Path dir) {
        try {
            Path file = dir.resolve("vit-deep.safetensors");
            if (!Files.exists(file)) RandomCheckpoints.writeVit(file, TOWER, 3);
            return VisionTransformer.load(be, file, TOWER.heads());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * B random images of the tiny ViT's size.
     *
     * @param be the backend
     * @param batch B
     * @param seed the values' seed
     * @return [B, 3, 16, 16], in the current scope
     */
    public static Tensor images(Backend be, int batch, long seed) {
        Random r = new Random(seed);
        int s = TOWER.imageSize();
        float[] v = new float[batch * 3 * s * s];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return be.fromArray(v, batch, 3, s, s);
    }

    /**
     * The loss and gradients of one training step, on the host: entry 0 the loss, then one array
     * per parameter.
     *
     * @param m the method, with its task prepared
     * @param task the task
     * @param tasks T
     * @param images the images
     * @param labels the labels
     * @param range the classes of the loss
     * @return the loss and the gradients
     */
    public static List<float[]> step(PrefixPromptMethod m, int task, int tasks, Tensor images, int[] labels,
            PrefixPromptMethod.ClassRange range) {
        try (TensorScope scope = TensorScope.open()) {
            PrefixPromptMethod.Step s = m.step(task, tasks, images, m.queries(images), labels, range);
            List<float[]> out = new ArrayList<>();
            out.add(new float[] {s.loss()});
            for (Tensor g : s.grads()) out.add(m.be.toFloatArray(g));
            return out;
        }
    }

    /**
     * Prepares tasks 0 … task of m (re-initialisations, copies), as beginning them would.
     *
     * @param m the method
     * @param task the last task to prepare
     * @param tasks T
     */
    public static void prepareUpTo(PrefixPromptMethod m, int task, int tasks) {
        for (int t = 0; t <= task; t++) m.prepareTask(t, tasks);
    }

    /**
     * Every parameter's gradient of one step against central finite differences of the loss along
     * two random directions over the elements that train (trained.get(name)); the other elements
     * must get exactly zero.
     *
     * @param m the method on the float64 reference backend, its task prepared
     * @param task the task
     * @param tasks T
     * @param images the images
     * @param labels the labels
     * @param range the classes of the loss
     * @param trained per parameter name, the flat indices that train
     * @param h the finite-difference step
     */
    public static void gradientsMatchFiniteDifferences(PrefixPromptMethod m, int task, int tasks, Tensor images,
            int[] labels, PrefixPromptMethod.ClassRange range, Map<String, IntPredicate> trained, double h) {
        List<float[]> analytic = step(m, task, tasks, images, labels, range);
        List<String> names = new ArrayList<>(m.parameters().keySet());
        Random r = new Random(17);
        for (int p = 0; p < names.size(); p++) {
            String name = names.get(p);
            Tensor param = m.parameters().get(name);
            float[] g = analytic.get(p + 1), base = m.be.toFloatArray(param);
            IntPredicate trains = trained.get(name);
            double signal = 0;
            for (int i = 0; i < g.length; i++) {
                if (!trains.test(i)) assertEquals(0f, g[i], name + "[" + i + "] does not train but has gradient");
            }
            for (int trial = 0; trial < 2; trial++) {
                float[] dir = direction(g.length, trains, r);
                double dot = 0;
                for (int i = 0; i < g.length; i++) dot += (double) dir[i] * g[i];
                double fd = (lossAt(m, param, base, dir, h, task, tasks, images, labels, range)
                        - lossAt(m, param, base, dir, -h, task, tasks, images, labels, range)) / (2 * h);
                m.upload(base, param);
                signal = Math.max(signal, Math.abs(dot));
                assertEquals(fd, dot, 0.03 * Math.abs(fd) + 2e-5, name + " trial " + trial + ": finite difference " + fd
                        + ", gradient " + dot);
            }
            assertTrue(signal > 1e-4, name + ": directional derivatives too small to test (" + signal + ")");
        }
    }

    private static float[] direction(int n, IntPredicate trains, Random r) {
        float[] d = new float[n];
        double norm = 0;
        for (int i = 0; i < n; i++) {
            if (!trains.test(i)) continue;
            d[i] = (float) r.nextGaussian();
            norm += d[i] * d[i];
        }
        for (int i = 0; i < n; i++) d[i] /= (float) Math.sqrt(norm);
        return d;
    }

    private static double lossAt(PrefixPromptMethod m, Tensor param, float[] base, float[] dir, double h, int task,
            int tasks, Tensor images, int[] labels, PrefixPromptMethod.ClassRange range) {
        float[] moved = base.clone();
        for (int i = 0; i < moved.length; i++) moved[i] += (float) (h * dir[i]);
        m.upload(moved, param);
        return step(m, task, tasks, images, labels, range).get(0)[0];
    }

    /**
     * One training step of the same method on the CPU and on the reference backend (same seed,
     * same images): loss and every gradient agree.
     *
     * @param build builds the method over a ViT
     * @param dir a folder for the ViT checkpoint
     * @param task the task to step in
     * @param tasks T
     * @param labels the labels
     * @param range the classes of the loss
     */
    public static void cpuMatchesReference(Function<VisionTransformer, PrefixPromptMethod> build, Path dir, int task,
            int tasks, int[] labels, PrefixPromptMethod.ClassRange range) {
        List<List<float[]>> results = new ArrayList<>();
        for (String backend : List.of("reference", "cpu")) {
            try (Backend be = Backends.create(backend); VisionTransformer vit = vit(be, dir);
                    PrefixPromptMethod m = build.apply(vit); TensorScope scope = TensorScope.open()) {
                prepareUpTo(m, task, tasks);
                results.add(step(m, task, tasks, images(be, labels.length, 5), labels, range));
            }
        }
        for (int i = 0; i < results.get(0).size(); i++) {
            float[] ref = results.get(0).get(i), cpu = results.get(1).get(i);
            double scale = 0;
            for (float v : ref) scale = Math.max(scale, Math.abs(v));
            assertArrayEquals(ref, cpu, (float) (1e-3 * scale + 1e-6), "output " + i + " (0: the loss)");
        }
    }

    /**
     * A synthetic stream of 2 tasks of 2 classes at the tiny ViT's image size.
     *
     * @param tasks T
     * @param classes C
     * @param seed the data seed
     * @return the stream
     */
    public static TaskData stream(int tasks, int classes, long seed) {
        return SyntheticTaskData.builder().classes(classes).tasks(tasks).trainPerClass(12).testPerClass(8).noise(0.2)
                .seed(seed).imageSize(TOWER.imageSize()).build();
    }

    /**
     * A method learns a synthetic stream of 2 tasks of 2 classes on the CPU backend: the final
     * average class-IL accuracy is above 50 % (chance: 25 %).
     *
     * @param build builds the method over a ViT, for the stream's class names
     * @param dir a folder for the ViT checkpoint
     * @param seed the data's seed
     */
    public static void learnsAboveChance(BiFunction<VisionTransformer, List<String>, ContinualMethod> build, Path dir,
            long seed) {
        TaskData data = stream(2, 4, seed);
        ContinualRun.Result r;
        try (Backend be = Backends.create("cpu"); VisionTransformer vit = vit(be, dir);
                ContinualMethod m = build.apply(vit, data.classNames())) {
            r = ContinualRun.run(m, data);
        }
        double accuracy = r.classIl().finalAverageAccuracy();
        assertTrue(accuracy > 50, "final average class-IL accuracy " + accuracy + " % (chance 25 %)");
    }

    /**
     * Checkpointed runs of a method: uninterrupted, and stopped after two tasks then resumed in
     * a fresh instance; both accuracy matrices and the final state must be identical.
     *
     * @param build builds the method over a ViT
     * @param data the stream (3 tasks or more)
     * @param dir a scratch folder
     * @param seed the run's seed
     * @throws IOException if a checkpoint cannot be written
     */
    public static void resumesToTheSameResult(Function<VisionTransformer, ContinualMethod> build, TaskData data, Path dir,
            long seed) throws IOException {
        Path full = dir.resolve("full"), part = dir.resolve("part");
        ContinualRun.Result uninterrupted, resumed;
        try (Backend be = Backends.create("cpu"); VisionTransformer vit = vit(be, dir)) {
            try (ContinualMethod m = build.apply(vit)) {
                uninterrupted = ContinualRun.run(m, data, checkpointing(full, m, data, seed));
            }
            try (ContinualMethod m = build.apply(vit)) {
                ContinualRun.run(m, data, checkpointing(part, m, data, seed), 2);
            }
            try (ContinualMethod m = build.apply(vit)) {
                resumed = ContinualRun.resume(m, data, checkpointing(part, m, data, seed));
            }
        }
        for (int i = 0; i < data.tasks(); i++) {
            assertArrayEquals(uninterrupted.classIl().row(i), resumed.classIl().row(i), 0.0, "class-IL row " + i);
            assertArrayEquals(uninterrupted.taskIl().row(i), resumed.taskIl().row(i), 0.0, "task-IL row " + i);
        }
        String last = String.format("task-%03d.ckpt", data.tasks());
        assertEquals(Checkpoints.read(full.resolve(last)).state(), Checkpoints.read(part.resolve(last)).state());
    }

    private static ContinualRun.Checkpointing checkpointing(Path dir, ContinualMethod m, TaskData data, long seed) {
        return new ContinualRun.Checkpointing(dir, RunIdentity.of(m, data, seed), Map.of());
    }
}
