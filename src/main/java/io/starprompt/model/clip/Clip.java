package io.starprompt.model.clip;

import io.starprompt.backend.Backend;
import io.starprompt.model.ExclusiveUse;
import io.starprompt.model.ImageBatch;
import io.starprompt.model.Precision;
import io.starprompt.model.TensorArguments;
import io.starprompt.model.vit.WeightReader;
import io.starprompt.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A frozen HF {@code CLIPModel} (ALGORITHM.md §2.1): the image tower for STAR-Prompt's queries and the
 * text tower for the first stage's class keys, where one or more token embeddings of each class
 * prompt are replaced by learnable context vectors (ALGORITHM.md §3.1, §3.2). The weights never get
 * gradients; the text tower's backward pass yields the gradient of the replaced vectors.
 *
 * <pre>{@code
 * try (Clip clip = Clip.load(be, weights, config); TensorScope step = TensorScope.open()) {
 *     Tensor q = clip.imageFeatures(pixels);                    // [B, P], not normalised
 *     TextActivations keys = clip.textForward(ids, ctx, 1);     // ctx [C, 1, D] at position 1
 *     ... loss on keys.features(), its gradient dKeys [C, P] ...
 *     Tensor dCtx = clip.textBackward(keys, dKeys);             // [C, 1, D]
 * }
 * }</pre>
 *
 * <p>Threads: a model serves one thread at a time. A call made while another thread is inside
 * the model (a tower's forward or backward, or {@link #close}) is refused with an
 * {@link IllegalStateException} naming that thread, rather than racing on the weights' native
 * memory; hand the model over between calls, or load one per thread. Closing twice is harmless;
 * any call after {@link #close} is an IllegalStateException.
 */
public final class Clip implements AutoCloseable {
    private static final Pattern LAYER_NAME = Pattern.compile("(vision|text)_model\\.encoder\\.layers\\.(\\d+)\\..+");

    private final Backend be;
    private final ClipConfig cfg;
    private final ClipVision vision;
    private final ClipText text;
    private final float logitScale;
    private final ExclusiveUse use = new ExclusiveUse("Clip");
    private volatile boolean closed;

    /** Loads both towers and logit_scale; the reader frees whatever was loaded if a later tensor fails. */
    private Clip(WeightReader r, ClipConfig cfg) {
        rejectExtraLayers(r, cfg);
        this.be = r.backend();
        this.cfg = cfg;
        this.vision = new ClipVision(r, cfg);
        this.text = new ClipText(r, cfg);
        this.logitScale = readLogitScale(r);
    }

    // ------------------------------------------------------------------ loading

    /**
     * Loads an HF CLIPModel state dict (safetensors, names as in {@code openai/clip-vit-large-patch14})
     * with its config.json, which gives every size (see {@link ClipConfig#read}). Tensors outside
     * the two towers, the projections and logit_scale (such as {@code *.position_ids}) are ignored,
     * but encoder layers beyond the configured number are rejected.
     *
     * @param be the backend to load onto
     * @param safetensors the weights
     * @param configJson the config
     * @return the model; close it
     * @throws IllegalArgumentException naming the file and the field or tensor when a config field
     *     is missing or invalid, or a tensor is missing or has the wrong shape
     * @throws IOException if a file cannot be read
     */
    public static Clip load(Backend be, Path safetensors, Path configJson) throws IOException {
        return load(be, safetensors, configJson, Precision.FP32);
    }

    /**
     * As {@link #load(Backend, Path, Path)}, with both towers' weights stored and activations
     * computed in the given precision (weights converted once, here; see {@link Precision}).
     *
     * @param be the backend to load onto
     * @param safetensors the weights
     * @param configJson the config
     * @param precision how the frozen towers store and compute
     * @return the model; close it
     * @throws IllegalArgumentException as {@link #load(Backend, Path, Path)}
     * @throws IOException if a file cannot be read
     */
    public static Clip load(Backend be, Path safetensors, Path configJson, Precision precision) throws IOException {
        Objects.requireNonNull(be, "backend");
        Objects.requireNonNull(safetensors, "safetensors");
        Objects.requireNonNull(configJson, "configJson");
        ClipConfig cfg = ClipConfig.read(configJson);
        return WeightReader.read(safetensors, be, "an HF CLIPModel state dict", precision, r -> new Clip(r, cfg));
    }

    /** A checkpoint deeper than its config would otherwise load as a silently truncated model. */
    private static void rejectExtraLayers(WeightReader r, ClipConfig cfg) {
        TreeSet<String> extra = new TreeSet<>();
        for (String name : r.names()) {
            Matcher m = LAYER_NAME.matcher(name);
            if (!m.matches()) continue;
            int layers = m.group(1).equals("vision") ? cfg.vision().layers() : cfg.text().layers();
            if (Integer.parseInt(m.group(2)) >= layers) extra.add(name);
        }
        if (!extra.isEmpty()) {
            throw r.bad(extra.first(), "belongs to an encoder layer beyond num_hidden_layers of the config (vision "
                    + cfg.vision().layers() + ", text " + cfg.text().layers() + ")");
        }
    }

    /** logit_scale is a 0-d parameter; a 1-element vector is accepted too. */
    private static float readLogitScale(WeightReader r) {
        String name = "logit_scale";
        long[] shape = r.shape(name);
        if (Tensor.numel(shape) != 1 || shape.length > 1) {
            throw r.bad(name, "has shape " + Tensor.shapeString(shape) + ", expected [] (a scalar)");
        }
        return r.read(name, shape)[0];
    }

    // ------------------------------------------------------------------ accessors

    /**
     * The model's sizes.
     *
     * @return the configuration
     */
    public ClipConfig config() {
        return cfg;
    }

    /**
     * The backend the weights live on.
     *
     * @return the backend
     */
    public Backend backend() {
        return be;
    }

    /**
     * The stored logit scale, a log value: logits use exp(logitScale()) (100 for OpenAI CLIP).
     *
     * @return the log logit scale
     */
    public float logitScale() {
        ensureOpen("logitScale");
        return logitScale;
    }

    // ------------------------------------------------------------------ image tower

    /**
     * Host images as the image tower's input: {@code batch} planar, CLIP-normalised images
     * [C][S][S] at the tower's channels and image size become a tensor [batch, C, S, S] in the
     * current scope.
     *
     * @param values the images, planar
     * @param batch how many
     * @return the input tensor
     * @throws IllegalArgumentException naming both image sizes if the values are not {@code batch}
     *     images of the tower's size
     */
    public Tensor pixels(float[] values, int batch) {
        ensureOpen("pixels");
        ClipConfig.Vision v = cfg.vision();
        return ImageBatch.upload(be, "CLIP image tower", v.channels(), v.imageSize(), values, batch);
    }

    /**
     * Image features: pixels [B, C, S, S] (CLIP-normalised) → post-LayerNorm CLS token times
     * visual_projection, [B, projection_dim], not normalised; a new tensor in the current scope.
     *
     * @param pixels the images
     * @return the features
     */
    public Tensor imageFeatures(Tensor pixels) {
        return use.call("imageFeatures", () -> {
            checkPixels("imageFeatures", pixels);
            return vision.features(be, pixels);
        });
    }

    /**
     * The image tower's last hidden state [B, T, width], before post_layernorm (HF
     * {@code vision_model(...).last_hidden_state}); a new tensor in the current scope.
     *
     * @param pixels the images
     * @return the hidden state
     */
    public Tensor visionLastHiddenState(Tensor pixels) {
        return use.call("visionLastHiddenState", () -> {
            checkPixels("visionLastHiddenState", pixels);
            return vision.lastHiddenState(be, pixels);
        });
    }

    // ------------------------------------------------------------------ text tower

    /**
     * Text features of token id sequences (each up to max_position_embeddings long, with an
     * end-of-text token; zero padding after it is optional): [C, projection_dim], projected, not
     * normalised; a new tensor in the current scope. Only tokens up to the last EOS are computed.
     *
     * @param ids one token sequence per text
     * @return the features
     */
    public Tensor textFeatures(int[][] ids) {
        return use.call("textFeatures", () -> {
            ensureOpen("textFeatures");
            return text.infer(be, TextBatch.of(ids, cfg.text()), null, 0);
        });
    }

    /**
     * Text features with the token embeddings at positions [position, position + nCtx) of sequence
     * c replaced by replaced[c] ([C, nCtx, text width]); inference only (see {@link #textForward}).
     *
     * @param ids one token sequence per text
     * @param replaced the embeddings to put in place of the tokens at [position, position + nCtx)
     * @param position the first replaced position
     * @return the features
     */
    public Tensor textFeatures(int[][] ids, Tensor replaced, int position) {
        return use.call("textFeatures", () -> {
            ensureOpen("textFeatures");
            TextBatch batch = TextBatch.of(ids, cfg.text());
            checkReplaced("textFeatures", batch, replaced, position);
            return text.infer(be, batch, replaced, position);
        });
    }

    /**
     * Training forward of {@link #textFeatures(int[][], Tensor, int)}: the features are
     * {@link TextActivations#features()}, and the activations feed {@link #textBackward}. They
     * live in the current TensorScope (or close them).
     *
     * @param ids one token sequence per text
     * @param replaced the embeddings to put in place of the tokens at [position, position + nCtx)
     * @param position the first replaced position
     * @return the activations
     */
    public TextActivations textForward(int[][] ids, Tensor replaced, int position) {
        return use.call("textForward", () -> {
            ensureOpen("textForward");
            TextBatch batch = TextBatch.of(ids, cfg.text());
            checkReplaced("textForward", batch, replaced, position);
            TextActivations act = new TextActivations(text, batch, position, (int) replaced.dim(1));
            try {
                text.train(be, batch, replaced, position, act);
                return act;
            } catch (RuntimeException | Error e) {
                act.close();
                throw e;
            }
        });
    }

    /**
     * Gradient of the replaced vectors [C, nCtx, text width] given the gradient of the features
     * dFeatures [C, projection_dim] (a new tensor in the current scope).
     *
     * @param act the activations of {@link #textForward}
     * @param dFeatures gradient of the features
     * @return the gradient of the replaced embeddings
     */
    public Tensor textBackward(TextActivations act, Tensor dFeatures) {
        return use.call("textBackward", () -> {
            ensureOpen("textBackward");
            if (act == null) throw new IllegalArgumentException("textBackward: activations are null");
            if (act.tower != text) throw new IllegalArgumentException("textBackward: activations come from another model");
            act.ensureOpen("textBackward");
            TensorArguments.requireF32("textBackward", "dFeatures", dFeatures, be.device(), act.sequences(),
                    cfg.projectionDim());
            return text.backward(be, act, dFeatures);
        });
    }

    // ------------------------------------------------------------------ checks

    private void checkPixels(String op, Tensor pixels) {
        ensureOpen(op);
        ClipConfig.Vision v = cfg.vision();
        if (pixels == null) throw new IllegalArgumentException(op + ": pixels are null");
        long batch = pixels.rank() == 4 && pixels.dim(0) >= 1 ? pixels.dim(0) : 1;
        TensorArguments.requireF32(op, "pixels", pixels, be.device(), batch, v.channels(), v.imageSize(),
                v.imageSize());
    }

    private void checkReplaced(String op, TextBatch batch, Tensor replaced, int position) {
        if (replaced == null) throw new IllegalArgumentException(op + ": replaced is null");
        long ctx = replaced.rank() == 3 && replaced.dim(1) >= 1 ? replaced.dim(1) : 1;
        TensorArguments.requireF32(op, "replaced", replaced, be.device(), batch.sequences(), ctx, cfg.text().width());
        for (int c = 0; c < batch.sequences(); c++) {
            // Replacing past the pooled token could not change the features (causal mask), and those
            // positions may not even be computed: such a request is a mistake.
            if (position < 0 || position + ctx > batch.eos()[c] + 1) {
                throw new IllegalArgumentException(op + ": replaced positions [" + position + ", " + (position + ctx)
                        + ") do not lie within sequence " + c + " up to its end-of-text token at " + batch.eos()[c]);
            }
        }
    }

    private void ensureOpen(String op) {
        if (closed) throw new IllegalStateException(op + ": this Clip is closed");
    }

    /**
     * Frees the weights. Idempotent.
     *
     * @throws IllegalStateException if another thread is inside the model (its call would read
     *     freed memory)
     */
    @Override
    public void close() {
        use.run("close", () -> {
            if (closed) return;
            closed = true;
            vision.close();
            text.close();
        });
    }

    /** The guard of the one-thread rule; for tests that hold the model busy. */
    ExclusiveUse exclusiveUse() {
        return use;
    }

    @Override
    public String toString() {
        return "CLIP(" + cfg + ") on " + be.name();
    }
}
