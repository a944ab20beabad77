package io.starprompt.run;

import io.starprompt.util.Json;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Every setting of a continual-learning run, by name, with where each value came from. One
 * namespace serves the command line ({@code --set stage2.lambda=2}), config files
 * ({@code --config run.json}, a flat JSON object of the same names) and presets, so a run is fully
 * described by its resolved settings, which are printed and saved with the results.
 *
 * <p>Values are layered: {@link Source#DEFAULT} &lt; {@link Source#PRESET} &lt;
 * {@link Source#CONFIG_FILE} &lt; {@link Source#COMMAND_LINE}; a later layer replaces an earlier
 * one. Immutable: every {@code with} returns a new object.
 */
public final class RunSettings {
    /** Where a value came from, in increasing precedence. */
    public enum Source {
        /** The built-in default. */
        DEFAULT,
        /** A preset ({@code --preset}). */
        PRESET,
        /** A config file ({@code --config}). */
        CONFIG_FILE,
        /** The command line ({@code --set} or an option). */
        COMMAND_LINE
    }

    /** The value kinds a setting can take. */
    public enum Type {
        /** A 32-bit integer. */
        INT,
        /** A 64-bit integer. */
        LONG,
        /** A float. */
        FLOAT,
        /** Text. */
        STRING,
        /** true or false. */
        BOOLEAN
    }

    /**
     * One known setting.
     *
     * @param name         dotted name, e.g. {@code stage2.lambda}
     * @param type         value kind
     * @param defaultValue value when nothing sets it (null: unset)
     * @param min          smallest allowed number (ignored for strings and booleans)
     * @param choices      allowed strings (empty: any)
     * @param help         one line for {@code --help} and the printed configuration
     */
    public record Key(String name, Type type, Object defaultValue, double min, List<String> choices, String help) {}

    /** A resolved value and its origin (the preset's name or the config file's path in {@code detail}). */
    public record Entry(Object value, Source source, String detail) {}

    private static final Map<String, Key> KEYS = new LinkedHashMap<>();

    private static void key(String name, Type type, Object def, double min, String help, String... choices) {
        KEYS.put(name, new Key(name, type, def, min, List.of(choices), help));
    }

    static {
        key("seed", Type.LONG, 1993L, Long.MIN_VALUE, "run seed: class order, initialisation, shuffling, augmentation");
        key("tasks", Type.INT, 0, 0, "number of equal tasks when no class order fixes them (0: the preset's)");
        key("class-order", Type.STRING, "auto", 0, "auto: the built-in order of the benchmark and seed when there"
                + " is one, else a seeded permutation; identity: natural order", "auto", "builtin", "seeded", "identity");
        key("benchmark", Type.STRING, "", 0, "class-order table of the built-in orders (e.g. seq-cifar100-224)");
        key("data.path", Type.STRING, "", 0, "the dataset (a folder or an archive)");
        key("model.vit", Type.STRING, "", 0, "timm ViT weights (safetensors)");
        key("model.vit-heads", Type.INT, 12, 1, "attention heads of the ViT");
        key("model.clip", Type.STRING, "", 0, "HF CLIP weights (safetensors)");
        key("model.clip-config", Type.STRING, "", 0, "HF CLIP config.json");
        key("model.vocab", Type.STRING, "", 0, "CLIP tokenizer vocab.json");
        key("model.merges", Type.STRING, "", 0, "CLIP tokenizer merges.txt");
        key("data.format", Type.STRING, "auto", 0, "dataset layout (auto: recognised from the path)");
        key("data.class-names", Type.STRING, "", 0, "text file, one class name per line, overriding the dataset's");
        key("data.split-file", Type.STRING, "", 0, "CSV or JSON split file (path,label,split) of a class-folder dataset");
        key("data.train-fraction", Type.FLOAT, 0.8, 0, "train share of each class when a class-folder dataset has no"
                + " split file (seeded stratified split)");
        key("image-size", Type.INT, 224, 1, "ViT (and CLIP) input side in pixels");
        key("norm", Type.STRING, "imagenet", 0, "ViT input normalisation", "imagenet", "clip", "none");
        key("train-transform", Type.STRING, "random-resized-crop,flip", 0, "training augmentation, steps separated by"
                + " commas (see TransformSpec)");
        key("test-transform", Type.STRING, "resize-short,center-crop", 0, "test transform (see TransformSpec)");
        key("threads", Type.INT, Math.max(1, Math.min(8, Runtime.getRuntime().availableProcessors())), 1,
                "image decoding threads");
        key("eval-batch", Type.INT, 128, 1, "inference batch size");
        key("precision", Type.STRING, "fp32", 0, "storage of the frozen ViT and CLIP: fp32; bf16 (weights and"
                + " activations in bf16, f32 accumulation, everything trainable f32); tf32 (fp32 where no TF32 GEMM"
                + " exists, which is every backend now)", "fp32", "tf32", "bf16");
        key("batch", Type.INT, 128, 1, "training batch size of both stages");
        key("stage1.epochs", Type.INT, 5, 0, "first-stage epochs per task");
        key("stage1.lr", Type.FLOAT, 0.002, 0, "first-stage SGD learning rate");
        key("stage1.lambda", Type.FLOAT, 30.0, 0, "λ1, first-stage orthogonality weight");
        key("stage1.gr-lr", Type.FLOAT, 0.05, 0, "lr_gr1, learning rate of the first-stage key alignment");
        key("stage1.gr-epochs", Type.INT, 10, 0, "E1, epochs of the first-stage key alignment");
        key("stage1.mc", Type.INT, 1, 1, "MC1, passes over a task's images for the first-stage mixtures");
        key("stage1.em-iters", Type.INT, 200, 0, "EM iterations of the first-stage mixtures");
        key("stage2.epochs", Type.INT, 5, 0, "second-stage epochs per task");
        key("stage2.lr", Type.FLOAT, 0.001, 0, "second-stage Adam learning rate");
        key("stage2.lambda", Type.FLOAT, 10.0, 0, "λ2, second-stage orthogonality weight");
        key("stage2.gr-lr", Type.FLOAT, 0.001, 0, "lr_gr2, learning rate of the head alignment");
        key("stage2.gr-epochs", Type.INT, 10, 0, "E2, head alignment epochs (task t: E2 + 5t)");
        key("stage2.mc", Type.INT, 1, 1, "MC2, augmented passes for the second-stage mixtures");
        key("stage2.em-iters", Type.INT, 500, 0, "EM iterations of the second-stage mixtures");
        key("baselines", Type.STRING, "zero-shot,first-stage", 0, "baselines run beside STAR-Prompt, comma"
                + " separated (zero-shot, first-stage, finetune, joint) or none");
        key("method", Type.STRING, "starprompt", 0, "the method train runs before the baselines (see train --help)");
        key("l2p.epochs", Type.INT, 5, 0, "L2P epochs per task");
        key("l2p.lr", Type.FLOAT, 0.03, 0, "L2P Adam learning rate per 256 images (rescaled to the batch size)");
        key("l2p.pull-weight", Type.FLOAT, 0.1, 0, "L2P λ, weight of the key-pull term");
        key("l2p.batchwise", Type.BOOLEAN, false, 0, "L2P batch-wise prompt selection (training and evaluation)");
        key("dualprompt.epochs", Type.INT, 5, 0, "DualPrompt epochs per task");
        key("dualprompt.lr", Type.FLOAT, 0.03, 0, "DualPrompt Adam learning rate per 256 images (rescaled to the batch size)");
        key("coda-prompt.epochs", Type.INT, 20, 0, "CODA-Prompt epochs per task");
        key("coda-prompt.lr", Type.FLOAT, 0.001, 0, "CODA-Prompt Adam learning rate (cosine schedule over the epochs)");
        key("coda-prompt.mu", Type.FLOAT, 0, 0, "CODA-Prompt weight of the orthogonality loss (0: off)");
    }

    private final Map<String, Entry> values;

    private RunSettings(Map<String, Entry> values) {
        this.values = Collections.unmodifiableMap(values);
    }

    /**
     * Every key at its default.
     *
     * @return the defaults
     */
    public static RunSettings defaults() {
        Map<String, Entry> v = new LinkedHashMap<>();
        KEYS.forEach((name, k) -> v.put(name, new Entry(k.defaultValue(), Source.DEFAULT, "")));
        return new RunSettings(v);
    }

    /**
     * The known keys in their documented order.
     *
     * @return the keys
     */
    public static List<Key> keys() {
        return List.copyOf(KEYS.values());
    }

    /**
     * This object with one value replaced; text values are parsed by the key's type.
     *
     * @param name the key
     * @param value the value, or its text
     * @param source where it came from
     * @param detail more on where it came from (a file name), or null
     * @return the new settings
     * @throws IllegalArgumentException naming the key if it is unknown or the value invalid
     */
    public RunSettings with(String name, Object value, Source source, String detail) {
        Key k = KEYS.get(name);
        if (k == null) throw new IllegalArgumentException("unknown setting '" + name + "'" + suggestion(name));
        Map<String, Entry> v = new LinkedHashMap<>(values);
        v.put(name, new Entry(convert(k, value), source, detail == null ? "" : detail));
        return new RunSettings(v);
    }

    /**
     * This object with every entry of {@code overlay} applied, as {@link #with}.
     *
     * @param overlay values by key
     * @param source where they came from
     * @param detail more on where they came from, or null
     * @return the new settings
     */
    public RunSettings withAll(Map<String, ?> overlay, Source source, String detail) {
        RunSettings s = this;
        for (Map.Entry<String, ?> e : overlay.entrySet()) s = s.with(e.getKey(), e.getValue(), source, detail);
        return s;
    }

    /**
     * Applies {@code name=value} assignments from the command line.
     *
     * @param assignments the assignments
     * @return the new settings
     */
    public RunSettings withAssignments(List<String> assignments) {
        RunSettings s = this;
        for (String a : assignments) {
            int eq = a.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("--set expects name=value, got '" + a + "'");
            s = s.with(a.substring(0, eq).trim(), a.substring(eq + 1).trim(), Source.COMMAND_LINE, "");
        }
        return s;
    }

    /**
     * Applies a config file: a flat JSON object whose keys are setting names.
     *
     * @param file the file
     * @return the new settings
     * @throws IllegalArgumentException naming the file and the key for anything it cannot apply
     * @throws IOException if the file cannot be read
     */
    public RunSettings withConfigFile(Path file) throws IOException {
        Object root;
        String text;
        try {
            text = Files.readString(file);
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException(file + ": not UTF-8 text, so not a JSON settings file", e);
        }
        try {
            root = Json.parse(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        if (!(root instanceof Map<?, ?> m)) throw new IllegalArgumentException(file + ": expected a JSON object of settings");
        RunSettings s = this;
        for (Map.Entry<?, ?> e : m.entrySet()) {
            try {
                Key k = KEYS.get(e.getKey().toString());
                if (k != null && k.type() == Type.STRING && !(e.getValue() instanceof String)) {
                    throw new IllegalArgumentException("setting " + k.name() + " must be a JSON string, got "
                            + Json.write(e.getValue()).strip());
                }
                s = s.with(e.getKey().toString(), e.getValue(), Source.CONFIG_FILE, file.toString());
            } catch (IllegalArgumentException bad) {
                throw new IllegalArgumentException(file + ": " + bad.getMessage(), bad);
            }
        }
        return s;
    }

    /**
     * The entry of a key.
     *
     * @param name the key
     * @return its entry
     */
    public Entry entry(String name) {
        Entry e = values.get(name);
        if (e == null) throw new IllegalArgumentException("unknown setting '" + name + "'");
        return e;
    }

    /**
     * The value of an int setting.
     *
     * @param name the key
     * @return its value
     */
    public int getInt(String name) {
        return ((Number) entry(name).value()).intValue();
    }

    /**
     * The value of a long setting.
     *
     * @param name the key
     * @return its value
     */
    public long getLong(String name) {
        return ((Number) entry(name).value()).longValue();
    }

    /**
     * The value of a float setting.
     *
     * @param name the key
     * @return its value
     */
    public float getFloat(String name) {
        return ((Number) entry(name).value()).floatValue();
    }

    /**
     * The value of a string setting.
     *
     * @param name the key
     * @return its value
     */
    public String getString(String name) {
        return (String) entry(name).value();
    }

    /**
     * The value of a boolean setting.
     *
     * @param name the key
     * @return its value
     */
    public boolean getBoolean(String name) {
        return (Boolean) entry(name).value();
    }

    /**
     * Writes the values as a JSON object of name → value ({@link #withConfigFile} reads it back).
     *
     * @param file the file
     * @throws IOException if it cannot be written
     */
    public void writeJson(Path file) throws IOException {
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        Files.writeString(tmp, Json.write(asMap()));
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Name → value, in key order: what results.json records.
     *
     * @return the values
     */
    public Map<String, Object> asMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        values.forEach((k, e) -> m.put(k, e.value()));
        return m;
    }

    /**
     * The resolved settings as aligned lines, each with its origin when it is not the default.
     *
     * @return the lines
     */
    public List<String> describe() {
        int width = values.keySet().stream().mapToInt(String::length).max().orElse(0);
        List<String> lines = new ArrayList<>();
        values.forEach((k, e) -> {
            String origin = switch (e.source()) {
                case DEFAULT -> "";
                case PRESET -> "  (preset " + e.detail() + ")";
                case CONFIG_FILE -> "  (" + e.detail() + ")";
                case COMMAND_LINE -> "  (command line)";
            };
            lines.add(String.format(Locale.ROOT, "  %-" + width + "s = %s%s", k, e.value(), origin));
        });
        return lines;
    }

    private static Object convert(Key k, Object value) {
        String where = "setting " + k.name();
        if (value == null) throw new IllegalArgumentException(where + " needs a value");
        Object v = switch (k.type()) {
            case INT -> (int) integer(where, value, Integer.MIN_VALUE, Integer.MAX_VALUE);
            case LONG -> integer(where, value, Long.MIN_VALUE, Long.MAX_VALUE);
            case FLOAT -> number(where, value);
            case BOOLEAN -> bool(where, value);
            case STRING -> value.toString();
        };
        if (v instanceof Number n && n.doubleValue() < k.min()) {
            throw new IllegalArgumentException(where + " must be ≥ " + fmt(k.min()) + ", got " + value);
        }
        if (v instanceof String s && !k.choices().isEmpty() && !k.choices().contains(s.toLowerCase(Locale.ROOT))) {
            throw new IllegalArgumentException(where + " must be one of " + k.choices() + ", got '" + s + "'");
        }
        return v instanceof String s && !k.choices().isEmpty() ? s.toLowerCase(Locale.ROOT) : v;
    }

    private static long integer(String where, Object value, long min, long max) {
        double d = number(where, value);
        if (d != Math.rint(d) || d < min || d > max) throw new IllegalArgumentException(where + " must be an integer, got " + value);
        return (long) d;
    }

    private static double number(String where, Object value) {
        if (value instanceof Number n) return finite(where, n.doubleValue(), value);
        try {
            return finite(where, Double.parseDouble(value.toString().trim()), value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(where + " must be a number, got '" + value + "'");
        }
    }

    private static double finite(String where, double d, Object raw) {
        if (!Double.isFinite(d)) throw new IllegalArgumentException(where + " must be finite, got " + raw);
        return d;
    }

    private static boolean bool(String where, Object value) {
        if (value instanceof Boolean b) return b;
        return switch (value.toString().trim().toLowerCase(Locale.ROOT)) {
            case "true", "yes", "on", "1" -> true;
            case "false", "no", "off", "0" -> false;
            default -> throw new IllegalArgumentException(where + " must be true or false, got '" + value + "'");
        };
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }

    /** " (did you mean x?)" for the known key sharing the longest prefix, or "". */
    private static String suggestion(String name) {
        String best = null;
        int bestLen = 2;
        for (String k : KEYS.keySet()) {
            int n = 0;
            while (n < Math.min(k.length(), name.length()) && k.charAt(n) == name.charAt(n)) n++;
            if (n > bestLen) {
                best = k;
                bestLen = n;
            }
        }
        return best == null ? "; see the list of settings in --help" : " (did you mean " + best + "?)";
    }
}
