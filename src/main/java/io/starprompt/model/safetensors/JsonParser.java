package io.starprompt.model.safetensors;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A minimal strict JSON parser (RFC 8259) for safetensors headers, so that the library needs no
 * JSON dependency. Objects become {@code LinkedHashMap<String, Object>} (key order kept), arrays
 * {@code List<Object>}, strings {@code String}, numbers {@link JsonNumber} (the literal text:
 * the header only needs integers, and keeping the text lets the caller reject fractions instead
 * of silently rounding them), {@code true}/{@code false} {@code Boolean}, and {@code null}
 * {@link #NULL}. Duplicate keys are an error at every level, since a header with two entries of
 * the same name is ambiguous. Nesting is limited so that a hostile header cannot overflow the stack.
 */
final class JsonParser {
    /** The JSON {@code null} literal (a Java null could not be told apart from a missing key). */
    static final Object NULL = new Object() {
        @Override
        public String toString() {
            return "null";
        }
    };

    /** A JSON number as written, validated against the JSON grammar. */
    record JsonNumber(String text) {
        @Override
        public String toString() {
            return text;
        }
    }

    /** A syntax error; the message gives the character position. */
    static final class JsonException extends Exception {
        private static final long serialVersionUID = 1L;

        JsonException(String message) {
            super(message);
        }
    }

    // A safetensors header is an object of objects of arrays: depth 3. Leave room, but stay far
    // from the recursion depth that would overflow a thread stack.
    private static final int MAX_DEPTH = 32;

    private final String text;
    private int pos;

    private JsonParser(String text) {
        this.text = text;
    }

    /** Parses one JSON value that may be surrounded by whitespace and nothing else. */
    static Object parse(String text) throws JsonException {
        JsonParser p = new JsonParser(text);
        p.skipWhitespace();
        Object value = p.parseValue(0);
        p.skipWhitespace();
        if (p.pos != text.length()) throw p.error("unexpected " + p.describeCurrent() + " after the JSON value");
        return value;
    }

    private Object parseValue(int depth) throws JsonException {
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
                return literal("null", NULL);
            default:
                if (c == '-' || isDigit(c)) return parseNumber();
                throw error("unexpected " + describeCurrent() + ", expected a value");
        }
    }

    private Map<String, Object> parseObject(int depth) throws JsonException {
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

    private List<Object> parseArray(int depth) throws JsonException {
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

    private String parseString() throws JsonException {
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

    private char parseEscape() throws JsonException {
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

    private char parseUnicodeEscape() throws JsonException {
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
    private JsonNumber parseNumber() throws JsonException {
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
        return new JsonNumber(text.substring(start, pos));
    }

    private boolean consumeDigits() {
        int start = pos;
        while (pos < text.length() && isDigit(text.charAt(pos))) pos++;
        return pos > start;
    }

    private Object literal(String word, Object value) throws JsonException {
        if (!text.startsWith(word, pos)) throw error("unexpected " + describeCurrent() + ", expected a value");
        pos += word.length();
        return value;
    }

    private void expect(char c) throws JsonException {
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

    private JsonException error(String problem) {
        return new JsonException(problem + " at character " + pos);
    }
}
