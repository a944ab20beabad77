package io.starprompt.cli;

import io.starprompt.backend.Backend;
import io.starprompt.data.ImagePipeline;
import io.starprompt.data.ImagePreprocessing;
import io.starprompt.data.Images;
import io.starprompt.data.Normalize;
import io.starprompt.data.RgbImage;
import io.starprompt.method.Checkpoints;
import io.starprompt.method.ContinualMethod;
import io.starprompt.method.ContinualRun;
import io.starprompt.method.RunIdentity;
import io.starprompt.method.TaskAccuracy;
import io.starprompt.method.starprompt.StarPrompt;
import io.starprompt.run.RunData;
import io.starprompt.run.RunSettings;
import io.starprompt.run.TransformSpec;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code starprompt eval}: a saved run (the output folder of {@code train}, any method) restored
 * from its latest checkpoint and evaluated on the test set of every task it learned (the accuracy
 * row is compared with the one recorded at training time); a STAR-Prompt run can also classify
 * images, printing each image's most likely classes.
 */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Evaluate a trained run on its test sets, or classify images with it.",
                "The run's dataset, models and settings are read back from DIR/settings.json."})
final class Eval implements Callable<Integer> {
    @Mixin
    Main.Common common = new Main.Common();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--run", required = true, paramLabel = "DIR", description = "the output folder of a train run")
    Path run;

    @Parameters(paramLabel = "IMAGE", arity = "0..*", description = "images to classify (none: evaluate on the test sets)")
    List<Path> images = new ArrayList<>();

    @Option(names = "--top", defaultValue = "5", paramLabel = "K", description = "classes listed per image (default: ${DEFAULT-VALUE})")
    int top;

    private final PrintStream out;

    Eval(PrintStream out) {
        this.out = out;
    }

    @Override
    public Integer call() throws IOException {
        Main.positive(spec, "--top", top);
        Path settingsFile = run.resolve(Train.SETTINGS_FILE);
        if (!Files.isRegularFile(settingsFile)) {
            throw new IllegalArgumentException("--run " + run + ": no " + Train.SETTINGS_FILE + " there (not a train output folder?)");
        }
        RunSettings s = RunSettings.defaults().withConfigFile(settingsFile);
        Methods.Entry entry = Methods.method(s.getString("method"));
        if (!images.isEmpty() && !entry.name().equals(Methods.STAR_PROMPT)) {
            throw new IllegalArgumentException("--run " + run + ": the run trained " + entry.displayName()
                    + "; classifying images is available for STAR-Prompt runs (the test sets can be evaluated:"
                    + " leave the images out)");
        }
        for (Path image : images) {
            if (!Files.isRegularFile(image)) throw new IllegalArgumentException(image + ": no such image file");
        }
        try (Console console = common.console(out); Backend be = common.openBackend();
                Job job = Job.open(s, be, skipped(), console);
                ContinualMethod method = entry.factory().apply(job.context(be))) {
            Checkpoints.Checkpoint cp = restore(method, entry, job);
            console.info("restored " + cp.file() + " (" + (cp.task() + 1) + " of " + job.data.tasks() + " tasks learned)");
            if (images.isEmpty()) return evaluate(method, job, cp, console);
            classify((StarPrompt) method, job, console);
        }
        return 0;
    }

    /** The files the run skipped as unreadable, so that the test sets are the ones it was evaluated on. */
    private List<Path> skipped() throws IOException {
        Path list = run.resolve("skipped-images.txt");
        return Files.isRegularFile(list) ? Files.readAllLines(list).stream().map(Path::of).toList() : List.of();
    }

    private Checkpoints.Checkpoint restore(ContinualMethod method, Methods.Entry entry, Job job) throws IOException {
        Path dir = run.resolve(Train.CHECKPOINTS).resolve(method.name());
        Path latest = Checkpoints.latest(dir).orElseThrow(() -> new IllegalArgumentException(
                "--run " + run + ": no " + entry.displayName() + " checkpoint in " + dir));
        Checkpoints.Checkpoint cp = Checkpoints.read(latest, RunIdentity.of(method, job.data, job.settings.getLong("seed")));
        method.restoreState(cp.state());
        return cp;
    }

    /** The accuracy on every learned task's test set, next to the row recorded at training time; 1 if they differ. */
    private int evaluate(ContinualMethod method, Job job, Checkpoints.Checkpoint cp, Console console) {
        int learned = method.tasksLearned();
        double[] classIl = new double[learned], taskIl = new double[learned];
        for (int t = 0; t < learned; t++) {
            TaskAccuracy a = method.evaluate(job.data, t);
            classIl[t] = a.classIl();
            taskIl[t] = a.taskIl();
        }
        double[] saved = cp.metrics().get(ContinualRun.CLASS_IL).row(learned - 1);
        boolean same = Arrays.equals(classIl, saved);
        console.result(String.format(Locale.ROOT, "class-IL accuracy on tasks 1..%d: %s%n   recorded at training time: %s%s",
                learned, format(classIl), format(saved), same ? "  (identical)" : "  (DIFFERENT)"));
        console.result("task-IL accuracy: " + format(taskIl));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("class_il", classIl);
        m.put("task_il", taskIl);
        m.put("recorded_class_il", saved);
        m.put("identical", same);
        console.event("eval", m);
        return same ? 0 : 1;
    }

    /** Each image through the run's test transform, then its top classes with probabilities. */
    private void classify(StarPrompt sp, Job job, Console console) {
        RunSettings s = job.settings;
        int size = job.vit.config().imageSize(), seen = job.data.split().seen(sp.tasksLearned() - 1);
        Normalize norm = RunData.normalization(s.getString("norm"));
        ImagePipeline test = new ImagePipeline(TransformSpec.parse(s.getString("test-transform"), size), norm);
        for (Path image : images) {
            RgbImage img = Images.decode(image);
            float[] vit = test.apply(img, new SplittableRandom(0));
            float[] clip = ImagePreprocessing.renormalizeForClip(vit, size * size, norm);
            float[] logits = sp.inference().logits(vit, clip, 1, seen);
            console.result(image + ":");
            double[] p = softmax(logits);
            Integer[] order = new Integer[p.length];
            for (int i = 0; i < order.length; i++) order[i] = i;
            Arrays.sort(order, (a, b) -> Double.compare(p[b], p[a]));
            List<Map<String, Object>> ranked = new ArrayList<>();
            for (int k = 0; k < Math.min(top, order.length); k++) {
                String name = job.data.classNames().get(order[k]);
                console.result(String.format(Locale.ROOT, "  %6.2f %%  %s", 100 * p[order[k]], name));
                ranked.add(Map.of("class", name, "probability", p[order[k]]));
            }
            console.event("prediction", Map.of("image", image.toString(), "top", ranked));
        }
    }

    private static double[] softmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (float v : logits) max = Math.max(max, v);
        double[] p = new double[logits.length];
        for (int i = 0; i < p.length; i++) sum += p[i] = Math.exp(logits[i] - max);
        for (int i = 0; i < p.length; i++) p[i] /= sum;
        return p;
    }

    private static String format(double[] row) {
        StringBuilder sb = new StringBuilder();
        for (double v : row) sb.append(String.format(Locale.ROOT, "%7.2f", v));
        return sb.toString();
    }
}
