package io.starprompt.backend;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The public ops of {@link Backend}, found by reflection, and the one check that a test suite has
 * cases for every one of them: the boundary cases of NativeBoundaryTest and the parity cases of
 * OpParityTest both go through {@link #uncovered}, so that a new op fails both until it has cases.
 */
final class PublicOps {
    /** Public methods of Backend that are not ops on tensors. */
    private static final Set<String> NOT_OPS = Set.of("name()", "device()", "kernels()", "supports(DType)",
            "synchronize()", "close()", "isClosed()", "memoryStats()", "toString()", "profiler()");

    private PublicOps() {}

    /** "gemm(Tensor, boolean, Tensor, boolean, Tensor, float, float)" and so on. */
    static String signature(Method m) {
        return m.getName() + "(" + Arrays.stream(m.getParameterTypes()).map(Class::getSimpleName)
                .collect(Collectors.joining(", ")) + ")";
    }

    /** Every public instance op of Backend, sorted by signature. */
    static List<Method> all() {
        List<Method> ops = new ArrayList<>();
        for (Method m : Backend.class.getDeclaredMethods()) {
            if (Modifier.isPublic(m.getModifiers()) && !Modifier.isStatic(m.getModifiers()) && !m.isSynthetic()
                    && !NOT_OPS.contains(signature(m))) {
                ops.add(m);
            }
        }
        ops.sort((a, b) -> signature(a).compareTo(signature(b)));
        return ops;
    }

    /**
     * What a suite lacks: one line per op with no case, or without a kind of case it requires, and
     * one per key that names no op (a case left behind by a rename).
     *
     * @param key      how the suite names an op: by signature, or by name where overloads share cases
     * @param have     per op key, the kinds of case the suite has (any non-empty set counts as a case)
     * @param required per op, the kinds of case it must have (empty: any case will do)
     * @return the gaps, empty if every op is covered
     */
    static List<String> uncovered(Function<Method, String> key, Map<String, Set<String>> have,
            Function<Method, Set<String>> required) {
        List<String> gaps = new ArrayList<>();
        Set<String> keys = new TreeSet<>();
        for (Method m : all()) {
            String k = key.apply(m);
            if (!keys.add(k)) continue;
            Set<String> kinds = have.getOrDefault(k, Set.of());
            Set<String> lacking = new TreeSet<>(required.apply(m));
            lacking.removeAll(kinds);
            if (kinds.isEmpty()) gaps.add(k + ": no case at all");
            else if (!lacking.isEmpty()) gaps.add(k + ": no " + lacking + " case");
        }
        Set<String> stale = new TreeSet<>(have.keySet());
        stale.removeAll(keys);
        stale.forEach(s -> gaps.add(s + ": cases for an op that does not exist (renamed?)"));
        return gaps;
    }
}
