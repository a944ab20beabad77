package io.starprompt.data.sets;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * A minimal reader of tar archives (POSIX ustar, GNU long names, pax headers skipped), enough for
 * dataset archives such as {@code cifar-100-binary.tar.gz} without a compression library. Entries
 * are visited once, in archive order; only regular files are returned. Headers are checked against
 * their checksum so that a corrupt archive is refused instead of misread.
 */
final class TarReader {
    /** A regular file of the archive: its path inside the archive and size in bytes. */
    record Entry(String name, long size) {
        /** The last path segment. */
        String baseName() {
            return name.substring(name.lastIndexOf('/') + 1);
        }
    }

    private static final int BLOCK = 512;

    private final InputStream in;
    private final String where;
    /** Bytes of the current entry (data and padding) not read yet. */
    private long pending;

    /**
     * @param in the uncompressed archive stream (e.g. a GZIPInputStream), not closed here
     * @param where names the archive in error messages
     */
    TarReader(InputStream in, String where) {
        this.in = in;
        this.where = where;
    }

    /**
     * Moves to the next regular file, skipping what is left of the current one.
     *
     * @return the entry, or null at the end of the archive
     * @throws IllegalArgumentException naming the archive if it is truncated or corrupt
     */
    Entry next() throws IOException {
        String longName = null;
        while (true) {
            skipFully(pending);
            pending = 0;
            byte[] header = in.readNBytes(BLOCK);
            if (header.length == 0 || isZero(header)) return null;
            if (header.length < BLOCK) throw corrupt("truncated header");
            checkChecksum(header);
            long size = octal(header, 124, 12, "size");
            char type = (char) header[156];
            pending = size + padding(size);
            if (type == 'L') {
                longName = readName(size);
            } else if (type == '0' || type == '\0') {
                return new Entry(longName != null ? longName : name(header), size);
            } else {
                longName = null; // directories, links, pax headers: not needed
            }
        }
    }

    /**
     * Reads the current entry's data in full. Memory grows with the bytes actually read, so a
     * header claiming a huge size cannot cause a huge allocation by itself.
     *
     * @throws IllegalArgumentException naming the archive if the entry is larger than an array can
     *     hold or the archive ends early
     */
    byte[] read(Entry e) throws IOException {
        if (e.size() > Integer.MAX_VALUE - 8) throw corrupt(e.name() + " is too large (" + e.size() + " bytes)");
        byte[] data = in.readNBytes((int) e.size());
        if (data.length < e.size()) throw corrupt(e.name() + " is truncated: " + data.length + " of " + e.size() + " bytes");
        pending -= data.length;
        return data;
    }

    private String readName(long size) throws IOException {
        if (size > 4096) throw corrupt("a long file name of " + size + " bytes");
        byte[] raw = in.readNBytes((int) size);
        if (raw.length < size) throw corrupt("truncated long file name");
        pending -= raw.length;
        return cString(raw, 0, raw.length);
    }

    private static long padding(long size) {
        return (BLOCK - size % BLOCK) % BLOCK;
    }

    private void skipFully(long n) throws IOException {
        long left = n;
        while (left > 0) {
            long skipped = in.skip(left);
            if (skipped <= 0) {
                if (in.read() < 0) throw corrupt("truncated entry data");
                skipped = 1;
            }
            left -= skipped;
        }
    }

    private static boolean isZero(byte[] block) {
        for (byte b : block) {
            if (b != 0) return false;
        }
        return true;
    }

    /** The header checksum: the byte sum with the checksum field itself counted as spaces. */
    private void checkChecksum(byte[] header) {
        long stored = octal(header, 148, 8, "checksum");
        long sum = 0;
        for (int i = 0; i < BLOCK; i++) sum += (i >= 148 && i < 156) ? ' ' : header[i] & 0xFF;
        if (sum != stored) throw corrupt("header checksum mismatch (not a tar archive, or corrupt)");
    }

    private long octal(byte[] header, int offset, int length, String field) {
        if ((header[offset] & 0x80) != 0) throw corrupt("base-256 " + field + " fields are not supported");
        long v = 0;
        boolean digits = false;
        for (int i = offset; i < offset + length; i++) {
            int b = header[i];
            if (b == 0 || (b == ' ' && digits)) break;
            if (b == ' ') continue;
            if (b < '0' || b > '7') throw corrupt("bad octal " + field + " field");
            v = v * 8 + (b - '0');
            digits = true;
        }
        return v;
    }

    private static String name(byte[] header) {
        String name = cString(header, 0, 100);
        boolean ustar = new String(header, 257, 5, StandardCharsets.US_ASCII).equals("ustar");
        String prefix = ustar ? cString(header, 345, 155) : "";
        return prefix.isEmpty() ? name : prefix + "/" + name;
    }

    private static String cString(byte[] b, int offset, int max) {
        int end = offset;
        while (end < offset + max && b[end] != 0) end++;
        return new String(b, offset, end - offset, StandardCharsets.UTF_8);
    }

    private IllegalArgumentException corrupt(String what) {
        return new IllegalArgumentException(where + ": corrupt tar archive: " + what);
    }
}
