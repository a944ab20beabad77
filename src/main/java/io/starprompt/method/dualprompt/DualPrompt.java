package io.starprompt.method.dualprompt;

import io.starprompt.method.common.GradientClipping;
import io.starprompt.method.prompting.PrefixInjection;
import io.starprompt.method.prompting.PrefixPromptMethod;
import io.starprompt.method.common.Seeds;
import io.starprompt.model.vit.PromptGradients;
import io.starprompt.model.vit.Prompts;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.tensor.DType;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * DualPrompt as methods/dualprompt.md specifies it. A G-prompt per layer of 0 … gLayers − 1,
 * shared by every image and task, and a pool of M E-prompts per layer of the next eLayers layers,
 * each a row of L key vectors then L value vectors put in as the layer's prefixes (§1, §4). In
 * training task t, every image gets E-prompt t (§3), which starts as a copy of E-prompt t − 1
 * (§6); the loss is the cross-entropy over the task's classes minus λ times the mean cosine of
 * the frozen ViT's query to key t (§5). At test the E-prompt is the one whose key is closest to
 * the query (over all M keys), voted over the test batch when batchwisePrompt is on. Adam fresh
 * per task at lr·B/256, constant, after clipping the global gradient norm (§7).
 *
 * <pre>{@code
 * try (DualPrompt m = new DualPrompt(vit, data.classNames().size(), DualPromptConfig.defaults(), seed)) {
 *     ContinualRun.run(m, data, checkpointing);
 * }
 * }</pre>
 */
public final class DualPrompt extends PrefixPromptMethod {
    /** {@value #NAME}. */
    public static final String NAME = "dualprompt";

    private final DualPromptConfig cfg;
    private final int[] gLayers;
    private final int[] eLayers;
    private final PrefixInjection gInjection;
    private final PrefixInjection eInjection;
    private final Tensor gPrompt;
    private final Tensor ePrompts;
    private final Tensor keys;

    /**
     * A fresh DualPrompt over a frozen ViT.
     *
     * @param vit the frozen ViT (borrowed), with at least gLayers + eLayers layers
     * @param classes the number of classes of the benchmark (the head's outputs)
     * @param cfg the settings
     * @param seed the run's seed
     */
    public DualPrompt(VisionTransformer vit, int classes, DualPromptConfig cfg, long seed) {
        super(NAME, vit, classes, seed, cfg, cfg.gLayers() + cfg.eLayers(), HeadInit.GAUSSIAN);
        int width = vit.config().width();
        this.cfg = cfg;
        this.gLayers = PrefixInjection.consecutive(0, cfg.gLayers());
        this.eLayers = PrefixInjection.consecutive(cfg.gLayers(), cfg.eLayers());
        this.gInjection = new PrefixInjection(be, width, cfg.gLength());
        this.eInjection = new PrefixInjection(be, width, cfg.eLength());
        Random rnd = new Random(Seeds.mix(seed, 1, 0));
        this.gPrompt = TensorScope.detach(symmetric(rnd, cfg.gLayers(), gInjection.rowWidth()));
        this.ePrompts = TensorScope.detach(symmetric(rnd, cfg.eLayers(), cfg.poolSize(), eInjection.rowWidth()));
        this.keys = TensorScope.detach(symmetric(rnd, cfg.poolSize(), width));
    }

    /** Entries uniform on (−1, 1), the reference's initialisation of prompts and keys (§1). */
    private Tensor symmetric(Random rnd, long... shape) {
        float[] v = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < v.length; i++) v[i] = (float) (2 * rnd.nextDouble() - 1);
        return be.fromArray(v, shape);
    }

    /**
     * The settings.
     *
     * @return the configuration
     */
    public DualPromptConfig config() {
        return cfg;
    }

    @Override
    protected float learningRate(int task, int epoch) {
        return cfg.effectiveLr();
    }

    /** G-prompt, E-prompts, E-keys (the head follows). */
    @Override
    protected Map<String, Tensor> promptParameters() {
        return inOrder("g-prompt", gPrompt, "e-prompts", ePrompts, "e-keys", keys);
    }

    /** Training picks E-prompt t for task t (§3): T must not exceed the pool. */
    @Override
    protected void checkTasks(int tasks) {
        if (tasks > cfg.poolSize()) {
            throw new IllegalArgumentException(NAME + ": " + tasks + " tasks need as many E-prompts, the pool holds "
                    + cfg.poolSize());
        }
    }

    /** Task t &gt; 0 starts from a copy of E-prompt t − 1 in every E-layer; the key is not copied (§6). */
    @Override
    protected void prepareTask(int task, int tasks) {
        checkTasks(tasks);
        if (task == 0) return;
        for (int l = 0; l < cfg.eLayers(); l++) {
            Tensor layer = ePrompts.rows(l, 1).reshape(cfg.poolSize(), eInjection.rowWidth());
            be.copy(layer.rows(task - 1, 1), layer.rows(task, 1));
        }
    }

    @Override
    protected Step step(int task, int tasks, Tensor images, Tensor queries, int[] labels, ClassRange range) {
        int batch = labels.length;
        int[] chosen = new int[batch];
        Arrays.fill(chosen, task);
        HeadPass pass = headPass(images, prompts(chosen), labels, range);
        Tensor dG = rowGradients(pass.prompts(), gInjection, gLayers, gPrompt, new int[batch]);
        Tensor dE = rowGradients(pass.prompts(), eInjection, eLayers, ePrompts, chosen);
        Tensor dKeys = be.empty(keys.shape());
        double pull = keyPull(queries, task, dKeys);
        float loss = (float) (pass.loss() - cfg.pullWeight() * pull);
        return new Step(loss, List.of(dG, dE, dKeys, pass.dWeight(), pass.dBias()));
    }

    /**
     * R = mean_b cos(q_b, K_t) (§5), with the gradient of −λ·R to the keys written into dKeys
     * (zero but for row t).
     */
    private double keyPull(Tensor queries, int task, Tensor dKeys) {
        int batch = (int) queries.dim(0);
        Tensor scores = be.empty(batch, cfg.poolSize()), selected = be.empty(DType.I32, batch, 1);
        be.cosineMatch(queries, keys, 1, false, scores, selected);
        float[] s = be.toFloatArray(scores);
        double sum = 0;
        for (int b = 0; b < batch; b++) sum += s[b * cfg.poolSize() + task];
        int[] rowT = new int[batch];
        Arrays.fill(rowT, task);
        float[] weight = new float[batch];
        Arrays.fill(weight, -cfg.pullWeight() / batch);
        be.cosineMatchBackward(queries, keys, be.fromArray(rowT, batch, 1), be.fromArray(weight, batch, 1), dKeys, null);
        return sum / batch;
    }

    /** The prompted pass with E-prompt chosen[b] for image b (the closest key's at test, §3). */
    @Override
    protected Tensor testLogits(int learned, int tasks, Tensor images, Tensor queries) {
        int batch = (int) queries.dim(0);
        Tensor scores = be.empty(batch, cfg.poolSize()), selected = be.empty(DType.I32, batch, 1);
        be.cosineMatch(queries, keys, 1, cfg.batchwisePrompt(), scores, selected);
        return head.forward(vit.encodePooled(images, prompts(be.toIntArray(selected))));
    }

    /** The G-prompt for every image and E-prompt chosen[b] for image b, as prefixes of their layers. */
    private Prompts prompts(int[] chosen) {
        List<Tensor> k = new ArrayList<>(), v = new ArrayList<>();
        gInjection.place(gather(gPrompt, gLayers.length, new int[chosen.length], gInjection), gLayers, k, v);
        eInjection.place(gather(ePrompts, eLayers.length, chosen, eInjection), eLayers, k, v);
        return prefixes(k, v);
    }

    /** Rows [layers, B, width] with row ids[b] of each layer's table for image b. */
    private Tensor gather(Tensor table, int layers, int[] ids, PrefixInjection injection) {
        int width = injection.rowWidth(), batch = ids.length;
        long perLayer = table.numel() / Math.max(layers, 1) / width;
        Tensor rows = be.empty(layers, batch, width);
        for (int l = 0; l < layers; l++) {
            be.embeddingGather(table.reshape(layers, perLayer, width).rows(l, 1).reshape(perLayer, width), ids,
                    rows.rows(l, 1).reshape(batch, width));
        }
        return rows;
    }

    /** The gradient of a table from its layers' prefix gradients: each image's adds to its row. */
    private Tensor rowGradients(PromptGradients grads, PrefixInjection injection, int[] layers, Tensor table, int[] ids) {
        int width = injection.rowWidth(), batch = ids.length;
        long perLayer = table.numel() / Math.max(layers.length, 1) / width;
        Tensor dRows = be.empty(layers.length, batch, width);
        injection.rowGradients(grads, layers, dRows);
        Tensor dTable = be.zeros(table.shape());
        for (int l = 0; l < layers.length; l++) {
            be.embeddingScatterAdd(dRows.rows(l, 1).reshape(batch, width), ids,
                    dTable.reshape(layers.length, perLayer, width).rows(l, 1).reshape(perLayer, width));
        }
        return dTable;
    }

    /** Clips the global norm of every gradient together before the step (§7). */
    @Override
    protected void beforeUpdate(List<Tensor> grads) {
        GradientClipping.clip(be, grads, cfg.clipNorm());
    }

    @Override
    public void close() {
        super.close();
        gPrompt.close();
        ePrompts.close();
        keys.close();
    }
}
