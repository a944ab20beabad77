package io.starprompt.cli;

import io.starprompt.backend.Backend;
import io.starprompt.backend.Backends;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Command line: {@code starprompt [demo|smoke|train] [options]}.
 *
 * <ul>
 *   <li>{@code demo} (default): STAR-Prompt on a synthetic benchmark with random small backbones;
 *       options {@code --classes 8 --tasks 2 --epochs 4 --batch 16 --seed 7 --out DIR}.
 *   <li>{@code smoke}: every usable backend against the float64 reference on one prompted step.
 *   <li>{@code train}: STAR-Prompt on an image-folder benchmark with real checkpoints (see {@link Train}).
 * </ul>
 * {@code --backend reference|cpu|cuda} picks the backend (default: as {@link Backends#create()}).
 */
public final class Main {
    private Main() {}

    public static void main(String[] args) throws Exception {
        try {
            System.exit(run(args));
        } catch (IllegalArgumentException e) {
            System.err.println("starprompt: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
        }
    }

    static final String USAGE = "usage: starprompt [demo|smoke] [--backend reference|cpu|cuda] [--classes C]"
            + " [--tasks T] [--epochs E] [--batch B] [--seed S] [--out DIR]\n       " + Train.USAGE;

    static int run(String[] args) throws Exception {
        int first = 0;
        String command = "demo";
        if (args.length > 0 && !args[0].startsWith("--")) {
            command = args[0].toLowerCase(Locale.ROOT);
            first = 1;
        }
        if (command.equals("train")) return Train.run(java.util.Arrays.copyOfRange(args, first, args.length), System.out);
        String backend = null;
        int classes = 8, tasks = 2, epochs = 4, batch = 16;
        long seed = 7;
        Path out = null;
        for (int i = first; i < args.length; i += 2) {
            if (i + 1 >= args.length) throw new IllegalArgumentException("option " + args[i] + " needs a value");
            String v = args[i + 1];
            switch (args[i]) {
                case "--backend" -> backend = v;
                case "--classes" -> classes = positive(args[i], v);
                case "--tasks" -> tasks = positive(args[i], v);
                case "--epochs" -> epochs = positive(args[i], v);
                case "--batch" -> batch = positive(args[i], v);
                case "--seed" -> seed = Long.parseLong(v);
                case "--out" -> out = Path.of(v);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        switch (command) {
            case "smoke":
                return Smoke.run(System.out) ? 0 : 1;
            case "demo":
                if (classes % tasks != 0) {
                    throw new IllegalArgumentException("--classes " + classes + " is not a multiple of --tasks " + tasks);
                }
                try (Backend be = backend == null ? Backends.create() : Backends.create(backend)) {
                    Demo.run(be, new Demo.Options(classes, tasks, epochs, batch, seed, out), System.out);
                }
                return 0;
            default:
                throw new IllegalArgumentException("unknown command '" + command + "'");
        }
    }

    /** The option's value as a positive integer, or an error naming the option. */
    static int positive(String option, String value) {
        try {
            int v = Integer.parseInt(value);
            if (v > 0) return v;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException(option + " must be a positive integer, got '" + value + "'");
    }
}
