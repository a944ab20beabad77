package io.starprompt.model.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * The cleaning steps. Expectations for the Python parts ({@code html.unescape}, {@code str.lower})
 * were checked against CPython 3; the ftfy parts follow ftfy 6's documented fixers.
 */
class ClipTextCleanerTest {
    @Test
    void whiteSpaceCollapsesAndIsStripped() {
        assertEquals("x goldfish .", ClipTextCleaner.clean("  X \t goldfish\n\n. "));
        // No-break, em and narrow no-break spaces are Unicode white space too.
        assertEquals("sea turtle", ClipTextCleaner.clean("Sea\u00A0\u2003Turtle\u202F"));
    }

    @Test
    void htmlIsUnescapedByFtfyUntilStableThenTwiceMore() {
        // Without '<' ftfy decodes ';'-terminated entities until nothing changes.
        assertEquals("fish & chips", ClipTextCleaner.clean("fish &amp;amp;amp;amp; chips"));
        // With '<' ftfy leaves HTML alone; Python's html.unescape runs twice.
        assertEquals("<b> &amp; ¬it; &x a", ClipTextCleaner.clean("<b> &amp;amp;amp; &notit; &ampx &#x41;"));
        // Python's numeric rules: C1 numbers are Windows-1252, NUL/surrogates/out-of-range are U+FFFD.
        assertEquals("<– \uFFFD \uFFFD \uFFFD", ClipTextCleaner.clean("<&#150; &#0; &#xD800; &#1114112;"));
        // Legacy names work without ';' in Python ("&copy2020"); HTML5-only names are not known here.
        assertEquals("<©2020 é é &notequal;", ClipTextCleaner.clean("<&copy2020 &Eacute; &eacute &NotEqual;"));
    }

    @Test
    void ftfyFixersThatAreReproduced() {
        assertEquals("\"don't\"", ClipTextCleaner.clean("“Don’t”")); // curly quotes
        assertEquals("fish", ClipTextCleaner.clean("ﬁsh")); // ligature
        assertEquals("abc 1!", ClipTextCleaner.clean("ＡＢＣ\u3000１！")); // full width, ideographic space
        assertEquals("\"x\"", ClipTextCleaner.clean("\u0093X\u0094")); // C1 controls read as Windows-1252
        assertEquals("ab", ClipTextCleaner.clean("a\u0000\u001B[31mb\uFEFF")); // controls, ANSI escapes, BOM
        assertEquals("café", ClipTextCleaner.clean("cafe\u0301")); // NFC
        assertEquals("a\uFFFDb", ClipTextCleaner.clean("a\uD800b")); // lone surrogate
    }

    @Test
    void mojibakeIsNotRepaired() {
        // ftfy would turn this into "café"; that fixer is deliberately not reproduced.
        assertEquals("cafã©", ClipTextCleaner.clean("cafÃ©"));
    }

    @Test
    void lowerCasingFollowsPython() {
        assertEquals("σίσυφος", ClipTextCleaner.clean("ΣΊΣΥΦΟΣ")); // final sigma
        assertEquals("σ", ClipTextCleaner.clean("Σ")); // no cased letter before: not final
        assertEquals("aς.", ClipTextCleaner.clean("AΣ.")); // '.' is case-ignorable
        assertEquals("i\u0307stanbul", ClipTextCleaner.clean("İstanbul"));
    }
}
