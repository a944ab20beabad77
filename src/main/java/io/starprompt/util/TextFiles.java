package io.starprompt.util;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reading small text files (configs, vocabularies, merges) from untrusted places: the size is
 * checked before anything is read, the text must be strict UTF-8, and every problem is an
 * IllegalArgumentException whose message starts with the file.
 */
public final class TextFiles {
    private TextFiles() {}

    /**
     * The whole file as UTF-8 text.
     *
     * @param file     the file
     * @param maxBytes the largest size accepted
     * @return the text
     * @throws IllegalArgumentException naming the file if it is missing, unreadable, larger than
     *     {@code maxBytes} or not valid UTF-8
     */
    public static String readUtf8(Path file, long maxBytes) {
        return utf8(file, readBytes(file, maxBytes));
    }

    /**
     * The whole file as bytes.
     *
     * @param file     the file
     * @param maxBytes the largest size accepted
     * @return the bytes
     * @throws IllegalArgumentException naming the file if it is missing, unreadable or larger than
     *     {@code maxBytes}
     */
    public static byte[] readBytes(Path file, long maxBytes) {
        try (InputStream in = Files.newInputStream(file)) {
            // A regular file tells its size: refuse before reading. Anything else is counted as it streams.
            if (Files.isRegularFile(file) && Files.size(file) > maxBytes) {
                throw new IllegalArgumentException(file + ": file is " + Files.size(file)
                        + " bytes, larger than the limit of " + maxBytes + " bytes");
            }
            return readAtMost(in, maxBytes, file + ": file");
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(file + ": file not found", e);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /**
     * Reads a stream to its end, refusing more than {@code maxBytes}: the check is made as the
     * bytes arrive, so a stream that expands without bound (a gzip bomb) costs at most that much.
     *
     * @param in       the stream (not closed)
     * @param maxBytes the most bytes accepted
     * @param what     how to name the stream in the message ("vocab.json: file")
     * @return the bytes
     * @throws IllegalArgumentException if the stream holds more than {@code maxBytes}
     * @throws IOException              if reading fails
     */
    public static byte[] readAtMost(InputStream in, long maxBytes, String what) throws IOException {
        int limit = (int) Math.min(maxBytes, Integer.MAX_VALUE - 8);
        byte[] bytes = in.readNBytes(limit);
        if (bytes.length == limit && in.read() >= 0) {
            throw new IllegalArgumentException(what + " is larger than the limit of " + maxBytes + " bytes");
        }
        return bytes;
    }

    /**
     * Strict UTF-8 decoding: a malformed sequence is an error, not a replacement character.
     *
     * @param source what the bytes came from, for the message
     * @param bytes  the bytes
     * @return the text
     * @throws IllegalArgumentException naming the source if the bytes are not valid UTF-8
     */
    public static String utf8(Object source, byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException(source + ": not valid UTF-8 text", e);
        }
    }
}
