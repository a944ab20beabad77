package io.starprompt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code bench --profile}: a per-op table of one second-stage step with the default attention
 * and one with the naive attention, whose attention rows name the variant that ran.
 */
class BenchProfileTest {
    @Test
    void printsOneTablePerAttentionVariant() {
        CliRun r = CliRun.of("bench", "--backend", "cpu", "--profile", "--batch", "1", "--warmup", "0");
        assertEquals(0, r.exit(), r.all());
        String out = r.out();
        assertTrue(out.contains("second-stage step, attention=tiled"), r.all());
        assertTrue(out.contains("second-stage step, attention=naive"), r.all());
        String tiled = out.substring(out.indexOf("attention=tiled"), out.indexOf("attention=naive"));
        String naive = out.substring(out.indexOf("attention=naive"));
        for (String op : new String[] {"attention", "attentionBackward", "gemm", "layerNorm", "retrieval", "adamStep"}) {
            assertTrue(Pattern.compile("(?m)^" + op + " ").matcher(tiled).find(), op + " row missing:\n" + out);
        }
        assertTrue(row("attention", "tiled").matcher(tiled).find(), out);
        assertTrue(row("attentionBackward", "tiled").matcher(tiled).find(), out);
        assertTrue(row("attention", "naive").matcher(naive).find(), out);
        assertTrue(row("attentionBackward", "naive").matcher(naive).find(), out);
        assertTrue(out.contains("attention forward + backward, attention=naive"), out);
    }

    @Test
    void byShapeListsTheOperands() {
        CliRun r = CliRun.of("bench", "--backend", "reference", "--profile", "--batch", "1", "--warmup", "0",
                "--by-shape");
        assertEquals(0, r.exit(), r.all());
        Matcher m = Pattern.compile("(?m)^attention +reference .*q\\[1,37,384\\] k,v\\[1,37,384\\] heads=6 residual\\[1,384\\]")
                .matcher(r.out());
        assertTrue(m.find(), r.all());
    }

    @Test
    void profileNeedsAModel() {
        CliRun r = CliRun.of("bench", "--backend", "cpu", "--profile", "--model-size", "none");
        assertEquals(2, r.exit(), r.all());
        assertTrue(r.err().contains("--profile"), r.all());
    }

    private static Pattern row(String op, String variant) {
        return Pattern.compile("(?m)^" + op + " +" + variant + " ");
    }
}
