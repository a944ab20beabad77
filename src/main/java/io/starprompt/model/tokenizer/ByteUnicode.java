package io.starprompt.model.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The reversible byte ↔ character mapping of GPT-2 and CLIP ({@code bytes_to_unicode}).
 *
 * <p>Byte-level BPE works on strings, but merges must never see whitespace or control characters,
 * so each of the 256 byte values is given a printable stand-in: the 188 "visible" Latin-1 bytes
 * ({@code '!'..'~'}, {@code '¡'..'¬'}, {@code '®'..'ÿ'}) stand for themselves, and the remaining 68
 * bytes (0–32, 127–160, 173) are moved, in increasing order, to U+0100, U+0101, … U+0143.
 *
 * <p>The order of {@link #symbolOrder()} is also the order of the first 256 ids of the OpenAI
 * vocabulary, which is why it is exposed.
 */
final class ByteUnicode {
    /** Byte value (0–255) → stand-in character. */
    private static final char[] ENCODE = new char[256];
    /** Stand-in character → byte value, -1 where a character is not a stand-in. */
    private static final int[] DECODE = new int[0x144];
    /** Stand-ins in the order of {@code bytes_to_unicode().values()}. */
    private static final char[] ORDER = new char[256];

    static {
        Arrays.fill(DECODE, -1);
        int next = 0;
        // First the visible bytes, which keep their own code point...
        for (int b = 0; b < 256; b++) {
            if (isVisible(b)) {
                ENCODE[b] = (char) b;
                ORDER[next++] = (char) b;
            }
        }
        // ...then the others, shifted past U+00FF in increasing byte order.
        int shifted = 0;
        for (int b = 0; b < 256; b++) {
            if (!isVisible(b)) {
                ENCODE[b] = (char) (256 + shifted++);
                ORDER[next++] = ENCODE[b];
            }
        }
        for (int b = 0; b < 256; b++) DECODE[ENCODE[b]] = b;
    }

    private ByteUnicode() {}

    private static boolean isVisible(int b) {
        return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    }

    /** The 256 stand-in characters in OpenAI vocabulary order (ids 0..255). */
    static char[] symbolOrder() {
        return ORDER.clone();
    }

    /** The stand-in of one byte. */
    static char encodeByte(int b) {
        return ENCODE[b & 0xFF];
    }

    /** The UTF-8 bytes of {@code text}, each replaced by its stand-in character. */
    static String encode(String text) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        char[] out = new char[utf8.length];
        for (int i = 0; i < utf8.length; i++) out[i] = ENCODE[utf8[i] & 0xFF];
        return new String(out);
    }

    /**
     * Inverse of {@link #encode}: stand-ins back to bytes, decoded as UTF-8 with U+FFFD for
     * malformed sequences (Python's {@code errors="replace"}).
     *
     * @throws IllegalArgumentException if a character is not one of the 256 stand-ins
     */
    static String decode(CharSequence symbols) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(symbols.length());
        for (int i = 0; i < symbols.length(); i++) {
            char c = symbols.charAt(i);
            int b = c < DECODE.length ? DECODE[c] : -1;
            if (b < 0) {
                throw new IllegalArgumentException("character U+" + Integer.toHexString(c) + " is not a byte-level symbol");
            }
            bytes.write(b);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
