package io.starprompt.data.sets;

import io.starprompt.util.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A split file listing a dataset's images: CSV with the header {@code path,label,split} (columns in
 * any order, fields may be double-quoted) or a JSON list of objects with those keys. Entries are
 * returned raw; {@link ImageFolders} resolves paths and labels.
 */
final class SplitFile {
    /** One listed image: the raw path and label, the split, and where it was read (for messages). */
    record Entry(String path, String label, String split, String where) {}

    private static final List<String> COLUMNS = List.of("path", "label", "split");

    private SplitFile() {}

    /**
     * Reads a {@code .csv} or {@code .json} split file; malformed entries are reported and skipped.
     *
     * @throws IllegalArgumentException naming the file if it cannot be read, has another extension,
     *     or has no usable header / is not a JSON list
     */
    static List<Entry> read(Path file, Problems problems) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        String text = readText(file);
        if (name.endsWith(".csv")) return csv(text, file, problems);
        if (name.endsWith(".json")) return json(text, file, problems);
        throw new IllegalArgumentException(file + ": a split file must be .csv or .json");
    }

    private static String readText(Path file) {
        try {
            String text = Files.readString(file, StandardCharsets.UTF_8);
            return text.startsWith("\uFEFF") ? text.substring(1) : text;
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read the split file: " + e.getMessage(), e);
        }
    }

    // ------------------------------------------------------------------ CSV

    private static List<Entry> csv(String text, Path file, Problems problems) {
        String[] lines = text.split("\r?\n", -1);
        int headerLine = firstNonBlank(lines);
        if (headerLine < 0) throw new IllegalArgumentException(file + ": empty split file (expected the header path,label,split)");
        Header h = headerOf(fields(lines[headerLine]), file);
        List<Entry> out = new ArrayList<>();
        for (int i = headerLine + 1; i < lines.length; i++) {
            if (lines[i].isBlank()) continue;
            String where = file + ":" + (i + 1);
            List<String> f = fields(lines[i]);
            if (f == null) {
                problems.add(where, "unterminated quoted field");
            } else if (f.size() != h.width()) {
                problems.add(where, f.size() + " fields, the header has " + h.width());
            } else {
                out.add(new Entry(f.get(h.path()).trim(), f.get(h.label()).trim(), f.get(h.split()).trim(), where));
            }
        }
        return out;
    }

    private static int firstNonBlank(String[] lines) {
        for (int i = 0; i < lines.length; i++) {
            if (!lines[i].isBlank()) return i;
        }
        return -1;
    }

    /** Column positions of path, label and split, and the number of columns. */
    private record Header(int path, int label, int split, int width) {}

    private static Header headerOf(List<String> header, Path file) {
        if (header == null) throw new IllegalArgumentException(file + ": unterminated quoted field in the header");
        List<String> names = header.stream().map(h -> h.trim().toLowerCase(Locale.ROOT)).toList();
        int[] position = new int[COLUMNS.size()];
        for (int k = 0; k < COLUMNS.size(); k++) {
            position[k] = names.indexOf(COLUMNS.get(k));
            if (position[k] < 0) {
                throw new IllegalArgumentException(file + ": the header " + header + " has no column '" + COLUMNS.get(k)
                        + "' (expected path,label,split)");
            }
        }
        return new Header(position[0], position[1], position[2], names.size());
    }

    /** Comma-separated fields with RFC 4180 quoting; null for an unterminated quote. */
    static List<String> fields(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char ch = line.charAt(i);
            if (quoted && ch == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
                cur.append('"');
                i++;
            } else if (ch == '"') {
                quoted = !quoted;
            } else if (ch == ',' && !quoted) {
                out.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(ch);
            }
        }
        if (quoted) return null;
        out.add(cur.toString());
        return out;
    }

    // ------------------------------------------------------------------ JSON

    private static List<Entry> json(String text, Path file, Problems problems) {
        Object root;
        try {
            root = Json.parse(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
        if (!(root instanceof List<?> list)) {
            throw new IllegalArgumentException(file + ": expected a JSON list of {\"path\", \"label\", \"split\"} objects");
        }
        List<Entry> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            String where = file + "[" + i + "]";
            if (!(list.get(i) instanceof Map<?, ?> m)) {
                problems.add(where, "not an object");
                continue;
            }
            String path = jsonString(m.get("path"));
            String label = jsonString(m.get("label"));
            String split = jsonString(m.get("split"));
            if (path == null || label == null || split == null) {
                problems.add(where, "needs string \"path\" and \"split\" and a string or integer \"label\"");
            } else {
                out.add(new Entry(path, label, split, where));
            }
        }
        return out;
    }

    /** A string, or an integral number written without a fraction; null otherwise. */
    private static String jsonString(Object v) {
        if (v instanceof String s) return s;
        if (v instanceof Double d && d == Math.rint(d) && Math.abs(d) < 1e9) return Long.toString(d.longValue());
        return null;
    }
}
