package io.starprompt;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.starprompt.backend.Backend;
import io.starprompt.backend.BackendSpec;
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
     * Opens a {@link BackendSpec}, e.g. "cpu" or "cpu:naive" (every selectable op of the backend
     * that offers the variant is switched to it); aborts the test when CUDA is asked for but unusable.
     */
    public static Backend open(String spec) {
        BackendSpec parsed = BackendSpec.parse(spec);
        if (parsed.backend().equals("cuda")) {
            assumeTrue(CudaBackend.unavailableReason().isEmpty(),
                    () -> "CUDA backend skipped: " + CudaBackend.unavailableReason().orElse(""));
        }
        return parsed.open();
    }
}
