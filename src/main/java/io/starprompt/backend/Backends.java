package io.starprompt.backend;

import io.starprompt.backend.cpu.CpuBackend;
import io.starprompt.backend.cuda.CudaBackend;
import io.starprompt.backend.reference.ReferenceBackend;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates backends by name. {@code -Dstarprompt.backend=reference|cpu|cuda} picks one; without
 * it the CUDA backend is used when a device is usable, else the CPU backend. One log line
 * says which backend was chosen and why.
 */
public final class Backends {
    /** The system property that picks the backend: {@code -Dstarprompt.backend=reference|cpu|cuda}. */
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
     * The backend of that name; an unknown name is an IllegalArgumentException listing the choices.
     *
     * @param name "reference", "cpu" or "cuda" (case and surrounding blanks ignored)
     * @return a new backend; the caller closes it
     */
    public static Backend create(String name) {
        switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "reference":
                return new ReferenceBackend();
            case "cpu":
                return new CpuBackend();
            case "cuda":
                return new CudaBackend();
            default:
                throw new IllegalArgumentException("unknown backend '" + name + "'; choose one of " + NAMES);
        }
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
