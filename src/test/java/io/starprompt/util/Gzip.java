package io.starprompt.util;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.zip.GZIPOutputStream;

/** Gzip for the tests that write compressed fixtures (dataset archives, tokenizer merges). */
public final class Gzip {
    private Gzip() {}

    /**
     * The bytes, gzip-compressed.
     *
     * @param data the uncompressed bytes
     * @return a complete gzip stream of them
     */
    public static byte[] compress(byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
