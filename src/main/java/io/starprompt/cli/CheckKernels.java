package io.starprompt.cli;

import java.io.PrintStream;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** {@code starprompt check-kernels}: every backend usable here against the float64 reference. */
@Command(name = "check-kernels", mixinStandardHelpOptions = true,
        description = {"Runs one STAR-Prompt-shaped step (retrieval, prompted attention forward and backward) on every"
                + " backend usable here and compares each with the float64 reference backend.",
                "Exit code 0 when all agree, 1 otherwise."})
final class CheckKernels implements Callable<Integer> {
    private final PrintStream out;

    CheckKernels(PrintStream out) {
        this.out = out;
    }

    @Override
    public Integer call() {
        return Smoke.run(out) ? 0 : 1;
    }
}
