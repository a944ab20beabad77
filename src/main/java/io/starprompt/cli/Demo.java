package io.starprompt.cli;

import io.starprompt.backend.Backend;
import io.starprompt.cl.AccuracyMatrix;
import io.starprompt.data.SyntheticTaskData;
import io.starprompt.demo.RandomCheckpoints;
import io.starprompt.method.ContinualRun;
import io.starprompt.method.TrainingListener;
import io.starprompt.method.baselines.ZeroShotClip;
import io.starprompt.method.starprompt.StarPrompt;
import io.starprompt.method.starprompt.StarPromptConfig;
import io.starprompt.model.clip.Clip;
import io.starprompt.model.vit.VisionTransformer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The built-in default job: STAR-Prompt, end to end, on a synthetic class-incremental benchmark
 * (procedural images, one colour/stripe pattern per class) with small randomly initialised ViT
 * and CLIP checkpoints written in the real file layouts. Prints progress per epoch, then the
 * accuracy matrices of STAR-Prompt, of its first stage alone and of CLIP with fixed prompts.
 */
final class Demo {
    /** Demo sizes; the defaults run in well under a minute on two cores. */
    record Options(int classes, int tasks, int epochs, int batch, long seed, Path out) {}

    private static final RandomCheckpoints.Tower TOWER = new RandomCheckpoints.Tower(32, 8, 64, 2, 4);
    private static final int VOCAB = 100, TEXT_WIDTH = 48, TEXT_DEPTH = 2, TEXT_HEADS = 4, PROJECTION = 32;

    private Demo() {}

    static void run(Backend be, Options o, PrintStream out) throws IOException {
        Path dir = Files.createTempDirectory("starprompt-demo");
        try {
            out.printf("writing random checkpoints (ViT %d px / %d layers, CLIP text %d layers) to %s%n",
                    TOWER.imageSize(), TOWER.depth(), TEXT_DEPTH, dir);
            RandomCheckpoints.writeVit(dir.resolve("vit.safetensors"), TOWER, o.seed());
            RandomCheckpoints.writeClip(dir.resolve("clip.safetensors"), dir.resolve("config.json"), TOWER, VOCAB,
                    TEXT_WIDTH, TEXT_DEPTH, TEXT_HEADS, PROJECTION, o.seed() + 1);
            try (VisionTransformer vit = VisionTransformer.load(be, dir.resolve("vit.safetensors"), TOWER.heads());
                    Clip clip = Clip.load(be, dir.resolve("clip.safetensors"), dir.resolve("config.json"))) {
                train(be, vit, clip, o, out);
            }
        } finally {
            try (var files = Files.list(dir)) {
                for (Path p : (Iterable<Path>) files::iterator) Files.deleteIfExists(p);
            }
            Files.deleteIfExists(dir);
        }
    }

    private static void train(Backend be, VisionTransformer vit, Clip clip, Options o, PrintStream out)
            throws IOException {
        SyntheticTaskData data = SyntheticTaskData.builder().classes(o.classes()).tasks(o.tasks()).trainPerClass(32)
                .testPerClass(16).vitImageSize(vit.config().imageSize())
                .clipImageSize(clip.config().vision().imageSize()).noise(0.3).seed(o.seed()).build();
        StarPromptConfig cfg = StarPromptConfig.builder().epochs(o.epochs()).batchSize(o.batch())
                .evalBatchSize(Math.max(o.batch(), 64)).build();
        AccuracyMatrix fixedPrompts;
        try (ZeroShotClip zeroShot = new ZeroShotClip(clip, promptIds(o.classes(), true), cfg.evalBatchSize())) {
            fixedPrompts = ContinualRun.run(zeroShot, data).classIl();
        }
        try (StarPrompt sp = StarPrompt.builder().backend(be).clip(clip).vit(vit).promptIds(promptIds(o.classes(), false))
                .config(cfg).seed(o.seed()).listener(progress(out)).build()) {
            long start = System.nanoTime();
            StarPrompt.RunResult r = sp.run(data);
            out.printf("%s on the %s backend in %.1f s%n", data, be.name(), (System.nanoTime() - start) / 1e9);
            out.println("STAR-Prompt (rows: after task i; columns: accuracy on task j)\n" + r.accuracy());
            out.println("first stage only\n" + r.firstStageAccuracy());
            out.println("CLIP with fixed prompts\n" + fixedPrompts);
            if (o.out() != null) {
                Files.createDirectories(o.out());
                r.accuracy().writeJson(o.out().resolve("accuracy.json"));
                r.accuracy().writeCsv(o.out().resolve("accuracy.csv"));
                r.firstStageAccuracy().writeJson(o.out().resolve("accuracy_stage1.json"));
                fixedPrompts.writeJson(o.out().resolve("accuracy_fixed_prompts.json"));
                out.println("wrote accuracy.json, accuracy.csv and the baselines to " + o.out());
            }
        }
    }

    private static TrainingListener progress(PrintStream out) {
        return new TrainingListener() {
            @Override
            public void epochEnded(Epoch e) {
                out.printf("  task %d %-15s epoch %2d  loss %.4f  lr %.2e%n", e.task(), e.phase().name().toLowerCase(),
                        e.epoch(), e.meanLoss(), e.lr());
            }
        };
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
