package io.starprompt.examples.embed;

import io.starprompt.backend.Backend;
import io.starprompt.backend.Backends;
import io.starprompt.cl.TaskData;
import io.starprompt.data.SyntheticTaskData;
import io.starprompt.demo.RandomCheckpoints;
import io.starprompt.method.Checkpoints;
import io.starprompt.method.ContinualRun;
import io.starprompt.method.RunIdentity;
import io.starprompt.method.starprompt.StarPrompt;
import io.starprompt.method.starprompt.StarPromptConfig;
import io.starprompt.model.clip.Clip;
import io.starprompt.model.vit.VisionTransformer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * What an application embedding starprompt does, through the library's public API only:
 *
 * <ol>
 *   <li>opens the best backend of this machine (CUDA when usable, else the CPU);
 *   <li>loads frozen ViT and CLIP backbones from safetensors files (here small random ones,
 *       written in the real timm and Hugging Face layouts);
 *   <li>trains STAR-Prompt on a class-incremental stream (here the synthetic one), writing a
 *       checkpoint after every task;
 *   <li>classifies the test images of every task with the trained model;
 *   <li>in a fresh {@link StarPrompt}, as a later process would, restores the latest checkpoint and
 *       classifies the same images again.
 * </ol>
 *
 * <p>Prints the accuracy of both and exits with 1 if the restored model's predictions differ
 * from the trained one's (or its logits by more than {@value #LOGIT_TOLERANCE}), 0 otherwise.
 *
 * <p>Usage: {@code java -jar starprompt-embed-example.jar [WORK_DIR]} (default: a temporary
 * folder, deleted at the end).
 */
public final class EmbedExample {
    /** Largest logit difference accepted between the trained and the restored model. */
    static final double LOGIT_TOLERANCE = 1e-4;

    private static final long SEED = 7;
    private static final int CLASSES = 4, TASKS = 2, VOCAB = 100;
    private static final RandomCheckpoints.Tower TOWER = new RandomCheckpoints.Tower(32, 8, 64, 2, 4);

    private EmbedExample() {}

    /**
     * Runs the example.
     *
     * @param args optionally the folder for the checkpoints and backbone files
     * @throws IOException if a file cannot be written or read
     */
    public static void main(String[] args) throws IOException {
        boolean temporary = args.length == 0;
        Path work = temporary ? Files.createTempDirectory("starprompt-embed") : Files.createDirectories(Path.of(args[0]));
        int status;
        try {
            status = run(work);
        } finally {
            if (temporary) deleteTree(work);
        }
        System.exit(status);
    }

    static int run(Path work) throws IOException {
        Path vitFile = work.resolve("vit.safetensors"), clipFile = work.resolve("clip.safetensors");
        Path clipConfig = work.resolve("clip-config.json"), checkpoints = work.resolve("checkpoints");
        RandomCheckpoints.writeVit(vitFile, TOWER, SEED);
        RandomCheckpoints.writeClip(clipFile, clipConfig, TOWER, VOCAB, 48, 2, 4, 32, SEED + 1);

        try (Backend be = Backends.create();
                VisionTransformer vit = VisionTransformer.load(be, vitFile, TOWER.heads());
                Clip clip = Clip.load(be, clipFile, clipConfig)) {
            System.out.println("backend: " + be.name());
            SyntheticTaskData data = SyntheticTaskData.builder().classes(CLASSES).tasks(TASKS).trainPerClass(32)
                    .testPerClass(16).vitImageSize(vit.config().imageSize())
                    .clipImageSize(clip.config().vision().imageSize()).noise(0.3).seed(SEED).build();
            StarPromptConfig config = StarPromptConfig.builder().epochs(2).set(StarPromptConfig::batchSize, 16)
                    .set(StarPromptConfig::evalBatchSize, 32).build();

            // Train, with a checkpoint after every task, and classify with the trained model.
            Predictions trained;
            RunIdentity identity;
            try (StarPrompt sp = starPrompt(be, vit, clip, config)) {
                identity = RunIdentity.of(sp, data, SEED);
                ContinualRun.Result result = ContinualRun.run(sp, data,
                        new ContinualRun.Checkpointing(checkpoints, identity, Map.of("example", "embed")));
                System.out.printf(Locale.ROOT, "trained on %d tasks: final average accuracy %.1f %%%n", data.tasks(),
                        result.classIl().finalAverageAccuracy());
                trained = classify(sp, data);
            }

            // A fresh instance restored from the latest checkpoint, as a later process would do.
            Path latest = Checkpoints.latest(checkpoints).orElseThrow(() -> new IllegalStateException("no checkpoint"));
            Checkpoints.Checkpoint ckpt = Checkpoints.read(latest, identity);
            Predictions restored;
            try (StarPrompt sp = starPrompt(be, vit, clip, config)) {
                sp.restoreState(ckpt.state());
                System.out.printf("restored %s: %d tasks learned%n", latest.getFileName(), sp.tasksLearned());
                restored = classify(sp, data);
            }

            System.out.printf(Locale.ROOT, "test images: %d; accuracy trained %.1f %%, restored %.1f %%%n",
                    trained.labels.length, trained.accuracy(), restored.accuracy());
            int disagreements = 0;
            double maxDiff = 0;
            for (int i = 0; i < trained.labels.length; i++) {
                if (trained.predicted[i] != restored.predicted[i]) disagreements++;
            }
            for (int i = 0; i < trained.logits.length; i++) {
                maxDiff = Math.max(maxDiff, Math.abs(trained.logits[i] - restored.logits[i]));
            }
            System.out.printf(Locale.ROOT, "restored vs trained: %d different predictions, largest logit difference %.3g%n",
                    disagreements, maxDiff);
            if (disagreements > 0 || !(maxDiff <= LOGIT_TOLERANCE)) {
                System.out.println("FAIL: the restored model disagrees with the trained one");
                return 1;
            }
            System.out.println("OK: the restored model classifies exactly as the trained one");
            return 0;
        }
    }

    /** STAR-Prompt over the synthetic classes, with two vocabulary tokens standing in for each class name. */
    private static StarPrompt starPrompt(Backend be, VisionTransformer vit, Clip clip, StarPromptConfig config) {
        int[][] promptIds = new int[CLASSES][];
        for (int c = 0; c < CLASSES; c++) promptIds[c] = new int[] {VOCAB - 2, 5, 20 + 2 * c, 21 + 2 * c, VOCAB - 1};
        return StarPrompt.builder().backend(be).vit(vit).clip(clip).promptIds(promptIds).config(config).seed(SEED)
                .build();
    }

    /** The seen-class logits, predictions and labels of every task's test images. */
    private static Predictions classify(StarPrompt sp, TaskData data) {
        int seen = data.classes();
        List<float[]> logits = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        for (int t = 0; t < data.tasks(); t++) {
            for (TaskData.Batch b : data.testBatches(t, 32)) {
                logits.add(sp.inference().logits(b.vitImages(), b.clipImages(), b.size(), seen));
                for (int y : b.labels()) labels.add(y);
            }
        }
        int n = labels.size();
        float[] all = new float[n * seen];
        int at = 0;
        for (float[] l : logits) {
            System.arraycopy(l, 0, all, at, l.length);
            at += l.length;
        }
        int[] predicted = new int[n], truth = new int[n];
        for (int i = 0; i < n; i++) {
            truth[i] = labels.get(i);
            int best = 0;
            for (int c = 1; c < seen; c++) {
                if (all[i * seen + c] > all[i * seen + best]) best = c;
            }
            predicted[i] = best;
        }
        return new Predictions(all, predicted, truth);
    }

    /** Logits [n, seen], predicted classes and true labels of n test images. */
    private record Predictions(float[] logits, int[] predicted, int[] labels) {
        double accuracy() {
            int right = 0;
            for (int i = 0; i < labels.length; i++) {
                if (predicted[i] == labels[i]) right++;
            }
            return 100.0 * right / labels.length;
        }
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) Files.deleteIfExists(p);
        }
    }
}
