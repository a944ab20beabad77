package io.starprompt.cli;

import io.starprompt.backend.Backend;
import io.starprompt.backend.Backends;
import io.starprompt.nativeapi.NativeLib;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code starprompt}: the command-line runner. Without a subcommand it runs {@code demo}, the
 * built-in default job. Exit codes: 0 success, 1 a runtime error (one line on stderr naming the
 * file or value and the problem; the stack trace only with {@code --verbose}), 2 an option error
 * (the message and the command's usage).
 */
@Command(name = "starprompt", mixinStandardHelpOptions = true, synopsisSubcommandLabel = "[COMMAND]", versionProvider = Main.Version.class,
        description = "STAR-Prompt continual learning: native CPU and CUDA kernels on the JVM.",
        subcommands = {Demo.class, Train.class, Compare.class, Eval.class, Bench.class, CheckKernels.class},
        footer = {"", "Without a command, runs `demo`. `starprompt COMMAND --help` describes each command."})
public final class Main implements Callable<Integer> {
    /** Options every command has. */
    static final class Common {
        @Option(names = "--backend", paramLabel = "NAME",
                description = "reference, cpu or cuda, with optional kernel choices, e.g. cpu:naive or "
                        + "cpu:attention=naive,residual=naive (default: cuda when usable, else cpu)")
        String backend;

        @Option(names = {"-q", "--quiet"}, description = "print results only, no progress")
        boolean quiet;

        @Option(names = "--json-lines", description = "print one JSON object per event, for scripts")
        boolean jsonLines;

        @Option(names = {"-v", "--verbose"}, description = "log details, and stack traces on errors")
        boolean verbose;

        /** Opens the chosen backend. */
        Backend openBackend() {
            return backend == null ? Backends.create() : Backends.create(backend);
        }

        /** The console for these flags. */
        Console console(PrintStream out) {
            return Console.of(out, Console.pick(quiet, jsonLines));
        }
    }

    private Main() {}

    /** Never reached with a subcommand; {@link #execute} turns a bare command line into {@code demo}. */
    @Override
    public Integer call() {
        return 0;
    }

    /**
     * Runs the command line and exits the JVM with its exit code.
     *
     * @param args the command line
     */
    public static void main(String[] args) {
        System.exit(execute(args, System.out, System.err));
    }

    /**
     * Runs the command line with the given streams and returns the exit code (never calls
     * {@link System#exit}).
     *
     * @param args the command line
     * @param out standard output
     * @param err standard error
     * @return the exit code
     */
    public static int execute(String[] args, PrintStream out, PrintStream err) {
        boolean verbose = java.util.Arrays.asList(args).contains("--verbose") || java.util.Arrays.asList(args).contains("-v");
        configureLogging(verbose);
        CommandLine cl = new CommandLine(new Main(), new Factory(out, err));
        cl.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
        cl.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
        // picocli's own handler drops the usage when it has a suggestion ("Did you mean …"): show both.
        cl.setParameterExceptionHandler((e, line) -> {
            CommandLine cmd = e.getCommandLine();
            cmd.getErr().println(e.getMessage());
            CommandLine.UnmatchedArgumentException.printSuggestions(e, cmd.getErr());
            cmd.usage(cmd.getErr());
            return cmd.getCommandSpec().exitCodeOnInvalidInput();
        });
        cl.setExecutionExceptionHandler((e, line, parsed) -> {
            err.println("starprompt: " + oneLine(e));
            if (verbose) e.printStackTrace(err);
            else if (isBug(e)) err.println("(an unexpected error: run again with --verbose for the stack trace)");
            return 1;
        });
        try {
            return cl.execute(withDefaultCommand(args));
        } catch (Error e) { // not an Exception, so picocli passes it on: still one line, not a JVM dump
            err.println("starprompt: " + oneLine(e) + (e instanceof OutOfMemoryError
                    ? " (give the JVM more heap with STARPROMPT_JAVA_OPTS=-Xmx…, or use a smaller --batch)" : ""));
            if (verbose) e.printStackTrace(err);
            return 1;
        }
    }

    /** Errors that mean a defect here rather than bad input or a failing file system. */
    private static boolean isBug(Throwable e) {
        return e instanceof NullPointerException || e instanceof ClassCastException || e instanceof IndexOutOfBoundsException
                || e instanceof ArithmeticException || e instanceof java.util.ConcurrentModificationException
                || e.getMessage() == null;
    }

    /** Prepends {@code demo} when the command line names no command (and asks for no help or version). */
    static String[] withDefaultCommand(String[] args) {
        if (args.length > 0 && !args[0].startsWith("-")) return args;
        for (String a : args) {
            if (a.equals("-h") || a.equals("--help") || a.equals("-V") || a.equals("--version")) return args;
        }
        String[] out = new String[args.length + 1];
        out[0] = "demo";
        System.arraycopy(args, 0, out, 1, args.length);
        return out;
    }

    /** Creates the commands with the output stream they print to. */
    private record Factory(PrintStream out, PrintStream err) implements CommandLine.IFactory {
        @Override
        public <K> K create(Class<K> cls) throws Exception {
            try {
                return cls.getDeclaredConstructor(PrintStream.class, PrintStream.class).newInstance(out, err);
            } catch (NoSuchMethodException e) {
                try {
                    return cls.getDeclaredConstructor(PrintStream.class).newInstance(out);
                } catch (NoSuchMethodException e2) {
                    return CommandLine.defaultFactory().create(cls);
                }
            }
        }
    }

    /** runs/&lt;prefix&gt;-&lt;date-time&gt; under the working directory: where a run's reports go by default. */
    static java.nio.file.Path defaultOutput(String prefix) {
        return java.nio.file.Path.of("runs", prefix + "-" + java.time.LocalDateTime.now().format(
                java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss", java.util.Locale.ROOT)));
    }

    /** The value if positive, else an option error (usage shown) naming the option. */
    static int positive(CommandLine.Model.CommandSpec spec, String option, int value) {
        if (value < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), option + " must be a positive integer, got " + value);
        }
        return value;
    }

    /** The message of an error as one line, with the exception type when the message alone is empty. */
    static String oneLine(Throwable e) {
        String msg = e.getMessage();
        if (e instanceof UncheckedIOException && e.getCause() != null) msg = e.getCause().toString();
        if (msg == null || msg.isBlank()) msg = e.toString();
        return msg.replace('\n', ' ');
    }

    /**
     * Library logs go to stderr through slf4j-simple: warnings only, unless --verbose, so that
     * progress is printed once, by the console, and not again by the log.
     */
    private static void configureLogging(boolean verbose) {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", verbose ? "debug" : "warn");
        System.setProperty("org.slf4j.simpleLogger.showThreadName", "false");
        System.setProperty("org.slf4j.simpleLogger.showLogName", verbose ? "true" : "false");
    }

    /** {@code --version}: the project version, the native library and the runtime. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"starprompt " + projectVersion(), "native library: " + nativeVersion(),
                    "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + "), "
                            + System.getProperty("os.name") + " " + System.getProperty("os.arch")};
        }

        private static String nativeVersion() {
            try {
                return NativeLib.version() + "; backends usable here: " + String.join(", ", Backends.available());
            } catch (RuntimeException | LinkageError e) {
                return "not loadable (" + e.getMessage() + ")";
            }
        }
    }

    /**
     * The project version recorded at build time.
     *
     * @return the version, or "unknown"
     */
    public static String projectVersion() {
        try (InputStream in = Main.class.getResourceAsStream("/io/starprompt/version.properties")) {
            if (in == null) return "unknown";
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
