package io.starprompt.backend;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The kernel variants a backend offers per operation and the one currently selected.
 *
 * <p>The first variant listed for an op is the default. {@code -Dstarprompt.kernel.<op>=<variant>}
 * overrides it when the backend is created; {@link #select} changes it at run time (JMH, profiling).
 * An unknown op or variant name is an {@link IllegalArgumentException} listing the choices.
 */
public final class KernelRegistry {
    public static final String PROPERTY_PREFIX = "starprompt.kernel.";

    private final String backend;
    private final Map<String, List<String>> variants;
    private final Map<String, String> selected = new ConcurrentHashMap<>();

    public KernelRegistry(String backend, Map<String, List<String>> variants) {
        this.backend = backend;
        Map<String, List<String>> copy = new LinkedHashMap<>();
        variants.forEach((op, vs) -> {
            if (vs.isEmpty()) throw new IllegalArgumentException("op " + op + " has no variants");
            copy.put(op, List.copyOf(vs));
            selected.put(op, vs.get(0));
        });
        this.variants = Collections.unmodifiableMap(copy);
    }

    /** Applies every starprompt.kernel.* property found in props. */
    public KernelRegistry applyProperties(Properties props) {
        for (String key : props.stringPropertyNames()) {
            if (key.startsWith(PROPERTY_PREFIX)) {
                select(key.substring(PROPERTY_PREFIX.length()), props.getProperty(key).trim());
            }
        }
        return this;
    }

    /** All ops and their variants, default first. */
    public Map<String, List<String>> variants() {
        return variants;
    }

    /** The selected variant of op. */
    public String selected(String op) {
        String v = selected.get(op);
        if (v == null) throw unknownOp(op);
        return v;
    }

    /** Selects variant for op; returns the previously selected variant. */
    public String select(String op, String variant) {
        List<String> choices = variants.get(op);
        if (choices == null) throw unknownOp(op);
        if (!choices.contains(variant)) {
            throw new IllegalArgumentException("kernel variant '" + variant + "' of op '" + op
                    + "' does not exist on the " + backend + " backend; choose one of " + choices);
        }
        return selected.put(op, variant);
    }

    private IllegalArgumentException unknownOp(String op) {
        return new IllegalArgumentException("the " + backend + " backend has no op '" + op
                + "'; ops with selectable kernels: " + variants.keySet());
    }

    @Override
    public String toString() {
        return backend + " kernels " + selected;
    }
}
