package io.starprompt.model.clip;

import io.starprompt.backend.Activation;
import io.starprompt.model.vit.VitConfig;
import io.starprompt.util.Json;
import io.starprompt.util.TextFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Sizes of an HF {@code CLIPModel}, read from its {@code config.json} ({@code vision_config},
 * {@code text_config} and the top-level {@code projection_dim}).
 *
 * @param vision        the image tower
 * @param text          the text tower
 * @param projectionDim width of the joint embedding space (both projections' output)
 */
public record ClipConfig(Vision vision, Text text, int projectionDim) {

    /**
     * The image tower (a ViT with a bias-free patch conv, pre-LayerNorm and post-LayerNorm).
     *
     * @param channels     input channels
     * @param imageSize    square input side in pixels
     * @param patchSize    square patch side (conv kernel and stride)
     * @param width        hidden size
     * @param layers       number of encoder layers
     * @param heads        attention heads
     * @param mlpHidden    intermediate size of each MLP
     * @param layerNormEps epsilon of every LayerNorm of the tower
     * @param activation   MLP activation
     */
    public record Vision(int channels, int imageSize, int patchSize, int width, int layers, int heads, int mlpHidden,
            float layerNormEps, Activation activation) {

        /**
         * Patches per image plus the class token.
         *
         * @return T
         */
        public int tokens() {
            int grid = imageSize / patchSize;
            return grid * grid + 1;
        }

        /**
         * The same sizes in ViT terms (the patch embedding's geometry).
         *
         * @return the ViT configuration
         */
        public VitConfig asVit() {
            return new VitConfig(channels, imageSize, patchSize, width, layers, heads, mlpHidden);
        }
    }

    /**
     * The text tower (causal transformer, pooled at the end-of-text token).
     *
     * @param vocabSize    rows of the token embedding
     * @param width        hidden size
     * @param layers       number of encoder layers
     * @param heads        attention heads
     * @param mlpHidden    intermediate size of each MLP
     * @param maxPositions rows of the positional embedding (the longest sequence, 77)
     * @param layerNormEps epsilon of every LayerNorm of the tower
     * @param activation   MLP activation
     * @param eosTokenId   end-of-text id; 2 means the legacy rule "pool at the largest id" (see
     *                     {@link #poolsAtLargestId()})
     */
    public record Text(int vocabSize, int width, int layers, int heads, int mlpHidden, int maxPositions,
            float layerNormEps, Activation activation, int eosTokenId) {

        /**
         * Whether pooling takes the position of the largest id instead of the first eos_token_id:
         * the original OpenAI configs say eos_token_id = 2 although the EOT id is 49407 (the largest
         * id of the vocabulary), and HF transformers keeps their argmax rule for exactly that value.
         *
         * @return whether the largest id marks the end of a text
         */
        public boolean poolsAtLargestId() {
            return eosTokenId == 2;
        }
    }

    /** Largest config.json accepted; HF's are a few kilobytes. */
    public static final long MAX_FILE_BYTES = 1L << 20;

    /**
     * Reads an HF CLIP config.json. Every size, eps, activation and eos id must be present, except
     * {@code vision_config.num_channels}, which the original OpenAI configs predate (then 3, HF's
     * default; the patch weight's shape is checked against it when the weights are loaded).
     *
     * @param configJson the file
     * @return the configuration
     * @throws IllegalArgumentException naming the file (and the field) when the file is missing,
     *     larger than {@link #MAX_FILE_BYTES}, not UTF-8 or not JSON, or a field is missing or invalid
     * @throws IOException never in practice; kept so that callers written for it still compile
     */
    public static ClipConfig read(Path configJson) throws IOException {
        return parse(TextFiles.readUtf8(configJson, MAX_FILE_BYTES), configJson.toString());
    }

    /**
     * As {@link #read}, from the text of a config.json; source names it in error messages.
     *
     * @param json the text
     * @param source where it came from, for messages
     * @return the configuration
     */
    public static ClipConfig parse(String json, String source) {
        Object root = Json.parse(json, source);
        Fields f = new Fields(root, source);
        String v = "vision_config", t = "text_config";
        Encoder ve = f.encoder(v);
        Vision vision = new Vision(f.hasField(v, "num_channels") ? f.positive(v, "num_channels") : 3,
                f.positive(v, "image_size"), f.positive(v, "patch_size"), ve.width, ve.layers, ve.heads, ve.mlpHidden,
                ve.eps, ve.activation);
        Encoder te = f.encoder(t);
        Text text = new Text(f.positive(t, "vocab_size"), te.width, te.layers, te.heads, te.mlpHidden,
                f.positive(t, "max_position_embeddings"), te.eps, te.activation, f.integer(t, "eos_token_id"));
        ClipConfig cfg = new ClipConfig(vision, text, f.positive("projection_dim"));
        cfg.check(f);
        return cfg;
    }

    /** Relations between the sizes that the weights cannot catch by shape alone. */
    private void check(Fields f) {
        if (vision.imageSize() % vision.patchSize() != 0) {
            throw f.bad("vision_config.image_size", "= " + vision.imageSize() + " is not a multiple of patch_size "
                    + vision.patchSize());
        }
        long grid = vision.imageSize() / vision.patchSize();
        if (grid * grid + 1 > Integer.MAX_VALUE) {
            throw f.bad("vision_config.image_size", "= " + vision.imageSize() + " with patch_size " + vision.patchSize()
                    + " makes " + (grid * grid + 1) + " tokens, more than a 32-bit count");
        }
        if ((long) vision.channels() * vision.patchSize() * vision.patchSize() > Integer.MAX_VALUE) {
            throw f.bad("vision_config.patch_size", "= " + vision.patchSize() + " makes patches of more than 2^31 values");
        }
        if (text.eosTokenId() < 0 || text.eosTokenId() >= text.vocabSize()) {
            throw f.bad("text_config.eos_token_id", "= " + text.eosTokenId() + " is outside the vocabulary [0, "
                    + text.vocabSize() + ")");
        }
    }

    /** The encoder sizes both towers' sections share, read and checked once for each. */
    private record Encoder(int width, int layers, int heads, int mlpHidden, float eps, Activation activation) {}

    /** Field access with errors naming the file and the dotted field path. */
    private record Fields(Object root, String source) {
        /** The shared encoder fields of one tower's section; the heads must divide the width. */
        Encoder encoder(String section) {
            int width = positive(section, "hidden_size"), layers = positive(section, "num_hidden_layers");
            int heads = positive(section, "num_attention_heads"), mlpHidden = positive(section, "intermediate_size");
            Encoder e = new Encoder(width, layers, heads, mlpHidden, eps(section), activation(section));
            if (width % heads != 0) {
                throw bad(section + ".num_attention_heads", "= " + heads + " does not divide hidden_size " + width);
            }
            return e;
        }

        boolean hasField(String... path) {
            return Json.path(root, (Object[]) path) != null;
        }

        Object value(String... path) {
            Object v = Json.path(root, (Object[]) path);
            if (v == null) {
                boolean noSection = path.length > 1 && !(Json.path(root, path[0]) instanceof Map);
                throw bad(String.join(".", path), "is missing" + (noSection ? " (no " + path[0] + " object)" : ""));
            }
            return v;
        }

        int integer(String... path) {
            Object v = value(path);
            if (!(v instanceof Double d) || d != Math.rint(d) || Math.abs(d) > Integer.MAX_VALUE) {
                throw bad(String.join(".", path), "must be an integer, found " + v);
            }
            return d.intValue();
        }

        int positive(String... path) {
            int v = integer(path);
            if (v <= 0) throw bad(String.join(".", path), "must be positive, found " + v);
            return v;
        }

        /** A positive number that stays positive and finite as a float (1e-50 and 1e39 do not). */
        float eps(String section) {
            Object v = value(section, "layer_norm_eps");
            float eps = v instanceof Double d ? d.floatValue() : Float.NaN;
            if (!(eps > 0) || Float.isInfinite(eps)) {
                throw bad(section + ".layer_norm_eps", "must be a positive number within the float range, found " + v);
            }
            return eps;
        }

        /** HF's "quick_gelu" (x·σ(1.702x), every OpenAI CLIP) or "gelu" (exact erf GELU). */
        Activation activation(String section) {
            Object v = value(section, "hidden_act");
            if ("quick_gelu".equals(v)) return Activation.QUICK_GELU;
            if ("gelu".equals(v)) return Activation.GELU;
            throw bad(section + ".hidden_act", "= " + v + " is not supported (only quick_gelu and gelu)");
        }

        IllegalArgumentException bad(String field, String problem) {
            return new IllegalArgumentException(source + ": field '" + field + "' " + problem);
        }
    }
}
