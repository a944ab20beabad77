package io.starprompt;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.starprompt.backend.Backend;
import io.starprompt.backend.Backends;
import io.starprompt.backend.cuda.CudaBackend;
import java.util.stream.Stream;

/** The backends a parameterised test runs on; CUDA ones are skipped, with the reason, where unusable. */
public final class TestBackends {
    private TestBackends() {}

    /** reference, cpu and cuda. */
    public static Stream<String> all() {
        return Stream.of("reference", "cpu", "cuda");
    }

    /**
     * Opens "name" or "name:variant" (every selectable op of the backend that offers the variant
     * is switched to it, e.g. "cpu:naive"); aborts the test when CUDA is asked for but unusable.
     */
    public static Backend open(String spec) {
        String[] parts = spec.split(":");
        if (parts[0].equals("cuda")) {
            assumeTrue(CudaBackend.unavailableReason().isEmpty(),
                    () -> "CUDA backend skipped: " + CudaBackend.unavailableReason().orElse(""));
        }
        Backend be = Backends.create(parts[0]);
        if (parts.length > 1) {
            be.kernels().variants().forEach((op, variants) -> {
                if (variants.contains(parts[1])) be.kernels().select(op, parts[1]);
            });
        }
        return be;
    }
}
