package io.starprompt.cli;

import io.starprompt.backend.Backend;
import io.starprompt.method.ContinualMethod;
import io.starprompt.method.baselines.JointTraining;
import io.starprompt.method.baselines.SequentialFineTuning;
import io.starprompt.method.codaprompt.CodaPrompt;
import io.starprompt.method.codaprompt.CodaPromptConfig;
import io.starprompt.method.dualprompt.DualPrompt;
import io.starprompt.method.dualprompt.DualPromptConfig;
import io.starprompt.method.l2p.L2P;
import io.starprompt.method.l2p.L2PConfig;
import io.starprompt.method.starprompt.StarPrompt;
import io.starprompt.method.starprompt.StarPromptConfig;
import io.starprompt.model.clip.Clip;
import io.starprompt.model.vit.VisionTransformer;
import io.starprompt.run.RunSettings;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The methods the runner can train ({@code train --method}, {@code compare}), by name, and the
 * two bounds {@code compare} adds. A new method is one {@link #METHODS} entry: its name, how
 * tables show it, which backbones it runs on, and a factory over the shared {@link Context}.
 */
final class Methods {
    static final String STAR_PROMPT = "starprompt";
    static final String JOINT = "joint";
    static final String FINETUNE = "finetune";

    private Methods() {}

    /**
     * What a factory builds a method from: the loaded backbones, the per-class prompt ids (CLIP
     * stage-1 "X {name}." and zero-shot "a photo of a {name}."), the configurations and the seed.
     */
    record Context(Backend be, VisionTransformer vit, Clip clip, int[][] promptIds, int[][] zeroShotIds,
            StarPromptConfig starPrompt, L2PConfig l2p, DualPromptConfig dualPrompt, CodaPromptConfig codaPrompt,
            long seed) {
        int classes() {
            return zeroShotIds.length;
        }
    }

    /**
     * One method: its name on the command line, its name in tables and plots, the backbones it
     * runs on (for the report), and its factory.
     */
    record Entry(String name, String displayName, String backbones, Function<Context, ContinualMethod> factory) {}

    /** The methods of {@code train --method}; {@code compare} runs them all by default. */
    static final List<Entry> METHODS = List.of(
            new Entry(STAR_PROMPT, "STAR-Prompt", "ViT and CLIP", c -> StarPrompt.builder().backend(c.be()).clip(c.clip())
                    .vit(c.vit()).promptIds(c.promptIds()).config(c.starPrompt()).seed(c.seed()).build()),
            new Entry(L2P.NAME, "L2P", "ViT", c -> new L2P(c.vit(), c.classes(), c.l2p(), c.seed())),
            new Entry(DualPrompt.NAME, "DualPrompt", "ViT",
                    c -> new DualPrompt(c.vit(), c.classes(), c.dualPrompt(), c.seed())),
            new Entry(CodaPrompt.NAME, "CODA-Prompt", "ViT",
                    c -> new CodaPrompt(c.vit(), c.classes(), c.codaPrompt(), c.seed())));

    /** The bounds {@code compare} adds by default: joint training (upper) and sequential fine-tuning (lower). */
    static final List<Entry> BOUNDS = List.of(
            new Entry(JOINT, "joint training", "ViT and CLIP",
                    c -> new JointTraining(c.clip(), c.vit(), c.zeroShotIds(), c.starPrompt(), c.seed())),
            new Entry(FINETUNE, "sequential fine-tuning", "ViT and CLIP",
                    c -> new SequentialFineTuning(c.clip(), c.vit(), c.zeroShotIds(), c.starPrompt(), c.seed())));

    /** Every entry by name: the methods, then the bounds. */
    private static Map<String, Entry> all() {
        Map<String, Entry> m = new LinkedHashMap<>();
        for (Entry e : METHODS) m.put(e.name(), e);
        for (Entry e : BOUNDS) m.put(e.name(), e);
        return m;
    }

    /** The names of {@code train --method}. */
    static List<String> methodNames() {
        return METHODS.stream().map(Entry::name).toList();
    }

    /** What {@code compare} runs without --methods: every method, then both bounds. */
    static List<String> compareDefaults() {
        return new ArrayList<>(all().keySet());
    }

    /**
     * The method of that name.
     *
     * @throws IllegalArgumentException naming the known methods when there is none
     */
    static Entry method(String name) {
        return find(name, METHODS.stream().collect(LinkedHashMap::new, (m, e) -> m.put(e.name(), e), Map::putAll));
    }

    /** A method or a bound of that name, for {@code compare}. */
    static Entry methodOrBound(String name) {
        return find(name, all());
    }

    private static Entry find(String name, Map<String, Entry> known) {
        Entry e = known.get(name.trim());
        if (e == null) throw new IllegalArgumentException("unknown method '" + name.trim() + "'; known: " + known.keySet());
        return e;
    }

    /** L2P's settings from a run's: its own keys, the run's batch sizes (methods/l2p.md §9). */
    static L2PConfig l2pConfig(RunSettings s) {
        return L2PConfig.builder()
                .set(L2PConfig::epochs, s.getInt("l2p.epochs"))
                .set(L2PConfig::batchSize, s.getInt("batch"))
                .set(L2PConfig::evalBatchSize, s.getInt("eval-batch"))
                .set(L2PConfig::baseLearningRate, s.getFloat("l2p.lr"))
                .set(L2PConfig::pullWeight, s.getFloat("l2p.pull-weight"))
                .set(L2PConfig::batchwisePrompt, s.getBoolean("l2p.batchwise"))
                .build();
    }

    /** DualPrompt's settings from a run's: its own keys, the run's batch sizes (methods/dualprompt.md §8). */
    static DualPromptConfig dualPromptConfig(RunSettings s) {
        return DualPromptConfig.builder()
                .set(DualPromptConfig::epochs, s.getInt("dualprompt.epochs"))
                .set(DualPromptConfig::batchSize, s.getInt("batch"))
                .set(DualPromptConfig::evalBatchSize, s.getInt("eval-batch"))
                .set(DualPromptConfig::lr, s.getFloat("dualprompt.lr"))
                .build();
    }

    /** CODA-Prompt's settings from a run's: its own keys, the run's batch sizes (methods/coda-prompt.md §9). */
    static CodaPromptConfig codaPromptConfig(RunSettings s) {
        return CodaPromptConfig.builder()
                .set(CodaPromptConfig::epochs, s.getInt("coda-prompt.epochs"))
                .set(CodaPromptConfig::batchSize, s.getInt("batch"))
                .set(CodaPromptConfig::evalBatchSize, s.getInt("eval-batch"))
                .set(CodaPromptConfig::lr, s.getFloat("coda-prompt.lr"))
                .set(CodaPromptConfig::mu, s.getFloat("coda-prompt.mu"))
                .build();
    }
}
