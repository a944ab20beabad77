package io.starprompt.model.tokenizer;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPOutputStream;

/**
 * A hand-made BPE vocabulary small enough to work through by hand, written in both file layouts.
 *
 * <p>Ids in the OpenAI layout (how {@code SimpleTokenizer} builds its vocabulary):
 * <ul>
 *   <li>0..255: the byte symbols in {@code bytes_to_unicode} order: '!'..'~' are ids 0..93
 *       (id = ASCII code − 33, so 'a' = 64, 'x' = 87, '.' = 13, '_' = 62, '&amp;' = 5, '\'' = 6),
 *       '¡'..'¬' (bytes 0xA1..0xAC) are 94..105, '®'..'ÿ' (0xAE..0xFF) are 106..187 (so 'Ã' = byte
 *       0xC3 = 106 + 0xC3 − 0xAE = 127), and the 68 invisible bytes 0..32, 127..160, 173 follow as
 *       U+0100.. at ids 188..255 (byte 0x9F is the 66th of them: U+0141 'Ł', id 188 + 65 = 253);</li>
 *   <li>256..511: the same symbols with "&lt;/w&gt;" (id + 256: "x&lt;/w&gt;" = 343, ".&lt;/w&gt;" = 269,
 *       "_&lt;/w&gt;" = 318, "&amp;&lt;/w&gt;" = 261, "s&lt;/w&gt;" = 338, "Ł&lt;/w&gt;" = 509);</li>
 *   <li>512 + r: the product of merge r (table below);</li>
 *   <li>539, 540: {@code <|startoftext|>}, {@code <|endoftext|>} (512 + 27 merges = 539).</li>
 * </ul>
 */
final class SmallVocab {
    /** The merges, rank = index; the comment is the produced symbol and its OpenAI id. */
    static final List<String> MERGES = List.of(
            "e n", //           r0  en        512
            "t en", //          r1  ten       513
            "c h</w>", //       r2  ch</w>    514
            "ten ch</w>", //    r3  tench</w> 515
            "f i", //           r4  fi        516
            "s h</w>", //       r5  sh</w>    517
            "fi sh</w>", //     r6  fish</w>  518
            "g o", //           r7  go        519
            "l d", //           r8  ld        520
            "go ld", //         r9  gold      521
            "a q", //           r10 aq        522
            "u a", //           r11 ua        523
            "r i", //           r12 ri        524
            "u m</w>", //       r13 um</w>    525
            "ua ri", //         r14 uari      526
            "aq uari", //       r15 aquari    527
            "s e", //           r16 se        528
            "se a</w>", //      r17 sea</w>   529
            "t u", //           r18 tu        530
            "r t", //           r19 rt        531
            "l e</w>", //       r20 le</w>    532
            "tu rt", //         r21 turt      533
            "c a", //           r22 ca        534
            "ca f", //          r23 caf       535
            "Ã ©</w>", //       r24 Ã©</w>    536  (é = bytes C3 A9 = symbols 'Ã' '©')
            "caf Ã©</w>", //    r25 cafÃ©</w> 537
            "t e"); //          r26 te        538  (a decoy: "e n" outranks it inside "tench")

    static final int SOT = 539;
    static final int EOT = 540;

    private SmallVocab() {}

    /** The merges in the OpenAI layout: a version header line, then one merge per line, gzipped. */
    static Path writeOpenAi(Path dir) throws IOException {
        Path file = dir.resolve("bpe_small.txt.gz");
        String text = "\"bpe_small.txt#version: 0.2\n" + String.join("\n", MERGES) + "\n";
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
            out.write(text.getBytes(StandardCharsets.UTF_8));
        }
        return file;
    }

    /** Writes {@code text} as UTF-8 to {@code dir/name}. */
    static Path write(Path dir, String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text, StandardCharsets.UTF_8);
    }

    /** A JSON string literal for any symbol ('"' and '\\' are byte symbols too). */
    static String jsonString(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }
}
