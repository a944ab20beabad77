package io.starprompt.backend;

import java.util.ArrayList;
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
 *
 * <p>Users add variants of their own ({@link OpKernel}: GEMM, attention, retrieval) with
 * {@link #register} on one backend, or with {@link #registerGlobally} on every backend created
 * afterwards (which is what makes {@code -Dstarprompt.kernel.<op>=<name>} work for them). They are
 * listed after the built-in variants and selected by name like them.
 */
public final class KernelRegistry {
    /** Prefix of the system properties that select a variant: {@code starprompt.kernel.<op>}. */
    public static final String PROPERTY_PREFIX = "starprompt.kernel.";

    /** Variants registered for every backend created afterwards, per op, in registration order. */
    private static final Map<String, Map<String, OpKernel>> GLOBAL = new ConcurrentHashMap<>();

    private final String backend;
    private final Map<String, List<String>> variants = new LinkedHashMap<>();
    private final Map<String, Map<String, OpKernel>> user = new LinkedHashMap<>();
    private final Map<String, String> selected = new ConcurrentHashMap<>();
    /** What {@link #variants()} returns; rebuilt when a variant is registered. */
    private volatile Map<String, List<String>> view;
    /** The selected user kernel per op, or null while a built-in variant is selected. */
    private volatile OpKernel.Gemm gemm;
    private volatile OpKernel.Attention attention;
    private volatile OpKernel.Retrieval retrieval;

    /**
     * A registry of a backend's built-in variants, plus the variants registered globally so far
     * for the ops it has.
     *
     * @param backend  the backend's name, for messages
     * @param variants the built-in variants of each op, default first
     * @throws IllegalArgumentException if an op has no variants
     */
    public KernelRegistry(String backend, Map<String, List<String>> variants) {
        this.backend = backend;
        variants.forEach((op, vs) -> {
            if (vs.isEmpty()) throw new IllegalArgumentException("op " + op + " has no variants");
            this.variants.put(op, List.copyOf(vs));
            selected.put(op, vs.get(0));
        });
        synchronized (GLOBAL) {
            GLOBAL.forEach((op, kernels) -> {
                if (this.variants.containsKey(op)) kernels.forEach((name, k) -> add(name, k));
            });
        }
        view = snapshot();
    }

    /**
     * Applies every {@code starprompt.kernel.*} property found in props.
     *
     * @param props properties, usually {@link System#getProperties()}
     * @return this registry
     * @throws IllegalArgumentException if a property names an unknown op or variant
     */
    public KernelRegistry applyProperties(Properties props) {
        for (String key : props.stringPropertyNames()) {
            if (key.startsWith(PROPERTY_PREFIX)) {
                new BackendSpec.Choice(key.substring(PROPERTY_PREFIX.length()), props.getProperty(key).trim()).applyTo(this);
            }
        }
        return this;
    }

    /**
     * All ops and their variants: the built-in ones, default first, then the user-registered ones.
     *
     * @return an unmodifiable snapshot
     */
    public Map<String, List<String>> variants() {
        return view;
    }

    /**
     * Whether the backend offers a choice of kernels for an op.
     *
     * @param op an op name, e.g. "residual"
     * @return whether {@link #variants()} lists it
     */
    public boolean has(String op) {
        return variants.containsKey(op);
    }

    private Map<String, List<String>> snapshot() {
        Map<String, List<String>> m = new LinkedHashMap<>();
        variants.forEach((op, builtIn) -> {
            Map<String, OpKernel> mine = user.get(op);
            if (mine == null || mine.isEmpty()) {
                m.put(op, builtIn);
            } else {
                List<String> all = new ArrayList<>(builtIn);
                all.addAll(mine.keySet());
                m.put(op, List.copyOf(all));
            }
        });
        return Collections.unmodifiableMap(m);
    }

    /**
     * The selected variant of op.
     *
     * @param op an op with selectable kernels, e.g. "attention"
     * @return the variant's name
     * @throws IllegalArgumentException if the backend has no such op
     */
    public String selected(String op) {
        String v = selected.get(op);
        if (v == null) throw unknownOp(op);
        return v;
    }

    /**
     * Selects a variant of an op, built-in or user-registered.
     *
     * @param op      an op with selectable kernels
     * @param variant one of its variants
     * @return the previously selected variant
     * @throws IllegalArgumentException if the op or the variant does not exist on this backend
     */
    public synchronized String select(String op, String variant) {
        List<String> choices = variants.get(op);
        if (choices == null) throw unknownOp(op);
        OpKernel kernel = user.getOrDefault(op, Map.of()).get(variant);
        if (!choices.contains(variant) && kernel == null) {
            throw new IllegalArgumentException("kernel variant '" + variant + "' of op '" + op
                    + "' does not exist on the " + backend + " backend; choose one of " + variants().get(op));
        }
        String previous = selected.put(op, variant);
        switch (op) {
            case "gemm" -> gemm = (OpKernel.Gemm) kernel;
            case "attention" -> attention = (OpKernel.Attention) kernel;
            case "retrieval" -> retrieval = (OpKernel.Retrieval) kernel;
            default -> { }
        }
        return previous;
    }

    /**
     * Registers a variant of one's own on this backend, under a name not yet taken for its op.
     * It is not selected; {@link #select} it by name.
     *
     * @param variant the name to select it by
     * @param kernel  the implementation; its {@link OpKernel#op()} says which op it is for
     * @return this registry
     * @throws IllegalArgumentException if the backend has no such op or the name is taken
     */
    public synchronized KernelRegistry register(String variant, OpKernel kernel) {
        checkNew(variant, kernel);
        if (!variants.containsKey(kernel.op())) throw unknownOp(kernel.op());
        if (variants().get(kernel.op()).contains(variant)) {
            throw new IllegalArgumentException("kernel variant '" + variant + "' of op '" + kernel.op()
                    + "' already exists on the " + backend + " backend");
        }
        add(variant, kernel);
        view = snapshot();
        return this;
    }

    /**
     * Registers a variant of one's own on every backend created from now on that has its op (a
     * backend created before does not see it; use {@link #register} there). With it
     * {@code -Dstarprompt.kernel.<op>=<variant>} selects the variant when a backend is created.
     * The kernel receives the backend it runs on and may refuse a device it does not handle.
     *
     * @param variant the name to select it by
     * @param kernel  the implementation
     * @throws IllegalArgumentException if the name is already registered globally for that op
     */
    public static void registerGlobally(String variant, OpKernel kernel) {
        checkNew(variant, kernel);
        synchronized (GLOBAL) {
            Map<String, OpKernel> m = GLOBAL.computeIfAbsent(kernel.op(), k -> new LinkedHashMap<>());
            if (m.containsKey(variant)) {
                throw new IllegalArgumentException("kernel variant '" + variant + "' of op '" + kernel.op()
                        + "' is already registered globally");
            }
            m.put(variant, kernel);
        }
    }

    /**
     * Removes a globally registered variant; backends created before keep it.
     *
     * @param op      the op it was registered for
     * @param variant its name
     * @return whether it was registered
     */
    public static boolean unregisterGlobally(String op, String variant) {
        synchronized (GLOBAL) {
            Map<String, OpKernel> m = GLOBAL.get(op);
            return m != null && m.remove(variant) != null;
        }
    }

    /**
     * Whether a variant is one registered by a user (not built into the backend).
     *
     * @param op      the op
     * @param variant the variant's name
     * @return true for a user-registered variant of that op
     */
    public synchronized boolean isUserVariant(String op, String variant) {
        return user.getOrDefault(op, Map.of()).containsKey(variant);
    }

    private static void checkNew(String variant, OpKernel kernel) {
        if (kernel == null) throw new IllegalArgumentException("kernel is null");
        if (variant == null || variant.isBlank() || !variant.equals(variant.trim())) {
            throw new IllegalArgumentException("a kernel variant needs a name without surrounding blanks, got '"
                    + variant + "'");
        }
    }

    private void add(String variant, OpKernel kernel) {
        if (variants.get(kernel.op()).contains(variant)) return; // a built-in name wins over a global one
        user.computeIfAbsent(kernel.op(), k -> new LinkedHashMap<>()).put(variant, kernel);
    }

    /** The selected user GEMM, or null while a built-in variant is selected. */
    OpKernel.Gemm userGemm() {
        return gemm;
    }

    /** The selected user attention, or null while a built-in variant is selected. */
    OpKernel.Attention userAttention() {
        return attention;
    }

    /**
     * The kernel that runs attention on these inputs in place of the backend's own: the selected
     * user kernel; else, for inputs with a residual while {@code residual=naive} is selected, the
     * unfused residual composition; else null (the backend's built-in attention kernel).
     */
    OpKernel.Attention attentionKernel(AttentionInputs in) {
        if (attention != null) return attention;
        if (in.residual() != null && UnfusedResidual.VARIANT.equals(selected.get("residual"))) return UnfusedResidual.KERNEL;
        return null;
    }

    /** The selected user retrieval, or null while a built-in variant is selected. */
    OpKernel.Retrieval userRetrieval() {
        return retrieval;
    }

    /** The backend's name, for messages. */
    String backend() {
        return backend;
    }

    /** The selected variant of op, or "-" if the backend offers no choice for it (for the profiler). */
    String label(String op) {
        String v = selected.get(op);
        return v == null ? "-" : v;
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
