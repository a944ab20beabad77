package io.starprompt.cli.report;

import io.starprompt.backend.Backend;
import io.starprompt.cl.AccuracyMatrix;
import io.starprompt.tensor.Device;
import io.starprompt.util.Json;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Everything the reports of one run show: the resolved configuration, the software versions, the
 * backend, and the results of one or more methods. The first method is the main one (the one
 * whose accuracy matrix is drawn); the others are baselines shown next to it.
 *
 * <p>The configuration keeps the caller's key order, and its values must be writable by
 * {@link Json#write} (null, booleans, numbers, strings, enums, lists/arrays/maps of these):
 * convert paths and other objects to strings first. The report holds its accuracy matrices by
 * reference; the writers read them when they run.
 *
 * @param configuration name → value of every setting the run used, in display order
 * @param versions library, Java and operating-system versions
 * @param backend the compute backend that ran the job
 * @param methods per-method results, main method first; names are unique
 */
public record RunReport(Map<String, Object> configuration, Versions versions, BackendInfo backend,
        List<MethodResult> methods) {

    /**
     * Checks the parts and copies the configuration and the method list (order kept, unmodifiable).
     *
     * @param configuration the run's settings, by name
     * @param versions library, Java and OS versions
     * @param backend the backend the run used
     * @param methods the results of every method, the main one first
     */
    public RunReport {
        Objects.requireNonNull(configuration, "configuration");
        Objects.requireNonNull(versions, "versions");
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(methods, "methods");
        // LinkedHashMap, not Map.copyOf: the caller's order is the display order, and values may be null.
        configuration = Collections.unmodifiableMap(new LinkedHashMap<>(configuration));
        checkWritable(configuration);
        methods = List.copyOf(methods);
        if (methods.isEmpty()) throw new IllegalArgumentException("run report: no method results");
        checkUniqueNames(methods);
    }

    /**
     * The method whose accuracy matrix the report draws: the first one.
     *
     * @return the main method's result
     */
    public MethodResult mainMethod() {
        return methods.get(0);
    }

    private static void checkWritable(Map<String, Object> configuration) {
        try {
            Json.write(configuration);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("run report: configuration is not JSON-writable: " + e.getMessage(), e);
        }
    }

    private static void checkUniqueNames(List<MethodResult> methods) {
        Set<String> names = new HashSet<>();
        for (MethodResult m : methods) {
            if (!names.add(m.name())) throw new IllegalArgumentException("run report: method '" + m.name() + "' twice");
        }
    }

    /**
     * Software versions of a run.
     *
     * @param library version of this library ("unknown" when not run from the built jar)
     * @param java Java runtime version and VM
     * @param os operating system name and version
     * @param arch processor architecture as Java reports it
     */
    public record Versions(String library, String java, String os, String arch) {
        /**
         * Checks that no part is null.
         *
         * @param library the library version
         * @param java the Java version
         * @param os the operating system
         * @param arch the processor architecture
         */
        public Versions {
            Objects.requireNonNull(library, "library");
            Objects.requireNonNull(java, "java");
            Objects.requireNonNull(os, "os");
            Objects.requireNonNull(arch, "arch");
        }

        /**
         * The versions of this process. The library version comes from the jar manifest, which
         * classes loaded from a build folder (tests, IDEs) do not have.
         *
         * @return the versions
         */
        public static Versions current() {
            String library = AccuracyMatrix.class.getPackage().getImplementationVersion();
            String java = System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")";
            String os = System.getProperty("os.name") + " " + System.getProperty("os.version");
            return new Versions(library == null ? "unknown" : library, java, os, System.getProperty("os.arch"));
        }
    }

    /**
     * The backend a run used.
     *
     * @param name backend name as the library reports it ("cpu", "cuda", "reference")
     * @param device human-readable description of the device
     */
    public record BackendInfo(String name, String device) {
        /**
         * Checks that no part is null.
         *
         * @param name the backend's name
         * @param device its device, in words
         */
        public BackendInfo {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(device, "device");
        }

        /**
         * Name and device kind of backend; on the host the device also gives the processors
         * available to the JVM, the figure that bounds CPU throughput.
         *
         * @param backend the backend
         * @return its description
         */
        public static BackendInfo of(Backend backend) {
            String device = backend.device().name();
            if (backend.device() == Device.CPU) {
                device += ", " + Runtime.getRuntime().availableProcessors() + " processors";
            }
            return new BackendInfo(backend.name(), device);
        }
    }
}
