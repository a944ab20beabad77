package io.starprompt.util;

import java.lang.reflect.Array;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small strict JSON parser (RFC 8259) for safetensors headers and configuration files
 * (meta.json, HF config.json, vocab.json), so that the library needs no JSON dependency. Objects
 * become {@code LinkedHashMap<String, Object>} (key order kept), arrays {@code List<Object>},
 * strings {@code String}, numbers {@code Double} (after checking the JSON number grammar),
 * {@code true}/{@code false} {@code Boolean}, and {@code null} Java null. Duplicate keys are an
 * error at every level (two entries of one name are ambiguous). Nesting is limited so that a
 * hostile file cannot overflow the stack. Malformed input is an IllegalArgumentException whose
 * message gives the character position.
 *
 * <p>{@link #write} is the inverse for the values a report or config needs: whatever it writes,
 * {@link #parse} reads back to equal values (see there for the number rules).
 */
public final class Json {
    // Headers and configs nest three or four levels. Leave room, but stay far from the recursion
    // depth that would overflow a thread stack.
    /** Deepest nesting of arrays and objects accepted. */
    public static final int MAX_DEPTH = 32;

    private final String text;
    private int pos;

    private Json(String text) {
        this.text = text;
    }

    /**
     * Parses one JSON value that may be surrounded by whitespace and nothing else.
     *
     * @param text the JSON text
     * @return the value (see the class comment for the Java types)
     * @throws IllegalArgumentException if the text is not one well-formed JSON value, nests deeper
     *     than the limit, or repeats a key; the message gives the character position
     */
    public static Object parse(String text) {
        Json p = new Json(text);
        p.skipWhitespace();
        Object value = p.parseValue(0);
        p.skipWhitespace();
        if (p.pos != text.length()) throw p.error("unexpected " + p.describeCurrent() + " after the JSON value");
        return value;
    }

    /**
     * As {@link #parse(String)}, with error messages that begin with {@code source} (a file name,
     * say): {@code "config.json: malformed JSON: ... at character 17"}.
     *
     * @param text   the JSON text
     * @param source what the text came from, for messages
     * @return the value
     * @throws IllegalArgumentException naming the source if the text is not well-formed JSON
     */
    public static Object parse(String text, String source) {
        try {
            return parse(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
    }

    private Object parseValue(int depth) {
        if (depth > MAX_DEPTH) throw error("nesting deeper than " + MAX_DEPTH + " levels");
        if (pos >= text.length()) throw error("unexpected end of input, expected a value");
        char c = text.charAt(pos);
        switch (c) {
            case '{':
                return parseObject(depth);
            case '[':
                return parseArray(depth);
            case '"':
                return parseString();
            case 't':
                return literal("true", Boolean.TRUE);
            case 'f':
                return literal("false", Boolean.FALSE);
            case 'n':
                return literal("null", null);
            default:
                if (c == '-' || isDigit(c)) return parseNumber();
                throw error("unexpected " + describeCurrent() + ", expected a value");
        }
    }

    private Map<String, Object> parseObject(int depth) {
        Map<String, Object> map = new LinkedHashMap<>();
        expect('{');
        skipWhitespace();
        if (tryConsume('}')) return map;
        while (true) {
            skipWhitespace();
            int keyPos = pos;
            if (pos >= text.length() || text.charAt(pos) != '"') throw error("expected a string key");
            String key = parseString();
            if (map.containsKey(key)) {
                pos = keyPos;
                throw error("duplicate key '" + key + "'");
            }
            skipWhitespace();
            expect(':');
            skipWhitespace();
            map.put(key, parseValue(depth + 1));
            skipWhitespace();
            if (tryConsume('}')) return map;
            expect(',');
        }
    }

    private List<Object> parseArray(int depth) {
        List<Object> list = new ArrayList<>();
        expect('[');
        skipWhitespace();
        if (tryConsume(']')) return list;
        while (true) {
            skipWhitespace();
            list.add(parseValue(depth + 1));
            skipWhitespace();
            if (tryConsume(']')) return list;
            expect(',');
        }
    }

    private String parseString() {
        expect('"');
        StringBuilder sb = new StringBuilder();
        while (true) {
            if (pos >= text.length()) throw error("unterminated string");
            char c = text.charAt(pos++);
            if (c == '"') return sb.toString();
            if (c == '\\') {
                sb.append(parseEscape());
            } else if (c < 0x20) {
                pos--;
                throw error("unescaped control character U+" + String.format("%04X", (int) c) + " in a string");
            } else {
                sb.append(c);
            }
        }
    }

    private char parseEscape() {
        if (pos >= text.length()) throw error("unterminated escape");
        char c = text.charAt(pos++);
        switch (c) {
            case '"': return '"';
            case '\\': return '\\';
            case '/': return '/';
            case 'b': return '\b';
            case 'f': return '\f';
            case 'n': return '\n';
            case 'r': return '\r';
            case 't': return '\t';
            case 'u': return parseUnicodeEscape();
            default:
                pos--;
                throw error("invalid escape '\\" + c + "'");
        }
    }

    private char parseUnicodeEscape() {
        if (pos + 4 > text.length()) throw error("truncated \\u escape");
        int v = 0;
        for (int i = 0; i < 4; i++) {
            int d = hexDigit(text.charAt(pos + i));
            if (d < 0) throw error("invalid \\u escape");
            v = v * 16 + d;
        }
        pos += 4;
        return (char) v;
    }

    /** ASCII hex digits only: Character.digit would also accept non-ASCII digits. */
    private static int hexDigit(char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }

    /** Checks the JSON number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
    private Double parseNumber() {
        int start = pos;
        tryConsume('-');
        if (tryConsume('0')) {
            // a leading zero may not be followed by more digits
        } else if (!consumeDigits()) {
            throw error("invalid number");
        }
        if (tryConsume('.') && !consumeDigits()) throw error("invalid number: no digits after '.'");
        if (tryConsume('e') || tryConsume('E')) {
            if (!tryConsume('+')) tryConsume('-');
            if (!consumeDigits()) throw error("invalid number: no digits in the exponent");
        }
        Double value = Double.valueOf(text.substring(start, pos));
        if (value.isInfinite()) {
            // JSON has no infinity; 1e400 would otherwise become one and pass as "a huge integer".
            pos = start;
            throw error("number " + abbreviate(text.substring(start, start + Math.min(40, text.length() - start)))
                    + " is beyond the range of a double");
        }
        return value;
    }

    private static String abbreviate(String s) {
        int end = 0;
        while (end < s.length() && "+-.0123456789eE".indexOf(s.charAt(end)) >= 0) end++;
        return end < 40 ? s.substring(0, end) : s.substring(0, end) + "...";
    }

    private boolean consumeDigits() {
        int start = pos;
        while (pos < text.length() && isDigit(text.charAt(pos))) pos++;
        return pos > start;
    }

    private Object literal(String word, Object value) {
        if (!text.startsWith(word, pos)) throw error("unexpected " + describeCurrent() + ", expected a value");
        pos += word.length();
        return value;
    }

    private void expect(char c) {
        if (!tryConsume(c)) throw error("expected '" + c + "' but found " + describeCurrent());
    }

    private boolean tryConsume(char c) {
        if (pos < text.length() && text.charAt(pos) == c) {
            pos++;
            return true;
        }
        return false;
    }

    private void skipWhitespace() {
        while (pos < text.length()) {
            char c = text.charAt(pos);
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
            pos++;
        }
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private String describeCurrent() {
        if (pos >= text.length()) return "end of input";
        char c = text.charAt(pos);
        return c >= 0x20 && c < 0x7f ? "'" + c + "'" : String.format("U+%04X", (int) c);
    }

    private IllegalArgumentException error(String problem) {
        return new IllegalArgumentException("malformed JSON: " + problem + " at character " + pos);
    }

    /**
     * Follows object keys (and list indices given as numbers) from root; null if absent.
     *
     * @param root the parsed JSON
     * @param keys object keys or list indices
     * @return the value, or null
     */
    public static Object path(Object root, Object... keys) {
        Object cur = root;
        for (Object k : keys) {
            if (cur instanceof Map<?, ?> m && k instanceof String s) cur = m.get(s);
            else if (cur instanceof List<?> l && k instanceof Integer i && i >= 0 && i < l.size()) cur = l.get(i);
            else return null;
        }
        return cur;
    }

    /**
     * The integer at the path; IllegalArgumentException naming the path if absent, not integral
     * or outside the 32-bit range (1e10 is refused, not clamped).
     *
     * @param root the parsed JSON
     * @param keys object keys
     * @return the integer
     */
    public static int intAt(Object root, String... keys) {
        Object v = path(root, (Object[]) keys);
        if (!(v instanceof Double d) || d != Math.rint(d) || d < Integer.MIN_VALUE || d > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("expected a 32-bit integer at " + String.join(".", keys) + ", found " + v);
        }
        return d.intValue();
    }

    /**
     * The number at the path; IllegalArgumentException naming the path if absent.
     *
     * @param root the parsed JSON
     * @param keys object keys
     * @return the number
     */
    public static double doubleAt(Object root, String... keys) {
        Object v = path(root, (Object[]) keys);
        if (!(v instanceof Double d)) {
            throw new IllegalArgumentException("expected a number at " + String.join(".", keys) + ", found " + v);
        }
        return d;
    }

    // ------------------------------------------------------------------ writing

    /**
     * Writes value as indented JSON (two spaces per level, keys in the map's iteration order,
     * arrays of scalars on one line), ending with a newline. Accepted values: null,
     * {@link Boolean}, {@link Number}, {@link CharSequence}, {@link Enum} (its name), a
     * {@link Map} with string keys, an {@link Iterable} and any Java array of these.
     *
     * <p>Numbers are written so that {@link #parse} gives them back exactly: a double as
     * {@link Double#toString} (the shortest decimal that rounds back to the same double), a
     * float as {@link Float#toString} (exact once narrowed back to float), integers in full
     * (exact as doubles up to 2^53). NaN and the infinities have no JSON form and are written as
     * null.
     *
     * @param value the value
     * @return the JSON text
     * @throws IllegalArgumentException for another type, a non-string key, or nesting deeper than
     *     the parser accepts (which also catches a structure that contains itself)
     */
    public static String write(Object value) {
        StringBuilder sb = new StringBuilder();
        writeValue(sb, value, 0, true);
        return sb.append('\n').toString();
    }

    /**
     * As {@link #write}, on one line without a trailing newline: one record of a JSON-lines stream.
     *
     * @param value the value
     * @return the JSON text
     */
    public static String writeLine(Object value) {
        StringBuilder sb = new StringBuilder();
        writeValue(sb, value, 0, false);
        return sb.toString();
    }

    private static void writeValue(StringBuilder sb, Object value, int depth, boolean pretty) {
        if (depth > MAX_DEPTH) {
            throw new IllegalArgumentException("json: nesting deeper than " + MAX_DEPTH + " levels (a cycle?)");
        }
        if (value == null) sb.append("null");
        else if (value instanceof Boolean b) sb.append(b);
        else if (value instanceof Number n) sb.append(number(n));
        else if (value instanceof CharSequence s) quote(sb, s);
        else if (value instanceof Enum<?> e) quote(sb, e.name());
        else if (value instanceof Map<?, ?> m) writeObject(sb, m, depth, pretty);
        else if (value instanceof Iterable<?> it) writeArray(sb, it.iterator(), depth, pretty);
        else if (value.getClass().isArray()) writeArray(sb, arrayIterator(value), depth, pretty);
        else throw new IllegalArgumentException("json: cannot write a " + value.getClass().getName());
    }

    private static void writeObject(StringBuilder sb, Map<?, ?> map, int depth, boolean pretty) {
        if (map.isEmpty()) {
            sb.append("{}");
            return;
        }
        sb.append('{');
        String sep = pretty ? "\n" : "";
        for (Map.Entry<?, ?> e : map.entrySet()) {
            if (!(e.getKey() instanceof CharSequence key)) {
                throw new IllegalArgumentException("json: object keys must be strings, found " + e.getKey());
            }
            sb.append(sep);
            if (pretty) indent(sb, depth + 1);
            quote(sb, key);
            sb.append(pretty ? ": " : ":");
            writeValue(sb, e.getValue(), depth + 1, pretty);
            sep = pretty ? ",\n" : ",";
        }
        if (pretty) {
            sb.append('\n');
            indent(sb, depth);
        }
        sb.append('}');
    }

    /** Scalars stay on one line (a loss curve is one row); anything nested gets a line per element. */
    private static void writeArray(StringBuilder sb, Iterator<?> elements, int depth, boolean pretty) {
        List<Object> items = new ArrayList<>();
        elements.forEachRemaining(items::add);
        boolean flat = !pretty || items.stream().allMatch(Json::isScalar);
        sb.append('[');
        for (int i = 0; i < items.size(); i++) {
            if (i > 0) sb.append(flat && pretty ? ", " : ",");
            if (!flat) {
                sb.append('\n');
                indent(sb, depth + 1);
            }
            writeValue(sb, items.get(i), depth + 1, pretty);
        }
        if (!flat) {
            sb.append('\n');
            indent(sb, depth);
        }
        sb.append(']');
    }

    private static boolean isScalar(Object v) {
        return v == null || v instanceof Boolean || v instanceof Number || v instanceof CharSequence || v instanceof Enum;
    }

    private static Iterator<Object> arrayIterator(Object array) {
        int n = Array.getLength(array);
        List<Object> items = new ArrayList<>(n);
        for (int i = 0; i < n; i++) items.add(Array.get(array, i));
        return items.iterator();
    }

    private static String number(Number n) {
        if (n instanceof Double d) return Double.isFinite(d) ? Double.toString(d) : "null";
        if (n instanceof Float f) return Float.isFinite(f) ? Float.toString(f) : "null";
        if (n instanceof Integer || n instanceof Long || n instanceof Short || n instanceof Byte
                || n instanceof BigInteger) {
            return n.toString();
        }
        if (n instanceof BigDecimal b) return b.toString();
        double d = n.doubleValue(); // AtomicLong and other Number kinds
        return Double.isFinite(d) ? Double.toString(d) : "null";
    }

    private static void quote(StringBuilder sb, CharSequence s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        sb.append('"');
    }

    private static void indent(StringBuilder sb, int depth) {
        sb.append("  ".repeat(depth));
    }
}
