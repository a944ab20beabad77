package io.starprompt.backend;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A backend and the kernel variants to select on it, as written on a command line, in a system
 * property or in a benchmark parameter. The one grammar every such string follows:
 *
 * <pre>
 * spec   = backend [ ":" choice { "," choice } ]
 * choice = variant          every op that offers this variant is switched to it, e.g. cpu:naive
 *        | op "=" variant   that op only, e.g. cpu:attention=naive,residual=naive
 * </pre>
 *
 * <p>The backend is one of {@link Backends#NAMES} (case and surrounding blanks ignored); op and
 * variant names are taken as written. Choices are applied in order, so a later one wins for an op
 * that two name. A malformed string is an {@link IllegalArgumentException} that quotes it and says
 * what was expected; a variant or op the backend lacks is reported when the spec is applied, with
 * the backend's choices.
 *
 * @param backend the backend's name, lower case
 * @param choices the kernel choices, in the order written
 */
public record BackendSpec(String backend, List<Choice> choices) {
    /**
     * A spec; see {@link #parse} for the rules.
     *
     * @param backend one of {@link Backends#NAMES}
     * @param choices the kernel choices, in order
     * @throws IllegalArgumentException if the backend is unknown or a choice is null
     */
    public BackendSpec {
        if (backend == null || !Backends.NAMES.contains(backend)) {
            throw new IllegalArgumentException("unknown backend '" + backend + "'; choose one of " + Backends.NAMES);
        }
        if (choices == null || choices.stream().anyMatch(java.util.Objects::isNull)) throw new IllegalArgumentException("kernel choices contain null");
        choices = List.copyOf(choices);
    }

    /**
     * One kernel choice: a variant for one op, or for every op of the backend that offers it.
     *
     * @param op      the op, or null for every op that offers the variant
     * @param variant the variant's name
     */
    public record Choice(String op, String variant) {
        /**
         * A choice; names must be non-empty and free of the spec's separators and blanks.
         *
         * @param op      the op, or null for every op that offers the variant
         * @param variant the variant's name
         * @throws IllegalArgumentException if a name is empty or contains ':', ',', '=' or a blank
         */
        public Choice {
            if (op != null) checkName("op", op);
            checkName("variant", variant);
        }

        /**
         * Parses {@code variant} or {@code op=variant}, e.g. {@code naive} or {@code attention=naive}.
         *
         * @param text the choice
         * @return the choice
         * @throws IllegalArgumentException if the text is not of that form
         */
        public static Choice parse(String text) {
            if (text == null) throw new IllegalArgumentException("kernel choice is null");
            String t = text.trim();
            int eq = t.indexOf('=');
            if (eq < 0) return new Choice(null, t);
            if (t.indexOf('=', eq + 1) >= 0) {
                throw new IllegalArgumentException("kernel choice '" + text + "' has more than one '='; write op=variant");
            }
            return new Choice(t.substring(0, eq).trim(), t.substring(eq + 1).trim());
        }

        /**
         * Selects the variant on a registry.
         *
         * @param kernels the backend's kernels
         * @throws IllegalArgumentException if the op is unknown, the variant is not one of the op's,
         *                                  or (for every op) no op offers the variant
         */
        public void applyTo(KernelRegistry kernels) {
            if (op != null) {
                kernels.select(op, variant);
                return;
            }
            List<String> offering = new ArrayList<>();
            kernels.variants().forEach((o, vs) -> {
                if (vs.contains(variant)) offering.add(o);
            });
            if (offering.isEmpty()) {
                Set<String> all = new LinkedHashSet<>();
                kernels.variants().values().forEach(all::addAll);
                throw new IllegalArgumentException("no op of the " + kernels.backend() + " backend has a kernel variant '"
                        + variant + "'; its variants: " + all);
            }
            offering.forEach(o -> kernels.select(o, variant));
        }

        @Override
        public String toString() {
            return op == null ? variant : op + "=" + variant;
        }

        private static void checkName(String what, String name) {
            if (name == null || name.isEmpty()) throw new IllegalArgumentException("empty " + what + " name in a kernel choice");
            for (char c : name.toCharArray()) {
                if (c == ':' || c == ',' || c == '=' || Character.isWhitespace(c)) {
                    throw new IllegalArgumentException(what + " name '" + name + "' contains '" + c + "'");
                }
            }
        }
    }

    /**
     * Parses a spec such as {@code cpu}, {@code cpu:naive} or {@code cuda:attention=naive,residual=naive}.
     *
     * @param spec the text
     * @return the spec
     * @throws IllegalArgumentException if the text is empty, names an unknown backend, or a choice
     *                                  is empty or malformed; the message quotes the text and lists
     *                                  the backends
     */
    public static BackendSpec parse(String spec) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("empty backend spec; write backend[:variant|op=variant,...] with backend one of "
                    + Backends.NAMES);
        }
        int colon = spec.indexOf(':');
        String name = (colon < 0 ? spec : spec.substring(0, colon)).trim().toLowerCase(Locale.ROOT);
        if (!Backends.NAMES.contains(name)) {
            throw new IllegalArgumentException("unknown backend '" + spec.trim() + "'; choose one of " + Backends.NAMES
                    + ", optionally followed by :variant or :op=variant,...");
        }
        if (colon < 0) return new BackendSpec(name, List.of());
        List<Choice> choices = new ArrayList<>();
        for (String part : spec.substring(colon + 1).split(",", -1)) {
            try {
                choices.add(Choice.parse(part));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("backend spec '" + spec.trim() + "': " + e.getMessage(), e);
            }
        }
        return new BackendSpec(name, choices);
    }

    /**
     * Applies every choice, in order, to a backend's kernels.
     *
     * @param kernels the registry of a backend named {@link #backend()}
     * @throws IllegalArgumentException if a choice names an op or variant the backend lacks
     */
    public void applyTo(KernelRegistry kernels) {
        choices.forEach(c -> c.applyTo(kernels));
    }

    /**
     * Creates the backend with the choices applied; same as {@link Backends#create(BackendSpec)}.
     *
     * @return a new backend; the caller closes it
     * @throws IllegalArgumentException if a choice names an op or variant the backend lacks
     */
    public Backend open() {
        return Backends.create(this);
    }

    // The form parse reads, so that a spec printed in a report can be given back on a command line.
    @Override
    public String toString() {
        if (choices.isEmpty()) return backend;
        StringBuilder sb = new StringBuilder(backend).append(':');
        for (int i = 0; i < choices.size(); i++) sb.append(i == 0 ? "" : ",").append(choices.get(i));
        return sb.toString();
    }
}
