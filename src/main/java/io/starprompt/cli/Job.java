package io.starprompt.cli;

import io.starprompt.backend.Backend;
import io.starprompt.data.sets.Dataset;
import io.starprompt.data.sets.Datasets;
import io.starprompt.data.sets.ImageTaskData;
import io.starprompt.method.baselines.ZeroShotClip;
import io.starprompt.method.starprompt.FirstStage;
import io.starprompt.model.Precision;
import io.starprompt.model.clip.Clip;
import io.starprompt.model.tokenizer.ClipTokenizer;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.run.RunData;
import io.starprompt.run.RunSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What a train or eval run works on, opened from its resolved settings: the frozen ViT and CLIP
 * with the tokenizer, and the benchmark with the settings' order and transforms. Closing it
 * frees the models and stops the decoding threads.
 */
final class Job implements AutoCloseable {
    /** The settings a job needs, with the option that sets each. */
    private static final List<String[]> REQUIRED = List.of(new String[] {"data.path", "--data"},
            new String[] {"model.vit", "--vit"}, new String[] {"model.clip", "--clip"},
            new String[] {"model.clip-config", "--clip-config"}, new String[] {"model.vocab", "--vocab"},
            new String[] {"model.merges", "--merges"});

    final RunSettings settings;
    final ClipTokenizer tokenizer;
    final VisionTransformer vit;
    final Clip clip;
    final ImageTaskData data;

    private Job(RunSettings settings, ClipTokenizer tokenizer, VisionTransformer vit, Clip clip, ImageTaskData data) {
        this.settings = settings;
        this.tokenizer = tokenizer;
        this.vit = vit;
        this.clip = clip;
        this.data = data;
    }

    /**
     * Checks that every file the settings name exists, naming the option that sets a missing one.
     *
     * @throws IllegalArgumentException for the first missing setting or file
     */
    static void checkFiles(RunSettings s) {
        for (String[] r : REQUIRED) {
            String value = s.getString(r[0]);
            if (value.isEmpty()) throw new IllegalArgumentException("missing option " + r[1] + " (setting " + r[0] + ")");
            Path p = Path.of(value);
            boolean dataPath = r[0].equals("data.path");
            if (dataPath ? !Files.exists(p) : !Files.isRegularFile(p)) {
                throw new IllegalArgumentException(r[1] + " " + p + ": no such " + (dataPath ? "file or directory" : "file"));
            }
        }
    }

    /** Loads the models on the backend and opens the benchmark, leaving out {@code excluded} image files. */
    static Job open(RunSettings s, Backend be, List<Path> excluded, Console console) throws IOException {
        checkFiles(s);
        ClipTokenizer tok = ClipTokenizer.fromHuggingFace(Path.of(s.getString("model.vocab")),
                Path.of(s.getString("model.merges")));
        console.info("loading ViT " + s.getString("model.vit") + " and CLIP " + s.getString("model.clip") + " on the "
                + be.name() + " backend");
        Precision precision = RunData.starPromptConfig(s).precision();
        VisionTransformer vit = VisionTransformer.load(be, Path.of(s.getString("model.vit")), s.getInt("model.vit-heads"),
                precision);
        Clip clip = null;
        try {
            clip = Clip.load(be, Path.of(s.getString("model.clip")), Path.of(s.getString("model.clip-config")),
                    precision);
            int vitSize = vit.config().imageSize(), clipSize = clip.config().vision().imageSize();
            if (clipSize != vitSize) {
                throw new IllegalArgumentException(s.getString("model.clip") + ": CLIP input size " + clipSize
                        + " differs from the ViT input size " + vitSize
                        + " (the stage-2 query is the ViT input re-normalised for CLIP)");
            }
            Dataset dataset = Datasets.open(Path.of(s.getString("data.path")), RunData.datasetOptions(s));
            ImageTaskData data = RunData.taskData(dataset, s, vitSize, clipSize, excluded);
            console.info(data + ", classes " + data.classNames());
            return new Job(s, tok, vit, clip, data);
        } catch (RuntimeException | IOException e) {
            if (clip != null) clip.close();
            vit.close();
            throw e;
        }
    }

    /** What the method factories of {@link Methods} build from: this job's models, prompt ids, settings and seed. */
    Methods.Context context(Backend be) {
        List<String> names = data.classNames();
        return new Methods.Context(be, vit, clip, FirstStage.promptIds(tokenizer, names),
                ZeroShotClip.promptIds(tokenizer, names), RunData.starPromptConfig(settings), Methods.l2pConfig(settings),
                Methods.dualPromptConfig(settings), Methods.codaPromptConfig(settings), settings.getLong("seed"));
    }

    @Override
    public void close() {
        data.close();
        clip.close();
        vit.close();
    }
}
