package io.starprompt.model.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Against the real {@code bpe_simple_vocab_16e6.txt.gz}, when one is available: set the system
 * property {@code starprompt.clip.bpe} or the environment variable {@code STARPROMPT_CLIP_BPE} to
 * its path. Skipped otherwise (the file is not part of this repository).
 *
 * <p>The expected ids were produced by OpenAI CLIP's own {@code simple_tokenizer.py} (openai/CLIP
 * at HEAD, {@code SimpleTokenizer().encode}) on the same strings; none of them is changed by ftfy.
 */
class ClipTokenizerRealVocabTest {
    private static ClipTokenizer clip;

    @BeforeAll
    static void load() {
        String path = System.getProperty("starprompt.clip.bpe", System.getenv("STARPROMPT_CLIP_BPE"));
        assumeTrue(path != null && Files.isRegularFile(Path.of(path)),
                "set -Dstarprompt.clip.bpe=/path/to/bpe_simple_vocab_16e6.txt.gz to run");
        clip = ClipTokenizer.fromOpenAiBpe(Path.of(path));
    }

    @Test
    void vocabularyShape() {
        assertEquals(49408, clip.vocabSize());
        assertEquals(49406, clip.sot());
        assertEquals(49407, clip.eot());
    }

    @Test
    void classNamesMatchOpenAiSimpleTokenizer() {
        assertArrayEquals(new int[] {343, 1149, 634, 269}, clip.encode("X tench."));
        assertArrayEquals(new int[] {343, 16814, 318, 2759, 269}, clip.encode("X aquarium_fish."));
        assertArrayEquals(new int[] {2102, 10912}, clip.encode("Sea Turtle"));
        assertArrayEquals(new int[] {343, 40293, 269}, clip.encode("X  goldfish ."));
        assertArrayEquals(new int[] {15304}, clip.encode("café"));
        assertArrayEquals(new int[] {320, 1125, 539, 320, 2368}, clip.encode("a photo of a cat"));
        assertArrayEquals(new int[] {343, 20756, 568, 38526, 269}, clip.encode("X Brewer's Blackbird."));
        assertArrayEquals(new int[] {343, 273, 271, 272, 273, 7869, 332, 274, 16773, 269}, clip.encode("X 2012 BMW M3 coupe."));
        assertArrayEquals(new int[] {343, 3055, 13530, 13799, 318, 3055, 318, 14212, 269},
                clip.encode("X Apple___Cedar_apple_rust."));
        assertArrayEquals(new int[] {343, 546, 1310, 1029, 2352, 527, 13903, 541, 20922, 7219, 15277, 566, 46810, 269},
                clip.encode("X actinic keratosis or intraepithelial carcinoma."));
        assertArrayEquals(new int[] {536, 261, 339, 283, 321, 285, 261, 5811, 273, 271, 273, 271, 3937},
                clip.encode("AT&amp;T &lt;b&gt; &amp;amp; &copy 2020 &#x41;&#66;"));
        assertArrayEquals(new int[] {16327, 2074, 95, 42725, 1628}, clip.encode("emoji 🐢🐠 test"));
    }

    @Test
    void tokenizeLayout() {
        int[] ids = clip.tokenize("X tench.");
        assertEquals(77, ids.length);
        assertArrayEquals(new int[] {49406, 343, 1149, 634, 269, 49407, 0}, java.util.Arrays.copyOf(ids, 7));
    }
}
