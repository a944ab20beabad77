package io.starprompt.cli;

import io.starprompt.backend.Backend;
import io.starprompt.data.SyntheticTaskData;
import io.starprompt.demo.RandomCheckpoints;
import io.starprompt.cli.report.MethodResult;
import io.starprompt.method.baselines.JointTraining;
import io.starprompt.method.baselines.SequentialFineTuning;
import io.starprompt.method.baselines.ZeroShotClip;
import io.starprompt.method.starprompt.StarPrompt;
import io.starprompt.method.starprompt.StarPromptConfig;
import io.starprompt.model.clip.Clip;
import io.starprompt.model.vit.VisionTransformer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The built-in default job: STAR-Prompt, end to end, on a synthetic class-incremental benchmark
 * (procedural images, one colour/stripe pattern per class) with small randomly initialised ViT
 * and CLIP checkpoints written in the real file layouts. Prints progress per epoch, then the
 * accuracy matrices of STAR-Prompt, of its first stage alone, of CLIP with fixed prompts and of
 * the two bounds (sequential fine-tuning, joint training), a summary line per method, and writes
 * the reports (results.json, metrics.csv, two plots).
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"STAR-Prompt end to end on a synthetic class-incremental benchmark (procedural images)"
                + " with small random ViT and CLIP checkpoints in the real file layouts: the built-in default job."})
final class Demo implements Callable<Integer> {
    /** Demo sizes; the defaults run in well under a minute on two cores. */
    record Options(int classes, int tasks, int epochs, int batch, long seed, Path out) {}

    @Mixin
    Main.Common common = new Main.Common();

    @Mixin
    Stream stream = new Stream();

    @Option(names = "--out", paramLabel = "DIR", description = "folder for the reports (default: runs/demo-<date-time>)")
    Path outDir;

    /** The options of the synthetic stream, shared by demo and compare. */
    static final class Stream {
        @Option(names = "--classes", defaultValue = "8", description = "number of classes (default: ${DEFAULT-VALUE})")
        int classes;

        @Option(names = "--tasks", defaultValue = "2", description = "number of tasks (default: ${DEFAULT-VALUE})")
        int tasks;

        @Option(names = "--epochs", defaultValue = "4", description = "epochs per stage and task (default: ${DEFAULT-VALUE})")
        int epochs;

        @Option(names = "--batch", defaultValue = "16", description = "training batch size (default: ${DEFAULT-VALUE})")
        int batch;

        @Option(names = "--seed", defaultValue = "7", description = "seed (default: ${DEFAULT-VALUE})")
        long seed;

        /** The checked options, reports going to out (or runs/&lt;job&gt;-&lt;date-time&gt;). */
        Options resolve(CommandSpec spec, Path out, String job) {
            Options o = new Options(Main.positive(spec, "--classes", classes), Main.positive(spec, "--tasks", tasks),
                    Main.positive(spec, "--epochs", epochs), Main.positive(spec, "--batch", batch), seed,
                    out != null ? out : Main.defaultOutput(job));
            if (classes % tasks != 0) {
                throw new ParameterException(spec.commandLine(), "--classes " + classes + " is not a multiple of --tasks "
                        + tasks);
            }
            return o;
        }
    }

    private final PrintStream out;

    Demo(PrintStream out) {
        this.out = out;
    }

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        Options o = stream.resolve(spec, outDir, "demo");
        try (Backend be = common.openBackend(); Console console = common.console(out)) {
            run(be, o, console);
        }
        return 0;
    }

    private static final RandomCheckpoints.Tower TOWER = new RandomCheckpoints.Tower(32, 8, 64, 2, 4);
    private static final int VOCAB = 100, TEXT_WIDTH = 48, TEXT_DEPTH = 2, TEXT_HEADS = 4, PROJECTION = 32;

    static void run(Backend be, Options o, Console out) throws IOException {
        withModels(be, o.seed(), out, (vit, clip) -> train(be, vit, clip, o, out));
    }

    /** What runs on the demo's models. */
    @FunctionalInterface
    interface ModelsBody {
        void run(VisionTransformer vit, Clip clip) throws IOException;
    }

    /** In words, the checkpoints {@link #withModels} writes, for the reports. */
    static String checkpointWords(long seed) {
        return String.format(java.util.Locale.ROOT, "random ViT (%d px, %d layers, width %d) and CLIP, seed %d",
                TOWER.imageSize(), TOWER.depth(), TOWER.width(), seed);
    }

    /** Writes random ViT and CLIP checkpoints to a temporary folder, loads them, runs body, deletes them. */
    static void withModels(Backend be, long seed, Console out, ModelsBody body) throws IOException {
        Path dir = Files.createTempDirectory("starprompt-demo");
        try {
            out.info(String.format("writing random checkpoints (ViT %d px / %d layers, CLIP text %d layers) to %s",
                    TOWER.imageSize(), TOWER.depth(), TEXT_DEPTH, dir));
            RandomCheckpoints.writeVit(dir.resolve("vit.safetensors"), TOWER, seed);
            RandomCheckpoints.writeClip(dir.resolve("clip.safetensors"), dir.resolve("config.json"), TOWER, VOCAB,
                    TEXT_WIDTH, TEXT_DEPTH, TEXT_HEADS, PROJECTION, seed + 1);
            try (VisionTransformer vit = VisionTransformer.load(be, dir.resolve("vit.safetensors"), TOWER.heads());
                    Clip clip = Clip.load(be, dir.resolve("clip.safetensors"), dir.resolve("config.json"))) {
                body.run(vit, clip);
            }
        } finally {
            try (var files = Files.list(dir)) {
                for (Path p : (Iterable<Path>) files::iterator) Files.deleteIfExists(p);
            }
            Files.deleteIfExists(dir);
        }
    }

    /** The demo's synthetic stream at the models' input sizes. */
    static SyntheticTaskData data(Options o, VisionTransformer vit, Clip clip) {
        return SyntheticTaskData.builder().classes(o.classes()).tasks(o.tasks()).trainPerClass(32)
                .testPerClass(16).vitImageSize(vit.config().imageSize())
                .clipImageSize(clip.config().vision().imageSize()).noise(0.3).seed(o.seed()).build();
    }

    /** STAR-Prompt's (and the bounds') settings at the demo's epochs and batch size. */
    static StarPromptConfig starPromptConfig(Options o) {
        return StarPromptConfig.builder().epochs(o.epochs()).set(StarPromptConfig::batchSize, o.batch())
                .set(StarPromptConfig::evalBatchSize, evalBatch(o)).build();
    }

    /** The inference batch of the demo and compare runs. */
    static int evalBatch(Options o) {
        return Math.max(o.batch(), 64);
    }

    private static void train(Backend be, VisionTransformer vit, Clip clip, Options o, Console out)
            throws IOException {
        SyntheticTaskData data = data(o, vit, clip);
        StarPromptConfig cfg = starPromptConfig(o);
        out.info(data + " on the " + be.name() + " backend");
        Runner runner = new Runner(out);
        List<MethodResult> results = new ArrayList<>();
        try (StarPrompt sp = StarPrompt.builder().backend(be).clip(clip).vit(vit).promptIds(promptIds(o.classes(), false))
                .config(cfg).seed(o.seed()).build()) {
            Runner.Outcome r = runner.run(sp, "STAR-Prompt", data, true, null);
            results.add(r.result());
            results.add(r.firstStage());
        }
        int[][] fixedIds = promptIds(o.classes(), true);
        try (ZeroShotClip zeroShot = new ZeroShotClip(clip, fixedIds, cfg.evalBatchSize())) {
            results.add(runner.run(zeroShot, "CLIP with fixed prompts", data, false, null).result());
        }
        try (SequentialFineTuning lower = new SequentialFineTuning(clip, vit, fixedIds, cfg, o.seed())) {
            results.add(runner.run(lower, "sequential fine-tuning", data, false, null).result());
        }
        try (JointTraining upper = new JointTraining(clip, vit, fixedIds, cfg, o.seed())) {
            results.add(runner.run(upper, "joint training", data, false, null).result());
        }
        runner.finish(results, settings(o, "demo"), be, o.out());
    }

    /** The options of a demo or compare job as the configuration recorded in results.json. */
    static Map<String, Object> settings(Options o, String job) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("job", job);
        m.put("classes", o.classes());
        m.put("tasks", o.tasks());
        m.put("epochs", o.epochs());
        m.put("batch", o.batch());
        m.put("seed", o.seed());
        return m;
    }

    /**
     * Token ids standing in for "X {name}." (or "a photo of a {name}." when fixed): the
     * synthetic classes have no names, so each gets two arbitrary vocabulary tokens; BOS and
     * EOS are the two largest ids, as in CLIP.
     */
    static int[][] promptIds(int classes, boolean fixed) {
        int[][] ids = new int[classes][];
        for (int c = 0; c < classes; c++) {
            int a = 20 + 2 * c, b = 21 + 2 * c;
            if (b >= VOCAB - 2) throw new IllegalArgumentException("the demo vocabulary allows at most 38 classes");
            ids[c] = fixed ? new int[] {VOCAB - 2, 7, 8, 9, a, b, VOCAB - 1} : new int[] {VOCAB - 2, 5, a, b, VOCAB - 1};
        }
        return ids;
    }
}
