package io.starprompt.model.tokenizer;

import java.text.Normalizer;
import java.util.regex.Pattern;

/**
 * The text normalisation that OpenAI CLIP applies before BPE:
 * {@code whitespace_clean(basic_clean(text)).lower()}, where {@code basic_clean} is
 * {@code ftfy.fix_text}, then {@code html.unescape} twice, then strip.
 *
 * <p><b>What of ftfy is reproduced</b> (ftfy 6 defaults, repeated until the text stops changing, as
 * ftfy does):
 * <ul>
 *   <li>HTML entities ending in ';' are decoded, unless the text contains '&lt;' (ftfy's "auto");</li>
 *   <li>C1 control characters U+0080..U+009F are read as Windows-1252 (U+0093 → '“');</li>
 *   <li>Latin ligatures are split (ﬁ → fi, Ĳ → IJ, ...);</li>
 *   <li>full-width forms U+FF01..U+FFEF become their NFKC half-width forms, U+3000 becomes a space;</li>
 *   <li>curly quotes become straight ones (‘ ’ ‚ ‛ ʼ → ', “ ” „ ‟ → ");</li>
 *   <li>line breaks are unified, lone surrogates become U+FFFD, ANSI terminal escapes and the
 *       control characters ftfy removes (C0 except tab/LF/FF/CR, DEL, bidi/format controls,
 *       BOM, interlinear annotations, musical-symbol formatting, tags) are dropped;</li>
 *   <li>NFC normalisation (so "e" + U+0301 tokenises like "é").</li>
 * </ul>
 * <p><b>What is not</b>: ftfy's mojibake repair ({@code fix_encoding}: "cafÃ©" → "café",
 * {@code restore_byte_a0}, {@code replace_lossy_sequences}, {@code decode_inconsistent_utf8}). It
 * needs ftfy's statistical "badness" heuristic and codec tables; text that is already valid
 * Unicode — every class-name list of the benchmarks (docs/ALGORITHM.md §7.1) — passes through it unchanged, so ids agree there.
 * HTML entities are limited to the HTML 4.01 names (see {@link HtmlEntities}).
 *
 * <p>After that: Python's {@code html.unescape} twice, strip, every run of Unicode white space
 * collapsed to one space, strip, and lower-case as Python's {@code str.lower} does (full case
 * mapping: 'İ' → "i̇", and Python's final-sigma rule, which differs from Java's word-boundary one).
 */
public final class ClipTextCleaner {
    private static final Pattern WHITESPACE = Pattern.compile("\\s+", Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern TERMINAL_ESCAPE = Pattern.compile("\u001B\\[[0-9;]*[a-zA-Z]");
    private static final Pattern SINGLE_QUOTES = Pattern.compile("[\u02BC\u2018-\u201B]");
    private static final Pattern DOUBLE_QUOTES = Pattern.compile("[\u201C-\u201F]");
    private static final Pattern LINE_BREAKS = Pattern.compile("\r\n|[\r\u2028\u2029\u0085]");
    /** ftfy repeats its fixers until nothing changes; this bound only guards against a cycle. */
    private static final int MAX_FTFY_ROUNDS = 16;

    /** ftfy's {@code LIGATURES} table, as (character, replacement) pairs. */
    private static final String[][] LIGATURES = {
        {"\u0132", "IJ"}, {"\u0133", "ij"}, {"\u0149", "\u02BCn"}, {"\u01F1", "DZ"}, {"\u01F2", "Dz"}, {"\u01F3", "dz"},
        {"\u01C4", "D\u017D"}, {"\u01C5", "D\u017E"}, {"\u01C6", "d\u017E"}, {"\u01C7", "LJ"}, {"\u01C8", "Lj"},
        {"\u01C9", "lj"}, {"\u01CA", "NJ"}, {"\u01CB", "Nj"}, {"\u01CC", "nj"}, {"\uFB00", "ff"}, {"\uFB01", "fi"},
        {"\uFB02", "fl"}, {"\uFB03", "ffi"}, {"\uFB04", "ffl"}, {"\uFB05", "\u017Ft"}, {"\uFB06", "st"},
    };

    private ClipTextCleaner() {}

    /**
     * The full CLIP cleaning: ftfy subset, HTML unescape twice, white-space collapse, lower-case.
     *
     * @param text raw text
     * @return the cleaned text
     */
    public static String clean(String text) {
        String s = fixText(text);
        s = HtmlEntities.unescapePython(HtmlEntities.unescapePython(s));
        s = WHITESPACE.matcher(s).replaceAll(" ").strip();
        return pythonLower(s);
    }

    /**
     * Python's {@code str.lower()}: simple lower-case mapping per code point, except U+0130 (the
     * one unconditional multi-character mapping) and capital sigma, which becomes final 'ς' when
     * preceded by a cased letter and not followed by one, case-ignorable characters skipped.
     */
    static String pythonLower(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            if (c == 0x130) out.append("i\u0307");
            else if (c == 0x3A3) out.append(isFinalSigma(s, i) ? '\u03C2' : '\u03C3');
            else out.appendCodePoint(Character.toLowerCase(c));
            i += Character.charCount(c);
        }
        return out.toString();
    }

    /** CPython's {@code handle_capital_sigma}: cased letter before, none after (case-ignorables skipped). */
    private static boolean isFinalSigma(String s, int at) {
        for (int j = at; j > 0; ) {
            int before = s.codePointBefore(j);
            if (!isCaseIgnorable(before)) return isCased(before) && !casedLetterFollows(s, at + 1);
            j -= Character.charCount(before);
        }
        return false;
    }

    private static boolean casedLetterFollows(String s, int from) {
        for (int k = from; k < s.length(); ) {
            int after = s.codePointAt(k);
            if (!isCaseIgnorable(after)) return isCased(after);
            k += Character.charCount(after);
        }
        return false;
    }

    /** Unicode "Cased": lower-case, upper-case (including Other_Lowercase/Uppercase) or title-case. */
    private static boolean isCased(int c) {
        return Character.isLowerCase(c) || Character.isUpperCase(c) || Character.getType(c) == Character.TITLECASE_LETTER;
    }

    /** Unicode "Case_Ignorable": Mn, Me, Cf, Lm, Sk, or word-break MidLetter, MidNumLet, Single_Quote. */
    private static boolean isCaseIgnorable(int c) {
        switch (Character.getType(c)) {
            case Character.NON_SPACING_MARK, Character.ENCLOSING_MARK, Character.FORMAT,
                    Character.MODIFIER_LETTER, Character.MODIFIER_SYMBOL:
                return true;
            default:
                return "'.:\u00B7\u0387\u055F\u05F4\u2018\u2019\u2024\u2027\uFE13\uFE52\uFE55\uFF07\uFF0E\uFF1A"
                        .indexOf(c) >= 0;
        }
    }

    /**
     * The reproduced part of {@code ftfy.fix_text} (see the class comment).
     *
     * @param text raw text
     * @return the fixed text
     */
    public static String fixText(String text) {
        boolean unescape = text.indexOf('<') < 0;
        String s = text;
        for (int round = 0; round < MAX_FTFY_ROUNDS; round++) {
            String before = s;
            if (unescape) s = HtmlEntities.unescapeFtfy(s);
            s = fixC1Controls(s);
            s = fixLigatures(s);
            s = fixCharacterWidth(s);
            s = uncurlQuotes(s);
            s = LINE_BREAKS.matcher(s).replaceAll("\n");
            s = fixSurrogates(s);
            s = TERMINAL_ESCAPE.matcher(s).replaceAll("");
            s = removeControlChars(s);
            s = Normalizer.normalize(s, Normalizer.Form.NFC);
            if (s.equals(before)) break;
        }
        return s;
    }

    /** U+0080..U+009F are almost always Windows-1252 bytes that were decoded as Latin-1. */
    private static String fixC1Controls(String s) {
        StringBuilder out = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= 0x80 && c <= 0x9F) {
                if (out == null) out = new StringBuilder(s.substring(0, i));
                out.append(HtmlEntities.windows1252(c));
            } else if (out != null) {
                out.append(c);
            }
        }
        return out == null ? s : out.toString();
    }

    private static String fixLigatures(String s) {
        for (String[] pair : LIGATURES) {
            if (s.contains(pair[0])) s = s.replace(pair[0], pair[1]);
        }
        return s;
    }

    /** Full-width ASCII and half-width katakana/hangul become their NFKC forms; U+3000 a space. */
    private static String fixCharacterWidth(String s) {
        StringBuilder out = new StringBuilder(s.length());
        boolean changed = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            String r = null;
            if (c == '\u3000') r = " ";
            else if (c >= '\uFF01' && c <= '\uFFEF') r = Normalizer.normalize(String.valueOf(c), Normalizer.Form.NFKC);
            if (r != null && !r.equals(String.valueOf(c))) {
                out.append(r);
                changed = true;
            } else {
                out.append(c);
            }
        }
        return changed ? out.toString() : s;
    }

    private static String uncurlQuotes(String s) {
        s = SINGLE_QUOTES.matcher(s).replaceAll("'");
        return DOUBLE_QUOTES.matcher(s).replaceAll("\"");
    }

    /** Lone surrogates cannot be UTF-8 encoded; ftfy replaces them by U+FFFD. */
    private static String fixSurrogates(String s) {
        StringBuilder out = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean paired = Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
            if (paired) {
                if (out != null) out.append(c).append(s.charAt(i + 1));
                i++;
                continue;
            }
            boolean lone = Character.isSurrogate(c);
            if (lone && out == null) out = new StringBuilder(s.substring(0, i));
            if (out != null) out.append(lone ? '\uFFFD' : c);
        }
        return out == null ? s : out.toString();
    }

    private static String removeControlChars(String s) {
        StringBuilder out = null;
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            int n = Character.charCount(c);
            if (isRemovedControl(c)) {
                if (out == null) out = new StringBuilder(s.substring(0, i));
            } else if (out != null) {
                out.appendCodePoint(c);
            }
            i += n;
        }
        return out == null ? s : out.toString();
    }

    /** ftfy's {@code CONTROL_CHARS} table. */
    private static boolean isRemovedControl(int c) {
        return (c <= 0x08) || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F
                || (c >= 0x206A && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC)
                || (c >= 0x1D173 && c <= 0x1D17A) || (c >= 0xE0000 && c <= 0xE007F);
    }
}
