package io.starprompt.model.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exact ids on class names, with the {@link SmallVocab} merges (see there for how ids are laid
 * out). Each expectation below is derived by hand: clean the text, split it with CLIP's regex,
 * map bytes to symbols, put "&lt;/w&gt;" on the last symbol, then repeatedly merge the adjacent
 * pair with the lowest rank r until no adjacent pair is a merge.
 *
 * <p>The same procedure run by OpenAI's own {@code SimpleTokenizer} on the real
 * {@code bpe_simple_vocab_16e6} is checked in {@link ClipTokenizerRealVocabTest}.
 */
class ClipTokenizerTest {
    @TempDir
    Path dir;

    private ClipTokenizer openAi;

    @BeforeEach
    void load() throws IOException {
        openAi = ClipTokenizer.fromOpenAiBpe(SmallVocab.writeOpenAi(dir));
    }

    @Test
    void vocabularyLayoutFollowsOpenAi() {
        assertEquals(541, openAi.vocabSize());
        assertEquals(SmallVocab.SOT, openAi.sot());
        assertEquals(SmallVocab.EOT, openAi.eot());
        assertEquals("!", openAi.symbol(0));
        assertEquals("x", openAi.symbol(87));
        assertEquals("Ã", openAi.symbol(127));
        assertEquals("\u0100", openAi.symbol(188)); // byte 0x00, the first invisible byte
        assertEquals("Ł", openAi.symbol(253)); // byte 0x9F
        assertEquals("x</w>", openAi.symbol(343));
        assertEquals("tench</w>", openAi.symbol(515));
    }

    @Test
    void xTench() {
        // "X tench." → cleaned "x tench." → pieces "x" | "tench" | ".".
        // "x": one symbol → "x</w>" = 343.   ".": ".</w>" = 269.
        // "tench" = t e n c h</w>: pairs (t,e) r26, (e,n) r0, (c,h</w>) r2 → r0 wins: t en c h</w>;
        // then (t,en) r1 → ten c h</w>; (c,h</w>) r2 → ten ch</w>; (ten,ch</w>) r3 → tench</w> = 515.
        assertArrayEquals(new int[] {343, 515, 269}, openAi.encode("X tench."));
        assertEquals(List.of("tench</w>"), openAi.bpe("tench"));
    }

    @Test
    void aquariumFish() {
        // Underscore is neither letter nor digit: pieces "aquarium" | "_" | "fish".
        // "aquarium" = a q u a r i u m</w>: r10 (a,q) → aq u a r i u m</w>; r11 (u,a) → aq ua r i u m</w>;
        // r12 (r,i) → aq ua ri u m</w>; r13 (u,m</w>) → aq ua ri um</w>; r14 (ua,ri) → aq uari um</w>;
        // r15 (aq,uari) → aquari um</w>; no merge "aquari um</w>" → aquari = 527, um</w> = 525.
        // "_" → "_</w>" = 318.  "fish" = f i s h</w>: r4 → fi s h</w>; r5 → fi sh</w>; r6 → fish</w> = 518.
        assertArrayEquals(new int[] {527, 525, 318, 518}, openAi.encode("aquarium_fish"));
    }

    @Test
    void seaTurtle() {
        // Lower-cased: "sea" | "turtle".  "sea" = s e a</w>: r16 → se a</w>; r17 → sea</w> = 529.
        // "turtle" = t u r t l e</w>: r18 (t,u) → tu r t l e</w>; r19 (r,t) → tu rt l e</w>;
        // r20 (l,e</w>) → tu rt le</w>; r21 (tu,rt) → turt le</w>; stop → turt = 533, le</w> = 532.
        assertArrayEquals(new int[] {529, 533, 532}, openAi.encode("Sea Turtle"));
    }

    @Test
    void goldfishWithExtraSpaces() {
        // White space collapses: "x goldfish ." → "x" | "goldfish" | ".".
        // "goldfish" = g o l d f i s h</w>: lowest ranks in turn r4 (f,i), r5 (s,h</w>), r6 (fi,sh</w>),
        // r7 (g,o), r8 (l,d), r9 (go,ld) → gold fish</w>; no merge joins them → 521, 518.
        assertArrayEquals(new int[] {343, 521, 518, 269}, openAi.encode("X  goldfish ."));
    }

    @Test
    void cafeWithAccent() {
        // "é" is one letter, so "café" is one piece; its UTF-8 bytes 63 61 66 C3 A9 are the symbols
        // c a f Ã ©</w>: r22 (c,a) → ca f Ã ©</w>; r23 (ca,f) → caf Ã ©</w>; r24 (Ã,©</w>) → caf Ã©</w>;
        // r25 → cafÃ©</w> = 537.
        assertArrayEquals(new int[] {537}, openAi.encode("café"));
        // Decomposed "E" + U+0301 in capitals: NFC, then lower-case, give the same "café".
        assertArrayEquals(new int[] {537}, openAi.encode("CAFE\u0301"));
    }

    @Test
    void unmergedBytesKeepTheirByteIds() {
        // "ß" = bytes C3 9F = symbols Ã Ł</w>; no merge → 127, 256 + 253 = 509.
        assertArrayEquals(new int[] {127, 509}, openAi.encode("ß"));
        // "fish &amp; chips": HTML-unescaped to "fish & chips" → fish</w> 518, &</w> 261, and "chips" =
        // c h i p s</w> has no merge ("c h</w>" needs the end-of-word h) → 66, 71, 72, 79, 338.
        assertArrayEquals(new int[] {518, 261, 66, 71, 72, 79, 338}, openAi.encode("fish &amp; chips"));
    }

    @Test
    void contractionsAndSpecialTokensArePiecesOfTheirOwn() {
        // "tench's" → "tench" | "'s" → 515, then "'" (6) and "s</w>" (338).
        assertArrayEquals(new int[] {515, 6, 338}, openAi.encode("Tench's"));
        // A literal special token in the text is matched first by the regex and never split.
        assertArrayEquals(new int[] {SmallVocab.SOT, 515, SmallVocab.EOT}, openAi.encode("<|startoftext|>tench<|endoftext|>"));
    }

    @Test
    void tokenizePadsToTheContextLength() {
        int[] ids = openAi.tokenize("X tench.");
        assertEquals(ClipTokenizer.DEFAULT_CONTEXT_LENGTH, ids.length);
        int[] expected = new int[77];
        expected[0] = SmallVocab.SOT;
        expected[1] = 343;
        expected[2] = 515;
        expected[3] = 269;
        expected[4] = SmallVocab.EOT;
        assertArrayEquals(expected, ids);
        int[][] batch = openAi.tokenize(List.of("X tench.", "Sea Turtle"));
        assertArrayEquals(expected, batch[0]);
        assertArrayEquals(new int[] {SmallVocab.SOT, 529, 533, 532, SmallVocab.EOT, 0}, openAi.tokenize("Sea Turtle", 6, false));
    }

    @Test
    void tooLongTextIsRejectedOrTruncated() {
        // "chips" alone is 5 ids, so with SOT/EOT it needs 7.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> openAi.tokenize("chips", 6, false));
        assertTrue(e.getMessage().contains("7 tokens"), e.getMessage());
        assertArrayEquals(new int[] {SmallVocab.SOT, 66, 71, 72, 79, SmallVocab.EOT}, openAi.tokenize("chips", 6, true));
        assertArrayEquals(new int[] {SmallVocab.SOT, 66, 71, 72, 79, 338, SmallVocab.EOT}, openAi.tokenize("chips", 7, false));
        assertThrows(IllegalArgumentException.class, () -> openAi.tokenize("chips", 1, true));
    }

    @Test
    void decodeInvertsEncodeUpToCleaning() {
        // As in OpenAI's decode, every "</w>" becomes a space, so pieces come back space-separated.
        assertEquals("x tench . ", openAi.decode(openAi.encode("X tench.")));
        assertEquals("café ", openAi.decode(openAi.encode("CAFÉ")));
        assertEquals("aquarium _ fish ", openAi.decode(openAi.encode("aquarium_fish")));
        assertEquals("<|startoftext|>sea turtle <|endoftext|>!!", openAi.decode(openAi.tokenize("sea turtle", 7, false)));
        assertThrows(IllegalArgumentException.class, () -> openAi.decode(new int[] {541}));
    }

    @Test
    void huggingFaceFilesUseTheIdsOfVocabJson() throws IOException {
        // A vocab.json with ids unrelated to the OpenAI layout: only the final symbols, the merge
        // products and the special tokens are listed; intermediate single characters need no id.
        String vocab = "{\"x</w>\": 100, \".</w>\": 101, \"en\": 200, \"ten\": 201, \"ch</w>\": 202, \"tench</w>\": 203,"
                + " \"fi\": 204, \"sh</w>\": 205, \"fish</w>\": 206, \"go\": 207, \"ld\": 208, \"gold\": 209,"
                + " \"<|startoftext|>\": 300, \"<|endoftext|>\": 301}";
        String merges = "#version: 0.2\n" + String.join("\n", SmallVocab.MERGES.subList(0, 10)) + "\n";
        ClipTokenizer hf = ClipTokenizer.fromHuggingFace(SmallVocab.write(dir, "vocab.json", vocab),
                SmallVocab.write(dir, "merges.txt", merges));
        assertEquals(300, hf.sot());
        assertEquals(301, hf.eot());
        // Same merges as above, so the same symbols: x</w> tench</w> .</w> and x</w> gold fish</w> .</w>.
        assertArrayEquals(new int[] {100, 203, 101}, hf.encode("X tench."));
        assertArrayEquals(new int[] {100, 209, 206, 101}, hf.encode("X  goldfish ."));
        assertArrayEquals(new int[] {300, 100, 203, 101, 301, 0, 0, 0}, hf.tokenize("X tench.", 8, false));
        // "sea" needs the single symbols s, e, a</w>, which this vocab.json lacks.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> hf.encode("sea"));
        assertTrue(e.getMessage().contains("not in the vocabulary"), e.getMessage());
    }

    @Test
    void huggingFaceExportOfTheOpenAiVocabularyGivesTheSameIds() throws IOException {
        // HF's vocab.json/merges.txt for CLIP are the OpenAI vocabulary written out; do the same here.
        StringBuilder json = new StringBuilder("{");
        for (int id = 0; id < openAi.vocabSize(); id++) {
            if (id > 0) json.append(", ");
            json.append(SmallVocab.jsonString(openAi.symbol(id))).append(": ").append(id);
        }
        json.append('}');
        String merges = "#version: 0.2\n" + String.join("\n", SmallVocab.MERGES);
        ClipTokenizer hf = ClipTokenizer.fromHuggingFace(SmallVocab.write(dir, "vocab.json", json.toString()),
                SmallVocab.write(dir, "merges.txt", merges));
        List<String> names = new ArrayList<>(List.of("X tench.", "aquarium_fish", "Sea Turtle", "X  goldfish .", "café",
                "ß", "fish &amp; chips", "Tench's", "X sweet_pepper.", "2 Gold-Fish!"));
        for (String name : names) assertArrayEquals(openAi.tokenize(name), hf.tokenize(name), name);
    }

    @Test
    void tokenizerIsSafeToShareAcrossThreads() throws Exception {
        List<String> names = List.of("X tench.", "aquarium_fish", "Sea Turtle", "X  goldfish .", "café");
        List<int[]> expected = new ArrayList<>();
        for (String n : names) expected.add(openAi.tokenize(n));
        ClipTokenizer fresh = ClipTokenizer.fromOpenAiBpe(SmallVocab.writeOpenAi(dir));
        List<Thread> threads = new ArrayList<>();
        List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
        for (int t = 0; t < 4; t++) {
            Thread th = new Thread(() -> {
                try {
                    for (int round = 0; round < 200; round++) {
                        for (int i = 0; i < names.size(); i++) assertArrayEquals(expected.get(i), fresh.tokenize(names.get(i)));
                    }
                } catch (Throwable err) {
                    failures.add(err);
                }
            });
            threads.add(th);
            th.start();
        }
        for (Thread th : threads) th.join();
        assertTrue(failures.isEmpty(), failures.toString());
    }
}
