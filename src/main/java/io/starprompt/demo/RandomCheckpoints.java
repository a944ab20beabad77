package io.starprompt.demo;

import io.starprompt.model.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * Writes randomly initialised checkpoints in the real file layouts (timm ViT, HF CLIP + its
 * config.json), so that everything from file loading to training runs without downloaded
 * weights: the built-in demo and the benchmarks use them. Weights are fan-in scaled Gaussians,
 * LayerNorm weights one, biases small.
 */
public final class RandomCheckpoints {
    private final Map<String, float[]> data = new LinkedHashMap<>();
    private final Map<String, long[]> shapes = new LinkedHashMap<>();
    private final Random rnd;

    private RandomCheckpoints(long seed) {
        this.rnd = new Random(seed);
    }

    /** Sizes of one transformer tower. */
    public record Tower(int imageSize, int patchSize, int width, int depth, int heads) {
        /**
         * Patch tokens plus the class token.
         *
         * @return T
         */
        public int tokens() {
            int g = imageSize / patchSize;
            return g * g + 1;
        }
    }

    /**
     * A timm VisionTransformer state dict (MLP ratio 4) at path.
     *
     * @param path where to write
     * @param t the tower's sizes
     * @param seed the initialisation seed
     * @throws IOException if the file cannot be written
     */
    public static void writeVit(Path path, Tower t, long seed) throws IOException {
        RandomCheckpoints w = new RandomCheckpoints(seed);
        int d = t.width();
        w.gaussian("cls_token", 0.02, 1, 1, d);
        w.gaussian("pos_embed", 0.02, 1, t.tokens(), d);
        w.fanIn("patch_embed.proj.weight", 3 * t.patchSize() * t.patchSize(), d, 3, t.patchSize(), t.patchSize());
        w.gaussian("patch_embed.proj.bias", 0.02, d);
        for (int i = 0; i < t.depth(); i++) {
            String b = "blocks." + i + ".";
            w.layerNorm(b + "norm1", d);
            w.linear(b + "attn.qkv", d, 3 * d);
            w.linear(b + "attn.proj", d, d);
            w.layerNorm(b + "norm2", d);
            w.linear(b + "mlp.fc1", d, 4 * d);
            w.linear(b + "mlp.fc2", 4 * d, d);
        }
        w.layerNorm("norm", d);
        w.save(path);
    }

    /**
     * An HF CLIPModel state dict and its config.json: the vision tower t, a text tower of the
     * given width/depth/heads over a vocabulary whose two largest ids are BOS and EOS.
     *
     * @param weights where to write the weights
     * @param config where to write config.json
     * @param vision the image tower's sizes
     * @param vocab the vocabulary size
     * @param textWidth the text tower's width
     * @param textDepth its layers
     * @param textHeads its attention heads
     * @param projection the joint embedding size
     * @param seed the initialisation seed
     * @throws IOException if a file cannot be written
     */
    public static void writeClip(Path weights, Path config, Tower vision, int vocab, int textWidth, int textDepth,
            int textHeads, int projection, long seed) throws IOException {
        RandomCheckpoints w = new RandomCheckpoints(seed);
        int d = vision.width();
        w.gaussian("vision_model.embeddings.class_embedding", 0.02, d);
        w.fanIn("vision_model.embeddings.patch_embedding.weight", 3 * vision.patchSize() * vision.patchSize(), d, 3,
                vision.patchSize(), vision.patchSize());
        w.gaussian("vision_model.embeddings.position_embedding.weight", 0.02, vision.tokens(), d);
        w.layerNorm("vision_model.pre_layrnorm", d);
        w.clipLayers("vision_model", d, vision.depth());
        w.layerNorm("vision_model.post_layernorm", d);
        w.fanIn("visual_projection.weight", d, projection, d);
        w.gaussian("text_model.embeddings.token_embedding.weight", 0.02, vocab, textWidth);
        w.gaussian("text_model.embeddings.position_embedding.weight", 0.01, 77, textWidth);
        w.clipLayers("text_model", textWidth, textDepth);
        w.layerNorm("text_model.final_layer_norm", textWidth);
        w.fanIn("text_projection.weight", textWidth, projection, textWidth);
        w.data.put("logit_scale", new float[] {(float) Math.log(100)});
        w.shapes.put("logit_scale", new long[0]);
        w.save(weights);
        Files.writeString(config, clipConfig(vision, vocab, textWidth, textDepth, textHeads, projection));
    }

    private static String clipConfig(Tower v, int vocab, int textWidth, int textDepth, int textHeads, int projection) {
        return "{\n \"projection_dim\": " + projection + ",\n \"logit_scale_init_value\": 2.6592,\n"
                + " \"text_config\": {\"vocab_size\": " + vocab + ", \"hidden_size\": " + textWidth
                + ", \"intermediate_size\": " + 4 * textWidth + ", \"num_hidden_layers\": " + textDepth
                + ", \"num_attention_heads\": " + textHeads + ", \"max_position_embeddings\": 77"
                + ", \"hidden_act\": \"quick_gelu\", \"layer_norm_eps\": 1e-05, \"bos_token_id\": " + (vocab - 2)
                + ", \"eos_token_id\": " + (vocab - 1) + ", \"pad_token_id\": 0},\n"
                + " \"vision_config\": {\"image_size\": " + v.imageSize() + ", \"patch_size\": " + v.patchSize()
                + ", \"hidden_size\": " + v.width() + ", \"intermediate_size\": " + 4 * v.width()
                + ", \"num_hidden_layers\": " + v.depth() + ", \"num_attention_heads\": " + v.heads()
                + ", \"num_channels\": 3, \"hidden_act\": \"quick_gelu\", \"layer_norm_eps\": 1e-05}\n}\n";
    }

    private void clipLayers(String tower, int d, int depth) {
        for (int i = 0; i < depth; i++) {
            String b = tower + ".encoder.layers." + i + ".";
            layerNorm(b + "layer_norm1", d);
            for (String p : new String[] {"q_proj", "k_proj", "v_proj", "out_proj"}) linear(b + "self_attn." + p, d, d);
            layerNorm(b + "layer_norm2", d);
            linear(b + "mlp.fc1", d, 4 * d);
            linear(b + "mlp.fc2", 4 * d, d);
        }
    }

    private void linear(String name, int in, int out) {
        fanIn(name + ".weight", in, out, in);
        gaussian(name + ".bias", 0.02, out);
    }

    private void layerNorm(String name, int d) {
        float[] ones = new float[d];
        java.util.Arrays.fill(ones, 1f);
        put(name + ".weight", ones, d);
        gaussian(name + ".bias", 0.02, d);
    }

    private void fanIn(String name, int fanIn, long... shape) {
        gaussian(name, 1 / Math.sqrt(fanIn), shape);
    }

    private void gaussian(String name, double std, long... shape) {
        float[] v = new float[Math.toIntExact(io.starprompt.tensor.Tensor.numel(shape))];
        for (int i = 0; i < v.length; i++) v[i] = (float) (std * rnd.nextGaussian());
        put(name, v, shape);
    }

    private void put(String name, float[] v, long... shape) {
        data.put(name, v);
        shapes.put(name, shape);
    }

    private void save(Path path) throws IOException {
        SafetensorsWriter.write(path, data, shapes);
    }
}
