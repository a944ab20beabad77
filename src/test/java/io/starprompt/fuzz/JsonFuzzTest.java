package io.starprompt.fuzz;

import io.starprompt.GoldenSet;
import io.starprompt.util.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.junit.jupiter.api.Test;

/**
 * The JSON parser on mutated documents: every input parses or is refused with an
 * IllegalArgumentException naming the source, and whatever parses survives a write and a
 * second parse unchanged.
 */
class JsonFuzzTest {
    private static final String SOURCE = "fuzz.json";

    static byte[][] seeds() throws IOException {
        return new byte[][] {
            Files.readAllBytes(GoldenSet.dir().resolve("meta.json")),
            Files.readAllBytes(GoldenSet.dir().resolve("clip_config.json")),
            utf8("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},\"__metadata__\":{\"a\":\"b\"}}"),
            utf8("[1, -2.5, 3e10, 0.25E-3, -0, true, false, null, \"\", \"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"]"),
            utf8("{\"<|startoftext|>\": 49406, \"</w>\": 1, \"caf\u00e9\": 2, \"\u4e2d\": 3, \"deep\": [[[[{\"x\": [[]]}]]]]}"),
            utf8("  \"just a string\"  "),
        };
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Parses, writes back, parses again: the two values must be equal. */
    static void parseAndRoundTrip(byte[] bytes) {
        Object value = Json.parse(new String(bytes, StandardCharsets.UTF_8), SOURCE);
        Object again = Json.parse(Json.write(value), "written");
        if (!sameJson(value, again)) {
            throw new AssertionError("write/parse round trip changed " + Json.write(value) + " into " + Json.write(again));
        }
    }

    /** Equality of parsed JSON, with numbers compared by value (0.0 equals -0.0, as in JSON). */
    private static boolean sameJson(Object a, Object b) {
        if (a instanceof Double x && b instanceof Double y) return x.doubleValue() == y.doubleValue();
        if (a instanceof Map<?, ?> m && b instanceof Map<?, ?> n) {
            if (!m.keySet().equals(n.keySet())) return false;
            for (Object k : m.keySet()) if (!sameJson(m.get(k), n.get(k))) return false;
            return true;
        }
        if (a instanceof List<?> l && b instanceof List<?> k) {
            if (l.size() != k.size()) return false;
            for (int i = 0; i < l.size(); i++) if (!sameJson(l.get(i), k.get(i))) return false;
            return true;
        }
        return Objects.equals(a, b);
    }

    @Test
    void jsonParser() throws IOException {
        Fuzzer.target("json")
                .seeds(seeds())
                .parse(JsonFuzzTest::parseAndRoundTrip)
                .source(SOURCE)
                .run();
    }
}
