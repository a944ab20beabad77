package io.starprompt.run;

import io.starprompt.data.CenterCrop;
import io.starprompt.data.HorizontalFlip;
import io.starprompt.data.ImageTransform;
import io.starprompt.data.RandomCrop;
import io.starprompt.data.RandomResizedCrop;
import io.starprompt.data.Resize;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * An image transform written as text, the form presets and config files use: steps separated by
 * commas, applied in order, every crop to the run's image size S.
 * <ul>
 *   <li>{@code resize:N} — bicubic resize to N×N (aspect ratio not kept); without N, to S×S;</li>
 *   <li>{@code resize-short:N} — bicubic resize of the shorter side to N, aspect ratio kept;
 *       without N, to round(S·256/224) (256 for 224 px), the usual margin for a centre crop;</li>
 *   <li>{@code random-resized-crop} — random area 8–100 %, aspect 3/4–4/3, resized to S×S;</li>
 *   <li>{@code random-crop} / {@code center-crop} — an S×S window;</li>
 *   <li>{@code flip} — horizontal flip with probability ½;</li>
 *   <li>{@code none} — nothing (the images must already be S×S).</li>
 * </ul>
 * Example: CUB-200 trains with {@code resize:300,random-crop,flip} and tests with
 * {@code resize-short:256,center-crop}.
 */
public final class TransformSpec {
    private TransformSpec() {}

    /**
     * Parses a transform for output side {@code size}.
     *
     * @param spec the text
     * @param size S, the output side
     * @return the transforms
     * @throws IllegalArgumentException naming the step that is unknown, or saying why the steps
     *     would not produce S×S images
     */
    public static List<ImageTransform> parse(String spec, int size) {
        List<ImageTransform> steps = new ArrayList<>();
        boolean square = false; // whether the steps so far end in an S×S image whatever the input
        boolean sized = false;  // whether any step fixes the output size
        for (String raw : spec.split(",")) {
            String step = raw.trim().toLowerCase(Locale.ROOT);
            if (step.isEmpty() || step.equals("none")) continue;
            int colon = step.indexOf(':');
            String name = colon < 0 ? step : step.substring(0, colon);
            String arg = colon < 0 ? null : step.substring(colon + 1);
            switch (name) {
                case "resize" -> {
                    int n = arg == null ? size : side(spec, step, arg);
                    steps.add(Resize.exact(n, n));
                    square = n == size;
                    sized = true;
                }
                case "resize-short" -> {
                    steps.add(Resize.shorterSide(arg == null ? (int) Math.round(size * 256.0 / 224.0) : side(spec, step, arg)));
                    square = false;
                    sized = true;
                }
                case "random-resized-crop" -> {
                    steps.add(RandomResizedCrop.of(size));
                    square = sized = true;
                }
                case "random-crop" -> {
                    steps.add(RandomCrop.of(size));
                    square = sized = true;
                }
                case "center-crop" -> {
                    steps.add(CenterCrop.of(size));
                    square = sized = true;
                }
                case "flip" -> steps.add(HorizontalFlip.random());
                default -> throw new IllegalArgumentException("transform '" + spec + "': unknown step '" + step
                        + "' (known: resize:N, resize-short:N, random-resized-crop, random-crop, center-crop, flip, none)");
            }
            if (colon >= 0 && !name.startsWith("resize")) {
                throw new IllegalArgumentException("transform '" + spec + "': step '" + name + "' takes no argument");
            }
        }
        if (sized && !square) {
            throw new IllegalArgumentException("transform '" + spec + "' does not end in " + size + "×" + size
                    + " images: finish with a crop or resize:" + size);
        }
        return List.copyOf(steps);
    }

    private static int side(String spec, String step, String arg) {
        try {
            int n = Integer.parseInt(arg == null ? "" : arg);
            if (n > 0) return n;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException("transform '" + spec + "': step '" + step + "' needs a positive size, e.g. resize:256");
    }
}
