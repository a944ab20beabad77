package io.starprompt.cli;

import io.starprompt.backend.Backend;
import io.starprompt.backend.Backends;
import io.starprompt.data.ImageFolderTaskData;
import io.starprompt.data.Normalize;
import io.starprompt.method.TrainingListener;
import io.starprompt.method.starprompt.StarPrompt;
import io.starprompt.method.starprompt.StarPromptConfig;
import io.starprompt.model.clip.Clip;
import io.starprompt.model.tokenizer.ClipTokenizer;
import io.starprompt.model.vit.VisionTransformer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * {@code starprompt train}: STAR-Prompt end to end on an image-folder benchmark
 * ({@link ImageFolderTaskData}) with real checkpoints: a timm ViT safetensors file, an HF CLIP
 * safetensors file with its config.json, and the HF tokenizer files vocab.json / merges.txt.
 * Prints progress per epoch and the accuracy matrices; with {@code --out} writes
 * {@code accuracy.json}, {@code accuracy.csv} and {@code accuracy_stage1.json} there.
 */
final class Train {
    static final String USAGE = "starprompt train --data DIR --vit VIT.safetensors --vit-heads H --clip CLIP.safetensors"
            + " --clip-config config.json --vocab vocab.json --merges merges.txt [--tasks T] [--epochs E] [--batch B]"
            + " [--seed S] [--backend reference|cpu|cuda] [--out DIR] [--image-size 224] [--norm imagenet|clip|none]"
            + " [--threads N]";

    /** Parsed options; epochs and batch are 0 where the config defaults apply, out is null when not given. */
    record Options(Path data, Path vit, int vitHeads, Path clip, Path clipConfig, Path vocab, Path merges, int tasks,
            int epochs, int batch, long seed, String backend, Path out, int imageSize, Normalize normalize,
            int threads) {

        /**
         * Parses {@code train}'s options (without the command word).
         *
         * @throws IllegalArgumentException naming the option that is missing, unknown or invalid
         */
        static Options parse(String[] args) {
            Path data = null, vit = null, clip = null, clipConfig = null, vocab = null, merges = null, out = null;
            int vitHeads = 0, tasks = 1, epochs = 0, batch = 0, imageSize = 224;
            int threads = Math.max(1, Math.min(8, Runtime.getRuntime().availableProcessors()));
            long seed = 0;
            String backend = null;
            Normalize norm = Normalize.IMAGENET;
            for (int i = 0; i < args.length; i += 2) {
                String opt = args[i];
                if (i + 1 >= args.length) throw new IllegalArgumentException("option " + opt + " needs a value");
                String v = args[i + 1];
                switch (opt) {
                    case "--data" -> data = Path.of(v);
                    case "--vit" -> vit = Path.of(v);
                    case "--vit-heads" -> vitHeads = Main.positive(opt, v);
                    case "--clip" -> clip = Path.of(v);
                    case "--clip-config" -> clipConfig = Path.of(v);
                    case "--vocab" -> vocab = Path.of(v);
                    case "--merges" -> merges = Path.of(v);
                    case "--tasks" -> tasks = Main.positive(opt, v);
                    case "--epochs" -> epochs = Main.positive(opt, v);
                    case "--batch" -> batch = Main.positive(opt, v);
                    case "--seed" -> seed = parseLong(opt, v);
                    case "--backend" -> backend = v;
                    case "--out" -> out = Path.of(v);
                    case "--image-size" -> imageSize = Main.positive(opt, v);
                    case "--threads" -> threads = Main.positive(opt, v);
                    case "--norm" -> norm = normalization(v);
                    default -> throw new IllegalArgumentException("train: unknown option " + opt);
                }
            }
            require("--data", data);
            require("--vit", vit);
            if (vitHeads == 0) throw new IllegalArgumentException("train: missing option --vit-heads");
            require("--clip", clip);
            require("--clip-config", clipConfig);
            require("--vocab", vocab);
            require("--merges", merges);
            existing("--data", data, true);
            existing("--vit", vit, false);
            existing("--clip", clip, false);
            existing("--clip-config", clipConfig, false);
            existing("--vocab", vocab, false);
            existing("--merges", merges, false);
            return new Options(data, vit, vitHeads, clip, clipConfig, vocab, merges, tasks, epochs, batch, seed,
                    backend, out, imageSize, norm, threads);
        }
    }

    private Train() {}

    /** Parses the options, then trains; returns the exit code. */
    static int run(String[] args, PrintStream out) throws IOException {
        Options o = Options.parse(args);
        try (Backend be = o.backend() == null ? Backends.create() : Backends.create(o.backend())) {
            run(be, o, out);
        }
        return 0;
    }

    static void run(Backend be, Options o, PrintStream out) throws IOException {
        ClipTokenizer tok = ClipTokenizer.fromHuggingFace(o.vocab(), o.merges());
        out.printf("loading ViT %s and CLIP %s on the %s backend%n", o.vit(), o.clip(), be.name());
        try (VisionTransformer vit = VisionTransformer.load(be, o.vit(), o.vitHeads());
                Clip clip = Clip.load(be, o.clip(), o.clipConfig())) {
            int vitSize = vit.config().imageSize(), clipSize = clip.config().vision().imageSize();
            if (o.imageSize() != vitSize) {
                throw new IllegalArgumentException("--image-size " + o.imageSize() + " does not match the ViT input size "
                        + vitSize + " of " + o.vit());
            }
            if (clipSize != vitSize) {
                throw new IllegalArgumentException("--clip: CLIP input size " + clipSize + " differs from the ViT input size "
                        + vitSize + " (the stage-2 query is the ViT input re-normalised for CLIP)");
            }
            try (ImageFolderTaskData data = ImageFolderTaskData.builder(o.data()).tasks(o.tasks()).imageSize(vitSize)
                    .clipImageSize(clipSize).normalize(o.normalize()).seed(o.seed()).threads(o.threads()).build()) {
                StarPromptConfig.Builder config = StarPromptConfig.builder();
                if (o.epochs() > 0) config.epochs(o.epochs());
                if (o.batch() > 0) config.batchSize(o.batch()).evalBatchSize(Math.max(o.batch(), 64));
                StarPromptConfig cfg = config.build();
                out.println(data + ", classes " + data.classNames());
                try (StarPrompt sp = StarPrompt.builder().backend(be).clip(clip).vit(vit).tokenizer(tok)
                        .classNames(data.classNames()).config(cfg).seed(o.seed()).listener(progress(out)).build()) {
                    long start = System.nanoTime();
                    StarPrompt.RunResult r = sp.run(data);
                    out.printf("trained in %.1f s%n", (System.nanoTime() - start) / 1e9);
                    out.println("STAR-Prompt (rows: after task i; columns: accuracy on task j)\n" + r.accuracy());
                    if (r.firstStageAccuracy() != null) out.println("first stage only\n" + r.firstStageAccuracy());
                    if (o.out() != null) {
                        Files.createDirectories(o.out());
                        r.accuracy().writeJson(o.out().resolve("accuracy.json"));
                        r.accuracy().writeCsv(o.out().resolve("accuracy.csv"));
                        if (r.firstStageAccuracy() != null) {
                            r.firstStageAccuracy().writeJson(o.out().resolve("accuracy_stage1.json"));
                        }
                        out.println("wrote accuracy.json and accuracy.csv to " + o.out());
                    }
                }
            }
        }
    }

    private static TrainingListener progress(PrintStream out) {
        return new TrainingListener() {
            @Override
            public void epochEnded(Epoch e) {
                out.printf("  task %d %-15s epoch %2d  loss %.4f  lr %.2e%n", e.task(),
                        e.phase().name().toLowerCase(Locale.ROOT), e.epoch(), e.meanLoss(), e.lr());
            }
        };
    }

    private static void require(String option, Object value) {
        if (value == null) throw new IllegalArgumentException("train: missing option " + option);
    }

    private static void existing(String option, Path p, boolean directory) {
        if (directory ? !Files.isDirectory(p) : !Files.isRegularFile(p)) {
            throw new IllegalArgumentException(option + " " + p + ": no such " + (directory ? "directory" : "file"));
        }
    }

    private static Normalize normalization(String v) {
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "imagenet" -> Normalize.IMAGENET;
            case "clip" -> Normalize.CLIP;
            case "none" -> Normalize.IDENTITY;
            default -> throw new IllegalArgumentException("--norm must be imagenet, clip or none, got '" + v + "'");
        };
    }

    private static long parseLong(String option, String value) {
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " must be an integer, got '" + value + "'");
        }
    }
}
