package io.starprompt.method.codaprompt;

import io.starprompt.backend.ComponentInputs;
import io.starprompt.method.prompting.PrefixInjection;
import io.starprompt.method.prompting.PrefixPromptMethod;
import io.starprompt.method.common.Seeds;
import io.starprompt.model.vit.Prompts;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * CODA-Prompt as methods/coda-prompt.md specifies it. Per prompted layer l a pool of M components
 * P^l [M, L_p·D] with keys K^l and attention vectors A^l [M, D]; the query q is the frozen ViT's
 * [CLS] feature; an image's prompt in layer l is Σ_{k&lt;f_t} α_k·P^l_k with α_k the cosine of
 * q ⊙ A^l_k to K^l_k (§3), whose halves are the layer's prefix keys and values (§4). Task t owns
 * components [t·⌊M/T⌋, (t+1)·⌊M/T⌋), re-drawn by Gram–Schmidt at its start (§2); earlier ones
 * keep contributing but get no gradient (§7). Loss: the cross-entropy over the task's classes,
 * plus μ times the Gram-matrix orthogonality loss when μ &gt; 0 (§6). Adam, fresh per task, with
 * the per-epoch cosine (§8). The head starts uniform (§1).
 *
 * <pre>{@code
 * try (CodaPrompt m = new CodaPrompt(vit, data.classNames().size(), CodaPromptConfig.defaults(), seed)) {
 *     ContinualRun.run(m, data, checkpointing);
 * }
 * }</pre>
 */
public final class CodaPrompt extends PrefixPromptMethod {
    /** {@value #NAME}. */
    public static final String NAME = "coda-prompt";

    private final CodaPromptConfig cfg;
    private final int[] layers;
    private final PrefixInjection injection;
    private final Tensor keys;
    private final Tensor attention;
    private final Tensor components;

    /**
     * A fresh CODA-Prompt over a frozen ViT: keys, attention vectors and components uniform on
     * [0, 1) until their task re-draws them, the head uniform.
     *
     * @param vit the frozen ViT (borrowed)
     * @param classes the number of classes of the benchmark (the head's outputs)
     * @param cfg the settings
     * @param seed the run's seed
     * @throws IllegalArgumentException if the ViT has fewer layers than cfg.promptedLayers(), or is
     *     narrower than the M components that Gram–Schmidt makes orthonormal
     */
    public CodaPrompt(VisionTransformer vit, int classes, CodaPromptConfig cfg, long seed) {
        super(NAME, vit, classes, seed, fitting(vit, cfg), cfg.promptedLayers(), HeadInit.UNIFORM);
        int width = vit.config().width();
        this.cfg = cfg;
        this.layers = PrefixInjection.consecutive(0, cfg.promptedLayers());
        this.injection = new PrefixInjection(be, width, cfg.promptLength() / 2);
        Random rnd = new Random(Seeds.mix(seed, 1, 0));
        int l = layers.length, m = cfg.components();
        this.keys = TensorScope.detach(uniform(rnd, l, m, width));
        this.attention = TensorScope.detach(uniform(rnd, l, m, width));
        this.components = TensorScope.detach(uniform(rnd, l, m, injection.rowWidth()));
    }

    /** cfg, if the ViT's width D leaves room for M orthonormal keys and attention vectors (§2). */
    private static CodaPromptConfig fitting(VisionTransformer vit, CodaPromptConfig cfg) {
        if (cfg.components() > vit.config().width()) {
            throw new IllegalArgumentException(NAME + ": " + cfg.components() + " components cannot be orthonormal in "
                    + vit.config().width() + " dimensions");
        }
        return cfg;
    }

    /** Entries uniform on [0, 1), as the reference creates them; none is used before it is re-drawn (§2). */
    private Tensor uniform(Random rnd, long... shape) {
        float[] v = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < v.length; i++) v[i] = rnd.nextFloat();
        return be.fromArray(v, shape);
    }

    /**
     * The settings.
     *
     * @return the configuration
     */
    public CodaPromptConfig config() {
        return cfg;
    }

    /**
     * M_t = ⌊M / T⌋, the components each task owns.
     *
     * @param tasks T
     * @return M_t
     * @throws IllegalArgumentException if M &lt; T
     */
    public int componentsPerTask(int tasks) {
        int perTask = cfg.components() / tasks;
        if (perTask < 1) {
            throw new IllegalArgumentException(NAME + ": " + cfg.components() + " components cannot be split over " + tasks
                    + " tasks");
        }
        return perTask;
    }

    @Override
    protected float learningRate(int task, int epoch) {
        return cfg.learningRate(epoch);
    }

    /** K, A and P of the prompted layers (the head follows). */
    @Override
    protected Map<String, Tensor> promptParameters() {
        return inOrder("keys", keys, "attention", attention, "components", components);
    }

    /** Every task needs at least one component: M ≥ T. */
    @Override
    protected void checkTasks(int tasks) {
        componentsPerTask(tasks);
    }

    /** Re-draws task t's components of K, A and P in every layer (§2). */
    @Override
    protected void prepareTask(int task, int tasks) {
        int perTask = componentsPerTask(tasks);
        Random rnd = new Random(Seeds.mix(seed, 3, task));
        for (Tensor t : List.of(keys, attention, components)) {
            redraw(t, task * perTask, (task + 1) * perTask, rnd);
        }
    }

    private void redraw(Tensor t, int from, int to, Random rnd) {
        float[] values = be.toFloatArray(t);
        int m = (int) t.dim(1), width = (int) t.dim(2);
        for (int l = 0; l < t.dim(0); l++) {
            double[] layer = new double[m * width];
            int base = l * m * width;
            for (int i = 0; i < layer.length; i++) layer[i] = values[base + i];
            GramSchmidt.redraw(layer, width, from, to, rnd);
            for (int i = from * width; i < to * width; i++) values[base + i] = (float) layer[i];
        }
        upload(values, t);
    }

    @Override
    protected Step step(int task, int tasks, Tensor images, Tensor queries, int[] labels, ClassRange range) {
        int perTask = componentsPerTask(tasks), from = task * perTask, used = from + perTask;
        ComponentInputs in = new ComponentInputs(queries, keys, attention, components, used);
        Tensor rows = weightedRows(in);
        HeadPass pass = headPass(images, prompts(rows), labels, range);
        Tensor dRows = be.empty(rows.shape());
        injection.rowGradients(pass.prompts(), layers, dRows);
        Tensor dKeys = be.empty(keys.shape()), dAttention = be.empty(attention.shape());
        Tensor dComponents = be.empty(components.shape());
        be.componentWeightingBackward(in, dRows, from, dKeys, dAttention, dComponents);
        double loss = pass.loss();
        if (cfg.mu() > 0) {
            loss += GramOrthogonality.add(be, keys, from, used, cfg.mu(), dKeys)
                    + GramOrthogonality.add(be, attention, from, used, cfg.mu(), dAttention)
                    + GramOrthogonality.add(be, components, from, used, cfg.mu(), dComponents);
        }
        return new Step((float) loss, List.of(dKeys, dAttention, dComponents, pass.dWeight(), pass.dBias()));
    }

    /** Every task learned so far uses the same components at test as in its training: [0, f). */
    @Override
    protected Tensor testLogits(int learned, int tasks, Tensor images, Tensor queries) {
        int used = learned * componentsPerTask(tasks);
        Tensor rows = weightedRows(new ComponentInputs(queries, keys, attention, components, used));
        return head.forward(vit.encodePooled(images, prompts(rows)));
    }

    /** α·P of every prompted layer [L, B, L_p·D], in the current scope. */
    private Tensor weightedRows(ComponentInputs in) {
        Tensor alpha = be.empty(in.layers(), in.batch(), in.used());
        Tensor rows = be.empty(in.layers(), in.batch(), in.rowWidth());
        be.componentWeighting(in, alpha, rows);
        return rows;
    }

    private Prompts prompts(Tensor rows) {
        List<Tensor> k = new ArrayList<>(), v = new ArrayList<>();
        injection.place(rows, layers, k, v);
        return prefixes(k, v);
    }

    @Override
    public void close() {
        super.close();
        keys.close();
        attention.close();
        components.close();
    }
}
