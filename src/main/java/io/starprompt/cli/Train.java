package io.starprompt.cli;

import io.starprompt.backend.Backend;
import io.starprompt.data.sets.Dataset;
import io.starprompt.data.sets.DatasetCheck;
import io.starprompt.data.sets.Datasets;
import io.starprompt.data.sets.ImageTaskData;
import io.starprompt.cli.report.MethodResult;
import io.starprompt.method.baselines.ZeroShotClip;
import io.starprompt.method.starprompt.StarPrompt;
import io.starprompt.method.starprompt.StarPromptConfig;
import io.starprompt.model.clip.Clip;
import io.starprompt.model.tokenizer.ClipTokenizer;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.run.Presets;
import io.starprompt.run.RunData;
import io.starprompt.run.RunSettings;
import io.starprompt.run.RunSettings.Source;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code starprompt train}: STAR-Prompt end to end on a real benchmark with real checkpoints: a
 * timm ViT safetensors file, an HF CLIP safetensors file with its config.json, and the HF
 * tokenizer files vocab.json / merges.txt. Settings come from defaults, a {@code --preset}, a
 * {@code --config} file and the command line, in that order of precedence; the resolved
 * settings are printed before training.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Train STAR-Prompt on a dataset, task after task, and report the accuracy matrix.")
final class Train implements Callable<Integer> {
    @Mixin
    Main.Common common = new Main.Common();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--data", required = true, paramLabel = "PATH", description = {"the dataset: a DIR/{train,test}/<class>/"
            + " tree, a folder of class folders (with --split-file, or a seeded stratified split), CIFAR-100 binary"
            + " (folder or .tar.gz), CUB-200-2011, or MNIST-style IDX files"})
    Path data;

    @Option(names = "--format", paramLabel = "NAME", description = "dataset layout when it cannot be recognised:"
            + " folders, class-folders, cifar100, cub200, idx (setting data.format)")
    String format;

    @Option(names = "--class-names", paramLabel = "FILE", description = "one class name per line, overriding the dataset's")
    Path classNames;

    @Option(names = "--skip-bad-images", description = "leave out images that fail the check (listed in the output"
            + " folder) instead of stopping")
    boolean skipBadImages;

    @Option(names = "--preset", paramLabel = "NAME", description = "a paper benchmark's settings: ${COMPLETION-CANDIDATES}",
            completionCandidates = PresetNames.class)
    String preset;

    @Option(names = "--config", paramLabel = "FILE", description = "a JSON object of settings (see --set)")
    Path config;

    @Option(names = "--set", paramLabel = "NAME=VALUE", description = "any setting, e.g. --set stage2.lambda=2; repeatable")
    List<String> assignments = new ArrayList<>();

    @Option(names = "--vit", required = true, paramLabel = "FILE", description = "timm ViT-B/16 weights (safetensors)")
    Path vit;

    @Option(names = "--vit-heads", required = true, paramLabel = "H", description = "attention heads of the ViT (12 for B/16)")
    Integer vitHeads;

    @Option(names = "--clip", required = true, paramLabel = "FILE", description = "HF CLIP weights (safetensors)")
    Path clip;

    @Option(names = "--clip-config", required = true, paramLabel = "FILE", description = "HF CLIP config.json")
    Path clipConfig;

    @Option(names = "--vocab", required = true, paramLabel = "FILE", description = "CLIP tokenizer vocab.json")
    Path vocab;

    @Option(names = "--merges", required = true, paramLabel = "FILE", description = "CLIP tokenizer merges.txt")
    Path merges;

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

    @Option(names = "--out", paramLabel = "DIR", description = "folder for the reports")
    Path out;

    private final PrintStream stdout;
    private final PrintStream stderr;

    Train(PrintStream stdout, PrintStream stderr) {
        this.stdout = stdout;
        this.stderr = stderr;
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
        checkFiles();
        try (Console console = common.console(stdout)) {
            console.info("settings:");
            s.describe().forEach(console::info);
            DatasetCheck.Report check = DatasetCheck.check(data, RunData.datasetOptions(s), s.getInt("threads"),
                    (done, total) -> console.progress("checking images", done, total));
            if (!check.isOk() && !(skipBadImages && check.onlyBadImages())) {
                stderr.println("starprompt: " + data + ": the dataset has problems; nothing was trained");
                stderr.println(check.format(20));
                if (check.onlyBadImages()) stderr.println("(--skip-bad-images leaves the bad images out)");
                return 1;
            }
            Path outDir = outputFolder();
            if (!check.badImages().isEmpty()) {
                Path list = outDir.resolve("skipped-images.txt");
                Files.createDirectories(outDir);
                Files.write(list, check.badImages().stream().map(Path::toString).toList());
                console.warn("skipping " + check.badImages().size() + " images that fail to decode (listed in " + list + ")");
            }
            try (Backend be = common.openBackend()) {
                run(be, s, check, outDir, console);
            }
        }
        return 0;
    }

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

    /** --out, or runs/train-&lt;date-time&gt; in the working directory. */
    private Path outputFolder() {
        return out != null ? out : Main.defaultOutput("train");
    }

    /** Defaults, then the preset, the config file and the command line. */
    RunSettings settings() throws IOException {
        checkPositive();
        try {
            RunSettings s = RunSettings.defaults();
            if (preset != null) s = Presets.apply(s, preset);
            if (config != null) s = s.withConfigFile(requireFile("--config", config));
            s = s.withAssignments(assignments);
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
            baselines(s.getString("baselines"));
            return s;
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
        }
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

    private void checkFiles() {
        if (!Files.isDirectory(data)) throw new IllegalArgumentException("--data " + data + ": no such directory");
        requireFile("--vit", vit);
        requireFile("--clip", clip);
        requireFile("--clip-config", clipConfig);
        requireFile("--vocab", vocab);
        requireFile("--merges", merges);
    }

    private static Path requireFile(String option, Path p) {
        if (!Files.isRegularFile(p)) throw new IllegalArgumentException(option + " " + p + ": no such file");
        return p;
    }

    private void run(Backend be, RunSettings s, DatasetCheck.Report check, Path outDir, Console console) throws IOException {
        ClipTokenizer tok = ClipTokenizer.fromHuggingFace(vocab, merges);
        console.info("loading ViT " + vit + " and CLIP " + clip + " on the " + be.name() + " backend");
        try (VisionTransformer v = VisionTransformer.load(be, vit, vitHeads); Clip c = Clip.load(be, clip, clipConfig)) {
            int vitSize = v.config().imageSize(), clipSize = c.config().vision().imageSize();
            if (clipSize != vitSize) {
                throw new IllegalArgumentException(clip + ": CLIP input size " + clipSize + " differs from the ViT input size "
                        + vitSize + " (the stage-2 query is the ViT input re-normalised for CLIP)");
            }
            Dataset dataset = Datasets.open(data, RunData.datasetOptions(s));
            try (ImageTaskData d = RunData.taskData(dataset, s, vitSize, clipSize, check.badImages())) {
                StarPromptConfig cfg = RunData.starPromptConfig(s);
                List<String> baselines = baselines(s.getString("baselines"));
                console.info(d + ", classes " + d.classNames());
                Runner runner = new Runner(console);
                List<MethodResult> results = new ArrayList<>();
                try (StarPrompt sp = StarPrompt.builder().backend(be).clip(c).vit(v).tokenizer(tok).classNames(d.classNames())
                        .config(cfg).seed(s.getLong("seed")).build()) {
                    Runner.Outcome r = runner.run(sp, "STAR-Prompt", d, baselines.contains("first-stage"));
                    results.add(r.result());
                    if (r.firstStage() != null) results.add(r.firstStage());
                }
                if (baselines.contains("zero-shot")) {
                    try (ZeroShotClip zs = new ZeroShotClip(c, ZeroShotClip.promptIds(tok, d.classNames()), cfg.evalBatchSize())) {
                        results.add(runner.run(zs, "zero-shot CLIP", d, false).result());
                    }
                }
                runner.finish(results, s.asMap(), be, outDir);
            }
        }
    }
}
