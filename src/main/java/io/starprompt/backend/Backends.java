package io.starprompt.backend;

import io.starprompt.backend.cpu.CpuBackend;
import io.starprompt.backend.cuda.CudaBackend;
import io.starprompt.backend.reference.ReferenceBackend;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates backends by name. {@code -Dstarprompt.backend=reference|cpu|cuda}, optionally with
 * kernel choices ({@link BackendSpec}, e.g. {@code cpu:naive}), picks one; without
 * it the CUDA backend is used when a device is usable, else the CPU backend. One log line
 * says which backend was chosen and why.
 */
public final class Backends {
    /** The system property that picks the backend, a {@link BackendSpec}: {@code -Dstarprompt.backend=cpu:naive}. */
    public static final String PROPERTY = "starprompt.backend";
    /** The backends' names. */
    public static final List<String> NAMES = List.of("reference", "cpu", "cuda");
    private static final Logger LOG = LoggerFactory.getLogger(Backends.class);

    private Backends() {}

    /**
     * The backend named by the system property, or the best available one.
     *
     * @return a new backend; the caller closes it
     */
    public static Backend create() {
        String requested = System.getProperty(PROPERTY);
        if (requested != null && !requested.isBlank()) {
            Backend b = create(requested);
            LOG.info("starprompt backend: {} (requested by -D{}={})", b.name(), PROPERTY, requested.trim());
            return b;
        }
        Optional<String> cudaProblem = CudaBackend.unavailableReason();
        if (cudaProblem.isEmpty()) {
            LOG.info("starprompt backend: cuda (a CUDA device is usable)");
            return new CudaBackend();
        }
        LOG.info("starprompt backend: cpu (cuda unavailable: {})", cudaProblem.get());
        return new CpuBackend();
    }

    /**
     * The backend a spec names, with its kernel choices applied: {@code cpu}, {@code cpu:naive},
     * {@code cuda:attention=naive,residual=naive} ({@link BackendSpec} gives the grammar). A
     * malformed spec or an unknown backend, op or variant is an IllegalArgumentException listing
     * the choices.
     *
     * @param spec the backend's name, optionally followed by kernel choices
     * @return a new backend; the caller closes it
     */
    public static Backend create(String spec) {
        return create(BackendSpec.parse(spec));
    }

    /**
     * The backend a parsed spec names, with its kernel choices applied.
     *
     * @param spec the backend and kernel choices
     * @return a new backend; the caller closes it
     * @throws IllegalArgumentException if a choice names an op or variant the backend lacks (the
     *                                  backend is closed again)
     */
    public static Backend create(BackendSpec spec) {
        Backend b = switch (spec.backend()) {
            case "reference" -> new ReferenceBackend();
            case "cpu" -> new CpuBackend();
            case "cuda" -> new CudaBackend();
            default -> throw new IllegalArgumentException("unknown backend '" + spec.backend() + "'; choose one of " + NAMES);
        };
        try {
            spec.applyTo(b.kernels());
        } catch (RuntimeException e) {
            b.close();
            throw e;
        }
        return b;
    }

    /**
     * Names of the backends that can run on this machine.
     *
     * @return the names, "reference" and "cpu" always
     */
    public static List<String> available() {
        return CudaBackend.unavailableReason().isEmpty() ? NAMES : List.of("reference", "cpu");
    }
}
