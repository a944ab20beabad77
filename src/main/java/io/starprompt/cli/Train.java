package io.starprompt.cli;

import io.starprompt.backend.Backend;
import io.starprompt.cli.report.MethodResult;
import io.starprompt.data.sets.DatasetCheck;
import io.starprompt.method.ContinualMethod;
import io.starprompt.method.baselines.ZeroShotClip;
import io.starprompt.run.Presets;
import io.starprompt.run.RunData;
import io.starprompt.run.RunSettings;
import io.starprompt.run.RunSettings.Source;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code starprompt train}: STAR-Prompt end to end on a real benchmark with real checkpoints: a
 * timm ViT safetensors file, an HF CLIP safetensors file with its config.json, and the HF
 * tokenizer files vocab.json / merges.txt. Settings come from defaults (or a resumed run's saved
 * settings), a {@code --preset}, a {@code --config} file and the command line, in that order of
 * precedence; the resolved settings are printed and saved before training.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train STAR-Prompt or another method (--method), and the chosen baselines, on a dataset, task"
                + " after task: checks the whole dataset first, writes a checkpoint after every task, the reports at"
                + " the end.",
                "Continue an interrupted run with --resume DIR: its settings are read back from DIR/settings.json."})
final class Train implements Callable<Integer> {
    /** The run's resolved settings, saved in its output folder. */
    static final String SETTINGS_FILE = "settings.json";
    /** Checkpoints of each method, under the output folder. */
    static final String CHECKPOINTS = "checkpoints";

    @Mixin
    Main.Common common = new Main.Common();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--data", paramLabel = "PATH", description = {"the dataset: a DIR/{train,test}/<class>/"
            + " tree, a folder of class folders (with a split file, or a seeded stratified split), CIFAR-100 binary"
            + " (folder or .tar.gz), CUB-200-2011, or MNIST-style IDX files"})
    String data;

    @Option(names = "--format", paramLabel = "NAME", description = "dataset layout when it cannot be recognised:"
            + " folders, class-folders, cifar100, cub200, idx (setting data.format)")
    String format;

    @Option(names = "--class-names", paramLabel = "FILE", description = "one class name per line, overriding the dataset's")
    Path classNames;

    @Option(names = "--skip-bad-images", description = "leave out images that fail the check (listed in the output"
            + " folder) instead of stopping")
    boolean skipBadImages;

    @Option(names = "--method", paramLabel = "NAME", description = "the method to train before the baselines:"
            + " ${COMPLETION-CANDIDATES} (setting method, default starprompt)", completionCandidates = MethodNames.class)
    String method;

    @Option(names = "--preset", paramLabel = "NAME", description = "a paper benchmark's settings: ${COMPLETION-CANDIDATES}",
            completionCandidates = PresetNames.class)
    String preset;

    @Option(names = "--config", paramLabel = "FILE", description = "a JSON object of settings (see --set)")
    Path config;

    @Option(names = "--set", paramLabel = "NAME=VALUE", description = "any setting, e.g. --set stage2.lambda=2; repeatable")
    List<String> assignments = new ArrayList<>();

    @Option(names = "--resume", paramLabel = "DIR", description = "continue the run in DIR after its last finished task")
    Path resume;

    @Option(names = "--vit", paramLabel = "FILE", description = "timm ViT-B/16 weights (safetensors)")
    String vit;

    @Option(names = "--vit-heads", paramLabel = "H", description = "attention heads of the ViT (default 12, as B/16)")
    Integer vitHeads;

    @Option(names = "--clip", paramLabel = "FILE", description = "HF CLIP weights (safetensors)")
    String clip;

    @Option(names = "--clip-config", paramLabel = "FILE", description = "HF CLIP config.json")
    String clipConfig;

    @Option(names = "--vocab", paramLabel = "FILE", description = "CLIP tokenizer vocab.json")
    String vocab;

    @Option(names = "--merges", paramLabel = "FILE", description = "CLIP tokenizer merges.txt")
    String merges;

    @Option(names = "--tasks", paramLabel = "T", description = "number of equal tasks (setting tasks)")
    Integer tasks;

    @Option(names = "--epochs", paramLabel = "E", description = "epochs of both stages (stage1.epochs, stage2.epochs)")
    Integer epochs;

    @Option(names = "--batch", paramLabel = "B", description = "training batch size (setting batch)")
    Integer batch;

    @Option(names = "--seed", paramLabel = "S", description = "run seed (default 1993)")
    Long seed;

    @Option(names = "--image-size", paramLabel = "PX", description = "input side; must match the checkpoints")
    Integer imageSize;

    @Option(names = "--norm", paramLabel = "imagenet|clip|none", description = "ViT input normalisation")
    String norm;

    @Option(names = "--threads", paramLabel = "N", description = "image decoding threads")
    Integer threads;

    @Option(names = "--precision", paramLabel = "fp32|tf32|bf16",
            description = "storage of the frozen towers (setting precision, default fp32)")
    String precision;

    @Option(names = "--out", paramLabel = "DIR", description = "folder for checkpoints and reports"
            + " (default: runs/train-<date-time>; with --resume, the resumed folder)")
    Path out;

    private final PrintStream stdout;
    private final PrintStream stderr;

    Train(PrintStream stdout, PrintStream stderr) {
        this.stdout = stdout;
        this.stderr = stderr;
    }

    /** Names for --method's help and completion. */
    static final class MethodNames extends ArrayList<String> {
        MethodNames() {
            super(Methods.methodNames());
        }
    }

    /** Names for --preset's help and completion. */
    static final class PresetNames extends ArrayList<String> {
        PresetNames() {
            super(Presets.names());
        }
    }

    @Override
    public Integer call() throws IOException {
        RunSettings s = settings();
        Job.checkFiles(s);
        Path outDir = outputFolder();
        try (Console console = common.console(stdout)) {
            console.info("settings:");
            s.describe().forEach(console::info);
            Path dataPath = Path.of(s.getString("data.path"));
            DatasetCheck.Report check = DatasetCheck.check(dataPath, RunData.datasetOptions(s), s.getInt("threads"),
                    (done, total) -> console.progress("checking images", done, total));
            if (!check.isOk() && !(skipBadImages && check.onlyBadImages())) {
                int bad = check.badImages().size();
                stderr.println("starprompt: " + dataPath + ": the dataset has " + check.problems().size() + " problem"
                        + (check.problems().size() == 1 ? "" : "s") + (bad == 0 ? "" : " (" + bad + " of "
                        + check.checkedImages() + " image files do not decode)") + "; nothing was trained");
                stderr.println(check.format(20));
                if (check.onlyBadImages()) stderr.println("(--skip-bad-images leaves the bad images out)");
                return 1;
            }
            try (Backend be = common.openBackend(); Job job = Job.open(s, be, check.badImages(), console)) {
                // The run folder is written only once the models and the data have loaded: a failed start leaves nothing.
                Files.createDirectories(outDir);
                s.writeJson(outDir.resolve(SETTINGS_FILE));
                if (!check.badImages().isEmpty()) {
                    Path list = outDir.resolve("skipped-images.txt");
                    Files.write(list, check.badImages().stream().map(Path::toString).toList());
                    console.warn("skipping " + check.badImages().size() + " images that fail to decode (listed in " + list
                            + ")");
                }
                train(be, job, outDir, console);
            }
        }
        return 0;
    }

    /** The chosen method, then each baseline, each resuming from its checkpoints in the output folder. */
    private void train(Backend be, Job job, Path outDir, Console console) throws IOException {
        RunSettings s = job.settings;
        List<String> baselines = baselines(s.getString("baselines"));
        Runner runner = new Runner(console);
        Map<String, String> config = new LinkedHashMap<>();
        s.asMap().forEach((k, v) -> config.put(k, String.valueOf(v)));
        List<MethodResult> results = new ArrayList<>();
        Path ckpt = outDir.resolve(CHECKPOINTS);
        Methods.Context context = job.context(be);
        Methods.Entry chosen = Methods.method(s.getString("method"));
        if (baselines.contains("first-stage") && !chosen.name().equals(Methods.STAR_PROMPT)) {
            console.warn("the first-stage baseline comes with STAR-Prompt's run only; it is left out with --method "
                    + chosen.name());
        }
        try (ContinualMethod main = chosen.factory().apply(context)) {
            Runner.Outcome r = runner.run(main, chosen.displayName(), job.data, baselines.contains("first-stage"),
                    new Runner.Saving(ckpt.resolve(main.name()), s.getLong("seed"), config));
            results.add(r.result());
            if (r.firstStage() != null) results.add(r.firstStage());
        }
        for (String b : baselines) {
            ContinualMethod m = switch (b) {
                case "zero-shot" -> new ZeroShotClip(job.clip, context.zeroShotIds(), context.starPrompt().evalBatchSize());
                case Methods.FINETUNE, Methods.JOINT -> Methods.methodOrBound(b).factory().apply(context);
                default -> null; // first-stage comes with STAR-Prompt
            };
            if (m == null) continue;
            try (m) {
                results.add(runner.run(m, DISPLAY_NAMES.get(b), job.data, false,
                        new Runner.Saving(ckpt.resolve(m.name()), s.getLong("seed"), config)).result());
            }
        }
        runner.finish(results, s.asMap(), be, outDir);
    }

    /** How each baseline is shown in tables and plots. */
    static final Map<String, String> DISPLAY_NAMES = Map.of("zero-shot", "zero-shot CLIP", "first-stage", "first stage only",
            "finetune", "sequential fine-tuning", "joint", "joint training");

    /** The baseline names of the setting, checked. */
    static List<String> baselines(String value) {
        List<String> known = List.of("zero-shot", "first-stage", "finetune", "joint");
        if (value.isBlank() || value.equals("none")) return List.of();
        List<String> out = new ArrayList<>();
        for (String b : value.split(",")) {
            String name = b.trim();
            if (!known.contains(name)) {
                throw new IllegalArgumentException("baselines: unknown baseline '" + name + "'; known: " + known + " or none");
            }
            out.add(name);
        }
        return out;
    }

    /** --out, the resumed folder, or runs/train-&lt;date-time&gt; in the working directory. */
    private Path outputFolder() {
        if (out != null) return out;
        return resume != null ? resume : Main.defaultOutput("train");
    }

    /** Defaults (or the resumed run's settings), then the preset, the config file and the command line. */
    RunSettings settings() throws IOException {
        checkPositive();
        RunSettings s = RunSettings.defaults();
        try {
            if (resume != null) s = s.withConfigFile(resumedSettings());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--resume " + resume + ": " + e.getMessage(), e);
        }
        try {
            if (preset != null) s = Presets.apply(s, preset);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
        }
        // A config file's content is input like a dataset's: its errors are one line (exit 1), not a usage error.
        if (config != null) s = s.withConfigFile(requireFile("--config", config));
        try {
            s = s.withAssignments(assignments);
            s = set(s, "method", method);
            s = set(s, "data.path", data);
            s = set(s, "model.vit", vit);
            s = set(s, "model.vit-heads", vitHeads);
            s = set(s, "model.clip", clip);
            s = set(s, "model.clip-config", clipConfig);
            s = set(s, "model.vocab", vocab);
            s = set(s, "model.merges", merges);
            s = set(s, "tasks", tasks);
            s = set(s, "stage1.epochs", epochs);
            s = set(s, "stage2.epochs", epochs);
            s = set(s, "batch", batch);
            s = set(s, "seed", seed);
            s = set(s, "image-size", imageSize);
            s = set(s, "norm", norm);
            s = set(s, "data.format", format);
            s = set(s, "data.class-names", classNames == null ? null : classNames.toString());
            s = set(s, "threads", threads);
            s = set(s, "precision", precision);
            baselines(s.getString("baselines"));
            Methods.method(s.getString("method"));
            if (resume == null) requireOptions(s);
            return s;
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
        }
    }

    /** A fresh run names its dataset and models on the command line (a resumed one has them saved). */
    private static void requireOptions(RunSettings s) {
        for (String[] r : new String[][] {{"data.path", "--data"}, {"model.vit", "--vit"}, {"model.clip", "--clip"},
                {"model.clip-config", "--clip-config"}, {"model.vocab", "--vocab"}, {"model.merges", "--merges"}}) {
            if (s.getString(r[0]).isEmpty()) throw new IllegalArgumentException("missing option " + r[1]);
        }
    }

    private Path resumedSettings() {
        Path f = resume.resolve(SETTINGS_FILE);
        if (!Files.isRegularFile(f)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--resume " + resume + ": no " + SETTINGS_FILE
                    + " there (not a train output folder?)");
        }
        return f;
    }

    private static RunSettings set(RunSettings s, String key, Object value) {
        return value == null ? s : s.with(key, value, Source.COMMAND_LINE, "");
    }

    /** The counts given on the command line must be positive (the settings allow 0 where it means "unset"). */
    private void checkPositive() {
        String[] names = {"--tasks", "--epochs", "--batch", "--image-size", "--threads", "--vit-heads"};
        Integer[] values = {tasks, epochs, batch, imageSize, threads, vitHeads};
        for (int i = 0; i < names.length; i++) {
            if (values[i] != null) Main.positive(spec, names[i], values[i]);
        }
    }

    private Path requireFile(String option, Path p) {
        if (!Files.isRegularFile(p)) {
            throw new CommandLine.ParameterException(spec.commandLine(), option + " " + p + ": no such file");
        }
        return p;
    }
}
