package io.starprompt.method;

import io.starprompt.backend.Backend;
import io.starprompt.backend.Backends;
import io.starprompt.cl.AccuracyMatrix;
import io.starprompt.model.clip.Clip;
import io.starprompt.model.vit.VisionTransformer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A self-contained demo: STAR-Prompt on {@link SyntheticTaskData} with given ViT and CLIP
 * checkpoints, printing the accuracy matrix of STAR-Prompt, of stage 1 alone and of "zero-shot"
 * CLIP, and writing them as JSON and CSV. Class prompts are placeholder token ids (the synthetic
 * classes have no real names), so stage 1 learns its context tokens from scratch.
 *
 * <pre>
 * StarPromptDemo vit.safetensors VIT_HEADS clip.safetensors clip_config.json
 *     [--backend cpu|cuda|reference] [--classes 8] [--tasks 2] [--epochs 4] [--batch 16] [--seed 7] [--out DIR]
 * </pre>
 */
public final class StarPromptDemo {
    private StarPromptDemo() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 4) {
            System.err.println("usage: StarPromptDemo vit.safetensors VIT_HEADS clip.safetensors clip_config.json"
                    + " [--backend NAME] [--classes C] [--tasks T] [--epochs E] [--batch B] [--seed S] [--out DIR]");
            System.exit(2);
        }
        String backend = null;
        int classes = 8, tasks = 2, epochs = 4, batch = 16;
        long seed = 7;
        Path out = null;
        for (int i = 4; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--backend" -> backend = args[i + 1];
                case "--classes" -> classes = Integer.parseInt(args[i + 1]);
                case "--tasks" -> tasks = Integer.parseInt(args[i + 1]);
                case "--epochs" -> epochs = Integer.parseInt(args[i + 1]);
                case "--batch" -> batch = Integer.parseInt(args[i + 1]);
                case "--seed" -> seed = Long.parseLong(args[i + 1]);
                case "--out" -> out = Path.of(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        try (Backend be = backend == null ? Backends.create() : Backends.create(backend);
                VisionTransformer vit = VisionTransformer.load(be, Path.of(args[0]), Integer.parseInt(args[1]));
                Clip clip = Clip.load(be, Path.of(args[2]), Path.of(args[3]))) {
            int vocab = clip.config().text().vocabSize();
            SyntheticTaskData data = SyntheticTaskData.builder().classes(classes).tasks(tasks).trainPerClass(32)
                    .testPerClass(16).vitImageSize(vit.config().imageSize())
                    .clipImageSize(clip.config().vision().imageSize()).noise(0.3).seed(seed).build();
            StarPromptConfig cfg = StarPromptConfig.defaults().withEpochs(epochs).withBatchSize(batch)
                    .withEvalBatchSize(Math.max(batch, 64));
            int[][] ids = placeholderIds(classes, vocab, false);
            AccuracyMatrix zeroShot = Baselines.zeroShot(clip, Baselines.textKeys(clip, placeholderIds(classes, vocab, true)),
                    data, cfg.evalBatchSize());
            try (StarPrompt sp = StarPrompt.builder().backend(be).clip(clip).vit(vit).promptIds(ids).config(cfg)
                    .seed(seed).build()) {
                long start = System.nanoTime();
                StarPrompt.RunResult r = sp.run(data);
                System.out.printf("%s on %s, %.1f s%n", data, be.name(), (System.nanoTime() - start) / 1e9);
                System.out.println("STAR-Prompt\n" + r.accuracy());
                System.out.println("stage 1 only\n" + r.firstStageAccuracy());
                System.out.println("CLIP with placeholder 'zero-shot' prompts\n" + zeroShot);
                if (out != null) {
                    Files.createDirectories(out);
                    r.accuracy().writeJson(out.resolve("accuracy.json"));
                    r.accuracy().writeCsv(out.resolve("accuracy.csv"));
                    r.firstStageAccuracy().writeJson(out.resolve("accuracy_stage1.json"));
                    zeroShot.writeJson(out.resolve("accuracy_zeroshot.json"));
                }
            }
        }
    }

    /** [SOT, X (or "a photo of a"), two class tokens, EOT] with SOT/EOT the two largest ids. */
    static int[][] placeholderIds(int classes, int vocab, boolean zeroShot) {
        int[][] ids = new int[classes][];
        for (int c = 0; c < classes; c++) {
            int a = 20 + 2 * c, b = 21 + 2 * c;
            if (b >= vocab - 2) throw new IllegalArgumentException("too many classes for a vocabulary of " + vocab);
            ids[c] = zeroShot ? new int[] {vocab - 2, 7, 8, 9, a, b, vocab - 1} : new int[] {vocab - 2, 5, a, b, vocab - 1};
        }
        return ids;
    }
}
