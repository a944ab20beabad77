package io.starprompt.model.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/** Bad tokenizer files fail with an IllegalArgumentException naming the file (and the line). */
class ClipTokenizerFilesTest {
    private static final String GOOD_VOCAB = "{\"en\": 5, \"<|startoftext|>\": 6, \"<|endoftext|>\": 7}";

    @TempDir
    Path dir;

    private static void assertRejected(Executable load, Path file, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, load);
        String m = e.getMessage();
        assertTrue(m.contains(file.getFileName().toString()), "file name missing from: " + m);
        for (String f : fragments) assertTrue(m.contains(f), "'" + f + "' missing from: " + m);
    }

    private Path write(String name, String text) throws IOException {
        return SmallVocab.write(dir, name, text);
    }

    @Test
    void missingFiles() throws IOException {
        Path bpe = dir.resolve("absent.txt.gz");
        assertRejected(() -> ClipTokenizer.fromOpenAiBpe(bpe), bpe, "not found");
        Path merges = write("merges.txt", "#version: 0.2\ne n\n");
        Path vocab = dir.resolve("absent-vocab.json");
        assertRejected(() -> ClipTokenizer.fromHuggingFace(vocab, merges), vocab, "not found");
        Path vocabOk = write("vocab.json", GOOD_VOCAB);
        Path noMerges = dir.resolve("absent-merges.txt");
        assertRejected(() -> ClipTokenizer.fromHuggingFace(vocabOk, noMerges), noMerges, "not found");
    }

    @Test
    void malformedMergeLineIsReportedWithItsLineNumber() throws IOException {
        Path bpe = write("bpe.txt", "#version: 0.2\ne n\nt en extra\n");
        assertRejected(() -> ClipTokenizer.fromOpenAiBpe(bpe), bpe, "line 3", "t en extra");
        Path single = write("single.txt", "#version: 0.2\ne n\nlonely\n");
        assertRejected(() -> ClipTokenizer.fromOpenAiBpe(single), single, "line 3");
        Path blank = write("blank.txt", "#version: 0.2\ne n\n\nt en\n");
        assertRejected(() -> ClipTokenizer.fromOpenAiBpe(blank), blank, "line 3");
        Path merges = write("merges.txt", "#version: 0.2\ne n\nt\n");
        Path vocab = write("vocab.json", GOOD_VOCAB);
        assertRejected(() -> ClipTokenizer.fromHuggingFace(vocab, merges), merges, "line 3");
    }

    @Test
    void missingVersionHeader() throws IOException {
        Path bpe = write("noheader.txt", "e n\nt en\n");
        assertRejected(() -> ClipTokenizer.fromOpenAiBpe(bpe), bpe, "line 1", "#version");
    }

    @Test
    void trailingBlankLinesAndCrlfAreAccepted() throws IOException {
        Path bpe = write("crlf.txt", "#version: 0.2\r\ne n\r\nt en\r\n\r\n\n");
        ClipTokenizer t = ClipTokenizer.fromOpenAiBpe(bpe);
        assertEquals(512 + 2 + 2, t.vocabSize());
        // "tenx" = t e n x</w> → t en x</w> → ten x</w>: ids 512 + 1 and 256 + 87.
        assertArrayEquals(new int[] {513, 343}, t.encode("tenx"));
    }

    @Test
    void corruptGzip() throws IOException {
        Path bpe = dir.resolve("broken.txt.gz");
        Files.write(bpe, new byte[] {0x1F, (byte) 0x8B, 8, 0, 1, 2, 3});
        assertRejected(() -> ClipTokenizer.fromOpenAiBpe(bpe), bpe, "gzip");
    }

    @Test
    void invalidUtf8() throws IOException {
        Path bpe = dir.resolve("latin1.txt");
        Files.write(bpe, new byte[] {'#', 'v', 'e', 'r', 's', 'i', 'o', 'n', '\n', (byte) 0xE9, ' ', 'n', '\n'});
        assertRejected(() -> ClipTokenizer.fromOpenAiBpe(bpe), bpe, "UTF-8");
    }

    @Test
    void malformedVocabJson() throws IOException {
        Path merges = write("merges.txt", "#version: 0.2\ne n\n");
        Path truncated = write("truncated.json", "{\"en\": 5,");
        assertRejected(() -> ClipTokenizer.fromHuggingFace(truncated, merges), truncated, "malformed JSON");
        Path array = write("array.json", "[1, 2]");
        assertRejected(() -> ClipTokenizer.fromHuggingFace(array, merges), array, "JSON object");
        Path fraction = write("fraction.json", "{\"en\": 5.5, \"<|startoftext|>\": 6, \"<|endoftext|>\": 7}");
        assertRejected(() -> ClipTokenizer.fromHuggingFace(fraction, merges), fraction, "'en'", "5.5");
        Path duplicate = write("duplicate.json", "{\"en\": 6, \"<|startoftext|>\": 6, \"<|endoftext|>\": 7}");
        assertRejected(() -> ClipTokenizer.fromHuggingFace(duplicate, merges), duplicate, "id 6");
        Path noEot = write("noeot.json", "{\"en\": 5, \"<|startoftext|>\": 6}");
        assertRejected(() -> ClipTokenizer.fromHuggingFace(noEot, merges), noEot, "<|endoftext|>");
    }

    @Test
    void mergeProductMissingFromVocabJson() throws IOException {
        Path vocab = write("vocab.json", GOOD_VOCAB);
        Path merges = write("merges.txt", "#version: 0.2\ne n\nt en\n");
        assertRejected(() -> ClipTokenizer.fromHuggingFace(vocab, merges), merges, "line 3", "'ten'", "vocab.json");
    }

    /** Regression found by fuzzing: errors of a loaded tokenizer did not say which vocabulary they concern. */
    @Test
    void encodingAndDecodingErrorsNameTheVocabulary() throws IOException {
        Path vocab = write("sparse-vocab.json", GOOD_VOCAB);
        Path merges = write("merges.txt", "#version: 0.2\ne n\n");
        ClipTokenizer t = ClipTokenizer.fromHuggingFace(vocab, merges);
        assertEquals(8, t.vocabSize(), "largest id + 1, although ids 0..4 are unused");
        assertRejected(() -> t.encode("xyz"), vocab, "BPE symbol");
        assertRejected(() -> t.decode(new int[] {3}), vocab, "token id 3");
        assertRejected(() -> t.decode(new int[] {8}), vocab, "token id 8");
        assertEquals("en", t.decode(new int[] {5}));
    }

    /** Regression found by fuzzing: a vocab.json id of 10^8 made the loader allocate a 10^8-entry id table. */
    @Test
    void sparseHugeIdsCostNoTable() throws IOException {
        Path vocab = write("huge-id.json", "{\"en\": 100000000, \"<|startoftext|>\": 6, \"<|endoftext|>\": 7}");
        Path merges = write("merges.txt", "#version: 0.2\ne n\n");
        long before = io.starprompt.fuzz.Fuzzer.allocatedBytes();
        ClipTokenizer t = ClipTokenizer.fromHuggingFace(vocab, merges);
        long allocated = io.starprompt.fuzz.Fuzzer.allocatedBytes() - before;
        assertTrue(allocated < 4 << 20, "loading a 3-entry vocabulary allocated " + allocated + " bytes");
        assertEquals(100_000_001, t.vocabSize());
        assertEquals("en", t.decode(new int[] {100_000_000}));
    }
}
