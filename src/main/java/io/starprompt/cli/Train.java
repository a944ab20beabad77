package io.starprompt.cli;

import io.starprompt.backend.Backend;
import io.starprompt.data.ImageFolderTaskData;
import io.starprompt.data.Normalize;
import io.starprompt.method.StarPrompt;
import io.starprompt.method.StarPromptConfig;
import io.starprompt.model.clip.Clip;
import io.starprompt.model.tokenizer.ClipTokenizer;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.run.Presets;
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

    @Option(names = "--data", required = true, paramLabel = "DIR", description = "the dataset: DIR/{train,test}/<class>/")
    Path data;

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

    Train(PrintStream stdout) {
        this.stdout = stdout;
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
        try (Console console = common.console(stdout); Backend be = common.openBackend()) {
            console.info("settings:");
            s.describe().forEach(console::info);
            run(be, s, console);
        }
        return 0;
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
            return set(s, "threads", threads);
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

    private void run(Backend be, RunSettings s, Console console) throws IOException {
        ClipTokenizer tok = ClipTokenizer.fromHuggingFace(vocab, merges);
        console.info("loading ViT " + vit + " and CLIP " + clip + " on the " + be.name() + " backend");
        try (VisionTransformer v = VisionTransformer.load(be, vit, vitHeads); Clip c = Clip.load(be, clip, clipConfig)) {
            int vitSize = v.config().imageSize(), clipSize = c.config().vision().imageSize();
            if (s.getInt("image-size") != vitSize) {
                throw new IllegalArgumentException("image-size " + s.getInt("image-size") + " does not match the ViT input size "
                        + vitSize + " of " + vit + " (set --image-size " + vitSize + ")");
            }
            if (clipSize != vitSize) {
                throw new IllegalArgumentException(clip + ": CLIP input size " + clipSize + " differs from the ViT input size "
                        + vitSize + " (the stage-2 query is the ViT input re-normalised for CLIP)");
            }
            int t = s.getInt("tasks") > 0 ? s.getInt("tasks") : 1;
            try (ImageFolderTaskData d = ImageFolderTaskData.builder(data).tasks(t).imageSize(vitSize)
                    .clipImageSize(clipSize).normalize(normalization(s.getString("norm"))).seed(s.getLong("seed"))
                    .threads(s.getInt("threads")).build()) {
                StarPromptConfig cfg = StarPromptConfig.defaults().withEpochs(s.getInt("stage2.epochs"))
                        .withBatchSize(s.getInt("batch")).withEvalBatchSize(s.getInt("eval-batch"));
                console.info(d + ", classes " + d.classNames());
                console.setTasks(d.tasks());
                try (StarPrompt sp = StarPrompt.builder().backend(be).clip(c).vit(v).tokenizer(tok).classNames(d.classNames())
                        .config(cfg).seed(s.getLong("seed")).listener(console).build()) {
                    long start = System.nanoTime();
                    StarPrompt.RunResult r = sp.run(d);
                    console.info(String.format("trained in %.1f s", (System.nanoTime() - start) / 1e9));
                    console.result("STAR-Prompt (rows: after task i; columns: accuracy on task j)\n" + r.accuracy());
                    if (r.firstStageAccuracy() != null) console.result("first stage only\n" + r.firstStageAccuracy());
                    if (out != null) {
                        Files.createDirectories(out);
                        r.accuracy().writeJson(out.resolve("accuracy.json"));
                        r.accuracy().writeCsv(out.resolve("accuracy.csv"));
                        console.info("wrote accuracy.json and accuracy.csv to " + out);
                    }
                }
            }
        }
    }

    static Normalize normalization(String v) {
        return switch (v) {
            case "imagenet" -> Normalize.IMAGENET;
            case "clip" -> Normalize.CLIP;
            case "none" -> Normalize.IDENTITY;
            default -> throw new IllegalArgumentException("norm must be imagenet, clip or none, got '" + v + "'");
        };
    }
}
