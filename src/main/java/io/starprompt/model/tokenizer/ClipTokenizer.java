package io.starprompt.model.tokenizer;

import io.starprompt.util.Json;
import io.starprompt.util.TextFiles;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

/**
 * The CLIP text tokenizer: OpenAI's {@code SimpleTokenizer} plus {@code clip.tokenize}.
 *
 * <p>Pipeline for {@link #encode}: {@link ClipTextCleaner#clean} (ftfy subset, HTML unescape,
 * white-space collapse, lower-case) → CLIP's pre-tokenisation regex → each piece as UTF-8 bytes
 * mapped to byte-level symbols ({@link ByteUnicode}) → BPE with an end-of-word marker
 * {@code "</w>"} on the last symbol, always merging the adjacent pair of lowest merge rank → ids.
 * {@link #tokenize} wraps the ids as {@code [SOT, ids..., EOT, 0, 0, ...]} of the context length
 * (77 by default), the layout the text tower expects (the EOT, the largest id, marks the pooled
 * position).
 *
 * <p>Instances are immutable apart from a thread-safe BPE cache, so one tokenizer may be shared.
 */
public final class ClipTokenizer {
    /** CLIP's context length. */
    public static final int DEFAULT_CONTEXT_LENGTH = 77;
    /** Merges CLIP reads, 49152 − 256 − 2 = 48894, giving 256 + 256 + 48894 + 2 = 49408 ids. */
    public static final int MAX_MERGES = 49152 - 256 - 2;
    /** Start-of-text token string. */
    public static final String START_OF_TEXT = "<|startoftext|>";
    /** End-of-text token string. */
    public static final String END_OF_TEXT = "<|endoftext|>";
    /** End-of-word marker appended to the last symbol of every pre-token. */
    static final String END_OF_WORD = "</w>";

    /** CLIP's pre-tokenisation pattern; case-insensitive, Unicode letters/numbers/white space. */
    private static final Pattern PRE_TOKEN = Pattern.compile(
            "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
            Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS);
    /** The cache is dropped when it grows past this many pre-tokens (CLIP's is unbounded). */
    private static final int CACHE_LIMIT = 1 << 16;
    /**
     * Largest tokenizer file accepted, and largest decompressed content of a gzip file: CLIP's
     * vocab.json is 1.6 MB, OpenAI's merges 1.4 MB compressed and 5 MB plain.
     */
    public static final long MAX_FILE_BYTES = 64L << 20;

    private final Map<String, Integer> encoder;
    /** Id → symbol; a map, since a hand-made vocab.json may leave ids unused. */
    private final Map<Integer, String> decoder;
    private final int vocabSize;
    /** The vocabulary's file, for messages. */
    private final String source;
    /** "first second" → rank; symbols never contain ' ' (byte 0x20 is U+0120), so the key is unique. */
    private final Map<String, Integer> bpeRanks;
    private final int sot;
    private final int eot;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    private ClipTokenizer(Map<String, Integer> encoder, Map<Integer, String> decoder, Map<String, Integer> bpeRanks,
            String source) {
        this.encoder = encoder;
        this.decoder = decoder;
        this.vocabSize = decoder.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
        this.bpeRanks = bpeRanks;
        this.source = source;
        this.sot = specialId(encoder, START_OF_TEXT, source);
        this.eot = specialId(encoder, END_OF_TEXT, source);
    }

    // ------------------------------------------------------------------ loading

    /**
     * Loads the HF layout: {@code vocab.json} (symbol → id) and {@code merges.txt} (a
     * "#version" header line, then one "first second" pair per line, highest priority first; at
     * most {@link #MAX_MERGES} are read, as HF's CLIPTokenizer does).
     *
     * @param vocabJson the vocabulary
     * @param mergesTxt the merges
     * @return the tokenizer
     * @throws IllegalArgumentException naming the file (and line) if a file is missing, unreadable,
     *     larger than {@link #MAX_FILE_BYTES} or malformed, if a merge produces a symbol absent from
     *     vocab.json, or if the special tokens are missing
     */
    public static ClipTokenizer fromHuggingFace(Path vocabJson, Path mergesTxt) {
        Map<String, Integer> encoder = readVocabJson(vocabJson);
        List<String[]> merges = readMerges(mergesTxt, readUtf8(mergesTxt, false));
        Map<String, Integer> ranks = new HashMap<>();
        for (int i = 0; i < merges.size(); i++) {
            String[] m = merges.get(i);
            String merged = m[0] + m[1];
            if (!encoder.containsKey(merged)) {
                throw new IllegalArgumentException(mergesTxt + ": line " + (i + 2) + ": merge '" + m[0] + " " + m[1]
                        + "' produces '" + merged + "', which is not in " + vocabJson.getFileName());
            }
        }
        return new ClipTokenizer(encoder, invert(encoder), ranksOf(merges), vocabJson.toString());
    }

    /**
     * Loads OpenAI's {@code bpe_simple_vocab_16e6.txt.gz} (gzip-compressed; plain text is also
     * accepted): a version header, then merges. The vocabulary is built as OpenAI CLIP builds it:
     * the 256 byte symbols, the same with {@code "</w>"}, each of the first {@link #MAX_MERGES} merges
     * joined, then {@code <|startoftext|>} and {@code <|endoftext|>} — 49408 ids for the real file.
     *
     * @param bpeFile the BPE file
     * @return the tokenizer
     * @throws IllegalArgumentException naming the file (and line) if it is missing, not valid
     *     gzip/UTF-8, larger than {@link #MAX_FILE_BYTES} (compressed or decompressed), or has a
     *     malformed merge line
     */
    public static ClipTokenizer fromOpenAiBpe(Path bpeFile) {
        List<String[]> merges = readMerges(bpeFile, readUtf8(bpeFile, true));
        List<String> vocab = new ArrayList<>(512 + merges.size() + 2);
        for (char c : ByteUnicode.symbolOrder()) vocab.add(String.valueOf(c));
        for (char c : ByteUnicode.symbolOrder()) vocab.add(c + END_OF_WORD);
        for (String[] m : merges) vocab.add(m[0] + m[1]);
        vocab.add(START_OF_TEXT);
        vocab.add(END_OF_TEXT);
        // Python's dict(zip(vocab, range)): a symbol listed twice keeps its last id, as in CLIP,
        // while the decoder still maps every id to its own entry.
        Map<String, Integer> encoder = new HashMap<>();
        Map<Integer, String> decoder = new HashMap<>();
        for (int id = 0; id < vocab.size(); id++) {
            encoder.put(vocab.get(id), id);
            decoder.put(id, vocab.get(id));
        }
        return new ClipTokenizer(encoder, decoder, ranksOf(merges), bpeFile.toString());
    }

    /** Merge "first second" → rank (line order); like Python's dict, a repeated pair keeps its last rank. */
    private static Map<String, Integer> ranksOf(List<String[]> merges) {
        Map<String, Integer> ranks = new HashMap<>(merges.size() * 2);
        for (int i = 0; i < merges.size(); i++) ranks.put(merges.get(i)[0] + " " + merges.get(i)[1], i);
        return ranks;
    }

    private static String readUtf8(Path file, boolean maybeGzip) {
        byte[] raw = TextFiles.readBytes(file, MAX_FILE_BYTES);
        if (maybeGzip && raw.length >= 2 && (raw[0] & 0xFF) == 0x1F && (raw[1] & 0xFF) == 0x8B) raw = gunzip(file, raw);
        return TextFiles.utf8(file, raw);
    }

    /** Decompresses at most {@link #MAX_FILE_BYTES}: a small file must not expand without bound. */
    private static byte[] gunzip(Path file, byte[] raw) {
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(raw))) {
            return TextFiles.readAtMost(in, MAX_FILE_BYTES, file + ": decompressed content");
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": corrupt gzip data: " + e.getMessage(), e);
        }
    }

    /**
     * Parses merge lines after the "#version" header; at most {@link #MAX_MERGES}, the rest of the
     * file is ignored (the OpenAI file holds ~262k merges, CLIP uses the first 48894). Blank lines
     * are allowed only at the end.
     */
    static List<String[]> readMerges(Path file, String text) {
        String[] lines = text.split("\n", -1);
        if (lines.length == 0 || !lines[0].contains("#version")) {
            throw new IllegalArgumentException(file + ": line 1: expected a '#version' header, found '" + abbreviate(lines[0]) + "'");
        }
        int last = lines.length - 1;
        while (last >= 1 && lines[last].isBlank()) last--;
        int count = Math.min(last, MAX_MERGES);
        List<String[]> merges = new ArrayList<>(count);
        for (int i = 1; i <= count; i++) {
            String[] parts = lines[i].strip().split("\\s+");
            if (parts.length != 2 || parts[0].isEmpty()) {
                throw new IllegalArgumentException(file + ": line " + (i + 1)
                        + ": expected two space-separated symbols, found '" + abbreviate(lines[i]) + "'");
            }
            merges.add(parts);
        }
        return merges;
    }

    private static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 60) + "...";
    }

    private static Map<String, Integer> readVocabJson(Path file) {
        Object root = Json.parse(readUtf8(file, false), file.toString());
        if (!(root instanceof Map<?, ?> map)) {
            throw new IllegalArgumentException(file + ": expected a JSON object of symbol → id");
        }
        Map<String, Integer> encoder = new HashMap<>(map.size() * 2);
        Map<Integer, String> seen = new HashMap<>();
        for (Map.Entry<?, ?> e : map.entrySet()) {
            String symbol = (String) e.getKey();
            if (!(e.getValue() instanceof Double d) || d != Math.rint(d) || d < 0 || d > Integer.MAX_VALUE - 1) {
                throw new IllegalArgumentException(file + ": id of '" + symbol + "' is not a non-negative integer: " + e.getValue());
            }
            int id = d.intValue();
            String previous = seen.put(id, symbol);
            if (previous != null) {
                throw new IllegalArgumentException(file + ": id " + id + " is used by both '" + previous + "' and '" + symbol + "'");
            }
            encoder.put(symbol, id);
        }
        return encoder;
    }

    private static int specialId(Map<String, Integer> encoder, String token, String source) {
        Integer id = encoder.get(token);
        if (id == null) throw new IllegalArgumentException(source + ": vocabulary has no " + token + " token");
        return id;
    }

    private static Map<Integer, String> invert(Map<String, Integer> encoder) {
        Map<Integer, String> decoder = new HashMap<>(encoder.size() * 2);
        for (Map.Entry<String, Integer> e : encoder.entrySet()) decoder.put(e.getValue(), e.getKey());
        return decoder;
    }

    // ------------------------------------------------------------------ encoding

    /**
     * Id of {@code <|startoftext|>} (49406 for CLIP).
     *
     * @return the start-of-text id
     */
    public int sot() {
        return sot;
    }

    /**
     * Id of {@code <|endoftext|>} (49407 for CLIP).
     *
     * @return the end-of-text id
     */
    public int eot() {
        return eot;
    }

    /**
     * Number of ids (largest id + 1); 49408 for CLIP.
     *
     * @return the vocabulary size
     */
    public int vocabSize() {
        return vocabSize;
    }

    /**
     * The BPE ids of {@code text} after CLIP's cleaning, without SOT/EOT.
     *
     * @param text the text
     * @return its ids
     * @throws IllegalArgumentException naming the vocabulary's file if a resulting symbol is not
     *     in the vocabulary (only possible with an incomplete hand-made vocab.json; CLIP's covers
     *     all 256 bytes)
     */
    public int[] encode(String text) {
        String cleaned = ClipTextCleaner.clean(text);
        List<int[]> pieces = new ArrayList<>();
        int total = 0;
        Matcher m = PRE_TOKEN.matcher(cleaned);
        while (m.find()) {
            int[] ids = bpeIds(ByteUnicode.encode(m.group()));
            pieces.add(ids);
            total += ids.length;
        }
        int[] out = new int[total];
        int at = 0;
        for (int[] p : pieces) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    /**
     * {@code clip.tokenize(text)}: {@link #DEFAULT_CONTEXT_LENGTH} ids {@code [SOT, ..., EOT, 0...]}.
     *
     * @param text the text
     * @return 77 ids
     * @throws IllegalArgumentException if the text needs more than 77 ids
     */
    public int[] tokenize(String text) {
        return tokenize(text, DEFAULT_CONTEXT_LENGTH, false);
    }

    /**
     * {@code clip.tokenize(text, context_length, truncate)}: {@code [SOT, ids..., EOT]} padded
     * with zeros to {@code contextLength}. Too long a text is an error, or, with
     * {@code truncate}, is cut to {@code contextLength} ids whose last is replaced by EOT.
     *
     * @param text the text
     * @param contextLength the number of ids
     * @param truncate whether a too long text is cut
     * @return contextLength ids
     * @throws IllegalArgumentException if the text is too long and {@code truncate} is false, or
     *     {@code contextLength < 2}
     */
    public int[] tokenize(String text, int contextLength, boolean truncate) {
        if (contextLength < 2) throw new IllegalArgumentException("context length must be at least 2, got " + contextLength);
        int[] body = encode(text);
        int needed = body.length + 2;
        if (needed > contextLength && !truncate) {
            throw new IllegalArgumentException("text needs " + needed + " tokens, more than the context length "
                    + contextLength + ": \"" + abbreviate(text) + "\"");
        }
        int[] out = new int[contextLength];
        out[0] = sot;
        int n = Math.min(body.length, contextLength - 2);
        System.arraycopy(body, 0, out, 1, n);
        out[n + 1] = eot;
        return out;
    }

    /**
     * {@link #tokenize(String)} for each text: one row of 77 ids per text.
     *
     * @param texts the texts
     * @return one row per text
     */
    public int[][] tokenize(List<String> texts) {
        int[][] out = new int[texts.size()][];
        for (int i = 0; i < out.length; i++) out[i] = tokenize(texts.get(i));
        return out;
    }

    /**
     * OpenAI's {@code decode}: concatenates the symbols, maps them back to bytes, decodes UTF-8
     * (U+FFFD for broken sequences) and turns every {@code "</w>"} into a space. Nothing is stripped:
     * SOT/EOT appear as text and padding zeros as "!", exactly as in the reference.
     *
     * @param ids the ids
     * @return the text
     * @throws IllegalArgumentException for an id outside the vocabulary
     */
    public String decode(int[] ids) {
        StringBuilder symbols = new StringBuilder();
        for (int id : ids) {
            String symbol = decoder.get(id);
            if (symbol == null) throw new IllegalArgumentException(source + ": token id " + id + " is not in the vocabulary");
            symbols.append(symbol);
        }
        return ByteUnicode.decode(symbols).replace(END_OF_WORD, " ");
    }

    // ------------------------------------------------------------------ BPE

    /** Ids of one pre-token (already mapped to byte symbols), through the cache. */
    private int[] bpeIds(String token) {
        int[] cached = cache.get(token);
        if (cached != null) return cached;
        List<String> symbols = bpe(token);
        int[] ids = new int[symbols.size()];
        for (int i = 0; i < ids.length; i++) {
            Integer id = encoder.get(symbols.get(i));
            if (id == null) {
                throw new IllegalArgumentException(source + ": BPE symbol '" + symbols.get(i) + "' of '"
                        + ByteUnicode.decode(token) + "' is not in the vocabulary");
            }
            ids[i] = id;
        }
        if (cache.size() >= CACHE_LIMIT) cache.clear();
        cache.put(token, ids);
        return ids;
    }

    /** Byte-pair encoding of one pre-token; package-private so tests can inspect the symbols. */
    List<String> bpe(String token) {
        // The special tokens are pre-seeded in CLIP's cache and never split.
        if (token.equals(START_OF_TEXT) || token.equals(END_OF_TEXT)) return List.of(token);
        List<String> word = initialSymbols(token);
        while (word.size() > 1) {
            int best = lowestRankedPair(word);
            if (best < 0) break;
            word = mergeAll(word, word.get(best), word.get(best + 1));
        }
        return word;
    }

    /** One symbol per character, the last one carrying the end-of-word marker. */
    private static List<String> initialSymbols(String token) {
        List<String> word = new ArrayList<>(token.length());
        for (int i = 0; i < token.length(); i++) {
            String c = String.valueOf(token.charAt(i));
            word.add(i == token.length() - 1 ? c + END_OF_WORD : c);
        }
        return word;
    }

    /** Index of the left symbol of the adjacent pair with the lowest rank, -1 if none is a merge. */
    private int lowestRankedPair(List<String> word) {
        int best = -1;
        int bestRank = Integer.MAX_VALUE;
        for (int i = 0; i + 1 < word.size(); i++) {
            Integer r = bpeRanks.get(word.get(i) + " " + word.get(i + 1));
            if (r != null && r < bestRank) {
                bestRank = r;
                best = i;
            }
        }
        return best;
    }

    /** Merges every non-overlapping occurrence of (first, second), scanning left to right. */
    private static List<String> mergeAll(List<String> word, String first, String second) {
        List<String> out = new ArrayList<>(word.size());
        for (int i = 0; i < word.size(); ) {
            if (i + 1 < word.size() && word.get(i).equals(first) && word.get(i + 1).equals(second)) {
                out.add(first + second);
                i += 2;
            } else {
                out.add(word.get(i));
                i++;
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return "ClipTokenizer[vocab=" + vocabSize + ", merges=" + bpeRanks.size() + ", sot=" + sot + ", eot=" + eot + "]";
    }

    /** The vocabulary symbol of an id (byte-level characters, {@code "</w>"} included); for tests. */
    String symbol(int id) {
        return decoder.get(id);
    }
}
