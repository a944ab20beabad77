package io.starprompt.run;

import io.starprompt.cl.ClassOrder;
import io.starprompt.cl.TaskSplit;
import io.starprompt.data.Normalize;
import io.starprompt.data.sets.Dataset;
import io.starprompt.data.sets.DatasetOptions;
import io.starprompt.data.sets.ImageTaskData;
import io.starprompt.method.starprompt.FirstStageConfig;
import io.starprompt.method.starprompt.StarPromptConfig.Alignment;
import io.starprompt.method.starprompt.StarPromptConfig.Replay;
import io.starprompt.method.starprompt.StarPromptConfig.Stage2;
import io.starprompt.method.starprompt.StarPromptConfig;
import io.starprompt.model.Precision;
import java.nio.file.Path;

/**
 * From resolved {@link RunSettings} to the benchmark a run trains on: how the dataset is read,
 * its class order and task split, and the task data with the settings' transforms.
 */
public final class RunData {
    private RunData() {}

    /**
     * How to read the dataset: format, class-name file, split file and stratified-split share.
     *
     * @param s the settings
     * @return the options
     */
    public static DatasetOptions datasetOptions(RunSettings s) {
        DatasetOptions o = DatasetOptions.defaults().withFormat(s.getString("data.format"))
                .withTrainFraction(s.getFloat("data.train-fraction")).withSplitSeed(s.getLong("seed"));
        if (!s.getString("data.class-names").isEmpty()) o = o.withClassNames(Path.of(s.getString("data.class-names")));
        if (!s.getString("data.split-file").isEmpty()) o = o.withSplitFile(Path.of(s.getString("data.split-file")));
        return o;
    }

    /**
     * The class order of a dataset with {@code classes} classes: the built-in order of the
     * settings' benchmark and seed ({@code class-order} auto or builtin), a seeded permutation
     * (numpy's legacy {@code seed(s); permutation(C)}) cut into {@code tasks} equal tasks, or the
     * natural order.
     *
     * @param s the settings
     * @param classes C
     * @return the order
     * @throws IllegalArgumentException when the built-in order does not fit the dataset, or no
     *     task count is known
     */
    public static ClassOrder classOrder(RunSettings s, int classes) {
        String mode = s.getString("class-order"), benchmark = s.getString("benchmark");
        long seed = s.getLong("seed");
        boolean builtIn = mode.equals("builtin") || mode.equals("auto") && !benchmark.isEmpty() && hasBuiltIn(benchmark, seed);
        if (builtIn) {
            if (benchmark.isEmpty()) throw new IllegalArgumentException("class-order builtin needs a benchmark (or a --preset)");
            ClassOrder o = ClassOrder.builtIn(benchmark, seed);
            if (o.classes() != classes) {
                throw new IllegalArgumentException("the built-in class order of " + benchmark + " has " + o.classes()
                        + " classes but the dataset has " + classes + " (wrong dataset for the preset, or set"
                        + " class-order=seeded)");
            }
            int tasks = s.getInt("tasks");
            if (tasks > 0 && tasks != o.split().tasks()) {
                throw new IllegalArgumentException("tasks " + tasks + " differs from the " + o.split().tasks()
                        + " tasks of the built-in class order of " + benchmark + " (set class-order=seeded to cut differently)");
            }
            return o;
        }
        int tasks = s.getInt("tasks");
        if (tasks < 1) throw new IllegalArgumentException("how many tasks? give --tasks T (or a --preset)");
        if (classes % tasks != 0 || classes < tasks) {
            throw new IllegalArgumentException(classes + " classes cannot be cut into " + tasks + " equal tasks");
        }
        TaskSplit split = TaskSplit.equal(classes, tasks);
        if (mode.equals("identity")) return ClassOrder.identity(split);
        if (seed < 0 || seed > 0xffffffffL) {
            throw new IllegalArgumentException("seed " + seed + " is outside [0, 2^32), the range of the class permutation");
        }
        return ClassOrder.permuted(benchmark.isEmpty() ? "dataset" : benchmark, seed, split);
    }

    private static boolean hasBuiltIn(String benchmark, long seed) {
        try {
            ClassOrder.builtIn(benchmark, seed);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /**
     * The task data over an opened dataset with the settings' order, transforms, normalisation,
     * seed and threads, for towers of the given input sizes, leaving out {@code excluded} files.
     *
     * @param d the dataset
     * @param s the settings
     * @param vitSize the ViT input side
     * @param clipSize the CLIP input side
     * @param excluded files to leave out
     * @return the task data; close it
     */
    public static ImageTaskData taskData(Dataset d, RunSettings s, int vitSize, int clipSize, Iterable<Path> excluded) {
        int size = s.getInt("image-size");
        if (size != vitSize) {
            throw new IllegalArgumentException("image-size " + size + " does not match the ViT input size " + vitSize
                    + " (set --image-size " + vitSize + ")");
        }
        java.util.List<Path> skip = new java.util.ArrayList<>();
        excluded.forEach(skip::add);
        return ImageTaskData.builder(d).classOrder(classOrder(s, d.classes())).imageSize(vitSize).clipImageSize(clipSize)
                .normalize(normalization(s.getString("norm"))).seed(s.getLong("seed")).threads(s.getInt("threads"))
                .trainTransform(TransformSpec.parse(s.getString("train-transform"), vitSize))
                .testTransform(TransformSpec.parse(s.getString("test-transform"), vitSize)).exclude(skip).build();
    }

    /**
     * STAR-Prompt's configuration from the settings' stage1.*, stage2.*, batch and eval-batch values.
     *
     * @param s the settings
     * @return the configuration
     */
    public static StarPromptConfig starPromptConfig(RunSettings s) {
        return StarPromptConfig.builder()
                .change(StarPromptConfig::stage1, b -> b
                        .set(FirstStageConfig::epochs, s.getInt("stage1.epochs"))
                        .set(FirstStageConfig::lr, s.getFloat("stage1.lr"))
                        .set(FirstStageConfig::lambdaOrtho, s.getFloat("stage1.lambda"))
                        .set(FirstStageConfig::alignLr, s.getFloat("stage1.gr-lr"))
                        .set(FirstStageConfig::alignEpochs, s.getInt("stage1.gr-epochs"))
                        .set(FirstStageConfig::monteCarlo, s.getInt("stage1.mc"))
                        .set(FirstStageConfig::mogIterations, s.getInt("stage1.em-iters")))
                .change(StarPromptConfig::stage2, b -> b.set(Stage2::epochs, s.getInt("stage2.epochs"))
                        .set(Stage2::lr, s.getFloat("stage2.lr")).set(Stage2::lambdaOrtho, s.getFloat("stage2.lambda")))
                .change(StarPromptConfig::alignment, b -> b.set(Alignment::lr, s.getFloat("stage2.gr-lr"))
                        .set(Alignment::epochs, s.getInt("stage2.gr-epochs")))
                .change(StarPromptConfig::replay, b -> b.set(Replay::monteCarlo, s.getInt("stage2.mc"))
                        .set(Replay::iterations, s.getInt("stage2.em-iters")))
                .set(StarPromptConfig::batchSize, s.getInt("batch"))
                .set(StarPromptConfig::evalBatchSize, s.getInt("eval-batch"))
                .set(StarPromptConfig::precision, Precision.parse(s.getString("precision"))).build();
    }

    /**
     * The normalisation named imagenet, clip or none.
     *
     * @param name imagenet, clip or none
     * @return the normalisation
     */
    public static Normalize normalization(String name) {
        return switch (name) {
            case "imagenet" -> Normalize.IMAGENET;
            case "clip" -> Normalize.CLIP;
            case "none" -> Normalize.IDENTITY;
            default -> throw new IllegalArgumentException("norm must be imagenet, clip or none, got '" + name + "'");
        };
    }
}
