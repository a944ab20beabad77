package io.starprompt.fuzz;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Several files as one fuzz input, for formats that are a folder of files: each file is a marker
 * line {@code "\n%%FILE <name>\n"} followed by its bytes. A mutation may hit any of the files, or
 * several, or a marker: a damaged marker merges a file into the one before it, or gives it
 * another name, which is one more way for a file to go missing.
 */
public final class FileBundle {
    private static final byte[] MARK = "\n%%FILE ".getBytes(StandardCharsets.US_ASCII);
    private static final Pattern SAFE_NAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    private FileBundle() {}

    /**
     * The files in map order, as one input.
     *
     * @param files file name to content
     * @return the bundle
     */
    public static byte[] pack(Map<String, byte[]> files) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        files.forEach((name, bytes) -> {
            out.writeBytes(MARK);
            out.writeBytes((name + "\n").getBytes(StandardCharsets.US_ASCII));
            out.writeBytes(bytes);
        });
        return out.toByteArray();
    }

    /**
     * The files of a (possibly mutated) bundle: bytes before the first marker are dropped, a name
     * that is not a plain file name (letters, digits, '.', '_', '-') drops its file, a repeated
     * name keeps the last one.
     *
     * @param bundle the input
     * @return file name to content, in bundle order
     */
    public static Map<String, byte[]> unpack(byte[] bundle) {
        Map<String, byte[]> files = new LinkedHashMap<>();
        int at = indexOf(bundle, MARK, 0);
        while (at >= 0) {
            int nameStart = at + MARK.length;
            int nameEnd = nameStart;
            while (nameEnd < bundle.length && bundle[nameEnd] != '\n') nameEnd++;
            if (nameEnd >= bundle.length) break;
            int next = indexOf(bundle, MARK, nameEnd + 1);
            int end = next < 0 ? bundle.length : next;
            String name = new String(bundle, nameStart, nameEnd - nameStart, StandardCharsets.ISO_8859_1);
            if (SAFE_NAME.matcher(name).matches() && !name.equals(".") && !name.equals("..")) {
                files.put(name, Arrays.copyOfRange(bundle, nameEnd + 1, end));
            }
            at = next;
        }
        return files;
    }

    /**
     * Replaces the regular files directly in dir by the files of a bundle (subfolders are left
     * alone; a file named like one of them is dropped).
     *
     * @param dir    the folder, created if needed
     * @param bundle the input
     * @return dir
     */
    public static Path writeInto(Path dir, byte[] bundle) {
        try {
            Files.createDirectories(dir);
            Map<String, byte[]> files = unpack(bundle);
            try (Stream<Path> old = Files.list(dir)) {
                for (Path p : (Iterable<Path>) old::iterator) {
                    if (!files.containsKey(p.getFileName().toString()) && Files.isRegularFile(p)) Files.delete(p);
                }
            }
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                Path file = dir.resolve(f.getKey());
                if (!Files.isDirectory(file)) Files.write(file, f.getValue()); // a name taken by a subfolder: dropped
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int indexOf(byte[] b, byte[] pattern, int from) {
        outer:
        for (int i = Math.max(from, 0); i <= b.length - pattern.length; i++) {
            for (int j = 0; j < pattern.length; j++) {
                if (b[i + j] != pattern[j]) continue outer;
            }
            return i;
        }
        return -1;
    }
}
