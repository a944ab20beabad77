package io.starprompt.fuzz;

import io.starprompt.model.tokenizer.ClipTokenizer;
import io.starprompt.util.Gzip;
import io.starprompt.util.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The BPE loaders on mutated files: HF {@code vocab.json} (with valid merges), HF
 * {@code merges.txt} (with a valid vocabulary) and OpenAI's gzip-compressed merges. A loaded
 * tokenizer must also tokenize a caption; anything else is an IllegalArgumentException naming
 * the file.
 */
class TokenizerFuzzTest {
    private static final String CAPTION = "a photo of the cat, and the dog.";

    @TempDir(factory = Fuzzer.MemoryTempDir.class)
    static Path dir;
    private static byte[] vocabJson;
    private static byte[] mergesTxt;

    /** Letters and '.' and ',' with and without the end-of-word marker, the merges' products, SOT and EOT. */
    @BeforeAll
    static void smallVocabulary() {
        List<String> merges = List.of("t h", "th e</w>", "a n", "an d</w>", "p h", "ph o", "t o</w>", "pho to</w>",
                "o f</w>", "c a", "ca t</w>", "d o", "do g</w>", "th e");
        Map<String, Integer> vocab = new LinkedHashMap<>();
        List<String> base = new ArrayList<>();
        for (char c = 'a'; c <= 'z'; c++) base.add(String.valueOf(c));
        base.add(".");
        base.add(",");
        for (String s : base) vocab.put(s, vocab.size());
        for (String s : base) vocab.put(s + "</w>", vocab.size());
        for (String m : merges) vocab.putIfAbsent(m.replace(" ", ""), vocab.size());
        vocab.put(ClipTokenizer.START_OF_TEXT, vocab.size());
        vocab.put(ClipTokenizer.END_OF_TEXT, vocab.size());
        vocabJson = Json.write(vocab).getBytes(StandardCharsets.UTF_8);
        mergesTxt = ("#version: 0.2\n" + String.join("\n", merges) + "\n").getBytes(StandardCharsets.UTF_8);
    }

    private static void use(ClipTokenizer t) {
        int[] ids = t.tokenize(CAPTION);
        if (ids.length != ClipTokenizer.DEFAULT_CONTEXT_LENGTH || ids[0] != t.sot()) {
            throw new AssertionError("bad tokenization " + java.util.Arrays.toString(ids));
        }
    }

    @Test
    void huggingFaceVocabulary() {
        Path vocab = dir.resolve("vocab.json");
        Path merges = Fuzzer.write(dir.resolve("merges-ok.txt"), mergesTxt);
        Fuzzer.target("bpe vocab.json")
                .seeds(vocabJson)
                .parse(bytes -> use(ClipTokenizer.fromHuggingFace(Fuzzer.write(vocab, bytes), merges)))
                .source("vocab.json")
                .run();
    }

    @Test
    void huggingFaceMerges() {
        Path vocab = Fuzzer.write(dir.resolve("vocab-ok.json"), vocabJson);
        Path merges = dir.resolve("merges.txt");
        Fuzzer.target("bpe merges.txt")
                .seeds(mergesTxt)
                .parse(bytes -> use(ClipTokenizer.fromHuggingFace(vocab, Fuzzer.write(merges, bytes))))
                .source(merges.toString())
                .run();
    }

    @Test
    void openAiMerges() {
        Path bpe = dir.resolve("bpe_simple_vocab.txt.gz");
        Fuzzer.target("bpe openai .txt.gz")
                .seeds(Gzip.compress(mergesTxt), mergesTxt)
                .parse(bytes -> use(ClipTokenizer.fromOpenAiBpe(Fuzzer.write(bpe, bytes))))
                .source(bpe.toString())
                .run();
    }
}
