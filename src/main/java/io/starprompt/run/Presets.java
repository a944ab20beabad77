package io.starprompt.run;

import java.lang.reflect.RecordComponent;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The benchmarks of the STAR-Prompt paper as setting overlays (see docs/ALGORITHM.md, "Benchmarks"
 * and "Hyper-parameters"): the class-order table, task count, transforms, normalisation and the
 * per-dataset hyper-parameters of both stages. A preset never names the dataset's location: the
 * user points {@code --data} at their copy.
 */
public final class Presets {
    private Presets() {}

    private static final Map<String, Map<String, Object>> PRESETS = new LinkedHashMap<>();

    /** Shorthand: stage-1 epochs, λ1, lr_gr1, E1, MC1, EM iterations; each the setting stage1.&lt;name&gt;. */
    private record Stage1(int epochs, double lambda, double grLr, int grEpochs, int mc, int emIters) {}

    /** Shorthand: stage-2 epochs, λ2, lr_gr2, E2, MC2; each the setting stage2.&lt;name&gt;. */
    private record Stage2(int epochs, double lambda, double grLr, int grEpochs, int mc) {}

    /** Shorthand: benchmark, task count, normalisation, transforms, batch size; each the setting &lt;name&gt;. */
    private record Data(String benchmark, int tasks, String norm, String trainTransform, String testTransform,
            int batch) {}

    /**
     * A benchmark's settings: data, STAR-Prompt's two stages, and the prompt family's epochs, which
     * the reference leaves at the dataset's default (ALGORITHM.md §7.1; methods/l2p.md §9,
     * methods/dualprompt.md §8, methods/coda-prompt.md §9) except where {@code family} overrides.
     */
    private static void preset(String name, Data data, Stage1 s1, Stage2 s2, int datasetEpochs,
            Map<String, Object> family) {
        Map<String, Object> m = new LinkedHashMap<>();
        putSettings(m, "", data);
        putSettings(m, "stage1.", s1);
        putSettings(m, "stage2.", s2);
        for (String method : List.of("l2p", "dualprompt", "coda-prompt")) m.put(method + ".epochs", datasetEpochs);
        m.putAll(family);
        PRESETS.put(name, Collections.unmodifiableMap(m));
    }

    private static void preset(String name, Data data, Stage1 s1, Stage2 s2, int datasetEpochs) {
        preset(name, data, s1, s2, datasetEpochs, Map.of());
    }

    /** Each component as the setting prefix + its name in the settings' spelling (grEpochs → gr-epochs). */
    private static void putSettings(Map<String, Object> m, String prefix, Record settings) {
        for (RecordComponent c : settings.getClass().getRecordComponents()) {
            String key = prefix + c.getName().replaceAll("([A-Z])", "-$1").toLowerCase(Locale.ROOT);
            try {
                m.put(key, c.getAccessor().invoke(settings));
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot read preset setting " + key, e);
            }
        }
    }

    private static final String RRC = "random-resized-crop,flip";

    static {
        preset("seq-cifar100", new Data("seq-cifar100-224", 10, "imagenet", RRC, "resize", 128),
                new Stage1(20, 10, 0.05, 10, 1, 500), new Stage2(20, 2, 0.001, 10, 1), 20,
                // The reference's CIFAR-100 rows of the family: 5 epochs for L2P and DualPrompt, and L2P's
                // λ = 0.5 with the batch vote.
                Map.of("l2p.epochs", 5, "l2p.pull-weight", 0.5, "l2p.batchwise", true, "dualprompt.epochs", 5));
        preset("seq-imagenet-r", new Data("seq-imagenet-r", 10, "none", RRC, "resize:256,center-crop", 16),
                new Stage1(20, 30, 0.05, 10, 2, 200), new Stage2(5, 10, 0.001, 10, 1), 50);
        preset("seq-cub200", new Data("seq-cub200", 10, "imagenet", "resize:300,random-crop,flip", "resize-short:256,center-crop", 128),
                new Stage1(50, 30, 0.05, 50, 5, 500), new Stage2(50, 30, 0.01, 10, 5), 50);
        // Cars images are stored pre-resized (shorter side 224, centre crop); raw images get that first.
        preset("seq-cars196", new Data("seq-cars196", 10, "none", "resize-short:224,center-crop,flip",
                        "resize-short:224,center-crop", 128),
                new Stage1(50, 30, 0.01, 10, 2, 500), new Stage2(50, 10, 0.01, 10, 1), 50);
        preset("seq-eurosat-rgb", new Data("seq-eurosat-rgb", 5, "clip", RRC, "resize-short:224,center-crop", 32),
                new Stage1(5, 30, 0.05, 10, 2, 200), new Stage2(5, 5, 0.1, 10, 2), 5);
        preset("seq-isic", new Data("seq-isic", 3, "imagenet", "resize-short:256,random-crop,flip", "resize:256,center-crop", 128),
                new Stage1(30, 5, 0.01, 50, 2, 500), new Stage2(30, 50, 0.01, 50, 5), 30);
        preset("seq-chestx", new Data("seq-chestx", 2, "imagenet", "resize", "resize", 128),
                new Stage1(10, 30, 0.05, 10, 2, 500), new Stage2(30, 5, 0.05, 10, 1), 30);
        preset("seq-cropdisease", new Data("seq-cropdisease", 7, "imagenet", RRC, "resize", 128),
                new Stage1(5, 30, 0.01, 10, 2, 500), new Stage2(5, 5, 0.001, 10, 5), 5);
        preset("seq-resisc45", new Data("seq-resisc45", 9, "imagenet", RRC, "resize:256,center-crop", 128),
                new Stage1(30, 10, 0.05, 10, 2, 500), new Stage2(30, 5, 0.01, 50, 1), 30);
    }

    /**
     * The preset names, in the paper's table order.
     *
     * @return the names
     */
    public static List<String> names() {
        return List.copyOf(PRESETS.keySet());
    }

    /**
     * The settings a preset fixes.
     *
     * @param name a preset's name
     * @return the settings
     * @throws IllegalArgumentException listing the known presets if the name is not one
     */
    public static Map<String, Object> get(String name) {
        Map<String, Object> p = PRESETS.get(name);
        if (p == null) throw new IllegalArgumentException("unknown preset '" + name + "'; known: " + String.join(", ", names()));
        return p;
    }

    /**
     * {@code settings} with the preset applied (source {@link RunSettings.Source#PRESET}).
     *
     * @param settings the settings to apply it to
     * @param name a preset's name
     * @return the new settings
     */
    public static RunSettings apply(RunSettings settings, String name) {
        return settings.withAll(get(name), RunSettings.Source.PRESET, name);
    }
}
