package io.starprompt.run;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
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

    /** Shorthand: stage-1 epochs, λ1, lr_gr1, E1, MC1, EM iterations. */
    private record Stage1(int epochs, double lambda, double grLr, int grEpochs, int mc, int emIters) {}

    /** Shorthand: stage-2 epochs, batch, λ2, lr_gr2, E2, MC2. */
    private record Stage2(int epochs, int batch, double lambda, double grLr, int grEpochs, int mc) {}

    private static void preset(String name, String benchmark, int tasks, String norm, String train, String test,
            Stage1 s1, Stage2 s2) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("benchmark", benchmark);
        m.put("tasks", tasks);
        m.put("norm", norm);
        m.put("train-transform", train);
        m.put("test-transform", test);
        m.put("stage1.epochs", s1.epochs());
        m.put("stage1.lambda", s1.lambda());
        m.put("stage1.gr-lr", s1.grLr());
        m.put("stage1.gr-epochs", s1.grEpochs());
        m.put("stage1.mc", s1.mc());
        m.put("stage1.em-iters", s1.emIters());
        m.put("stage2.epochs", s2.epochs());
        m.put("batch", s2.batch());
        m.put("stage2.lambda", s2.lambda());
        m.put("stage2.gr-lr", s2.grLr());
        m.put("stage2.gr-epochs", s2.grEpochs());
        m.put("stage2.mc", s2.mc());
        PRESETS.put(name, Collections.unmodifiableMap(m));
    }

    private static final String RRC = "random-resized-crop,flip";

    static {
        preset("seq-cifar100", "seq-cifar100-224", 10, "imagenet", RRC, "resize",
                new Stage1(20, 10, 0.05, 10, 1, 500), new Stage2(20, 128, 2, 0.001, 10, 1));
        preset("seq-imagenet-r", "seq-imagenet-r", 10, "none", RRC, "resize:256,center-crop",
                new Stage1(20, 30, 0.05, 10, 2, 200), new Stage2(5, 16, 10, 0.001, 10, 1));
        preset("seq-cub200", "seq-cub200", 10, "imagenet", "resize:300,random-crop,flip", "resize-short:256,center-crop",
                new Stage1(50, 30, 0.05, 50, 5, 500), new Stage2(50, 128, 30, 0.01, 10, 5));
        // Cars images are stored pre-resized (shorter side 224, centre crop); raw images get that first.
        preset("seq-cars196", "seq-cars196", 10, "none", "resize-short:224,center-crop,flip",
                "resize-short:224,center-crop",
                new Stage1(50, 30, 0.01, 10, 2, 500), new Stage2(50, 128, 10, 0.01, 10, 1));
        preset("seq-eurosat-rgb", "seq-eurosat-rgb", 5, "clip", RRC, "resize-short:224,center-crop",
                new Stage1(5, 30, 0.05, 10, 2, 200), new Stage2(5, 32, 5, 0.1, 10, 2));
        preset("seq-isic", "seq-isic", 3, "imagenet", "resize-short:256,random-crop,flip", "resize:256,center-crop",
                new Stage1(30, 5, 0.01, 50, 2, 500), new Stage2(30, 128, 50, 0.01, 50, 5));
        preset("seq-chestx", "seq-chestx", 2, "imagenet", "resize", "resize",
                new Stage1(10, 30, 0.05, 10, 2, 500), new Stage2(30, 128, 5, 0.05, 10, 1));
        preset("seq-cropdisease", "seq-cropdisease", 7, "imagenet", RRC, "resize",
                new Stage1(5, 30, 0.01, 10, 2, 500), new Stage2(5, 128, 5, 0.001, 10, 5));
        preset("seq-resisc45", "seq-resisc45", 9, "imagenet", RRC, "resize:256,center-crop",
                new Stage1(30, 10, 0.05, 10, 2, 500), new Stage2(30, 128, 5, 0.01, 50, 1));
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
