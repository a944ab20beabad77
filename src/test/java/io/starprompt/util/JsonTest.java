package io.starprompt.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The header parser accepts exactly JSON. */
class JsonTest {
    @Test
    void parsesAllValueKinds() {
        Object v = Json.parse(" {\"a\" : [1, -2.5e3, 0], \"b\":{\"c\":\"x\"}, \"t\":true, \"f\":false, \"n\":null}\n");
        Map<?, ?> m = (Map<?, ?>) v;
        assertEquals(List.of(1.0, -2500.0, 0.0), m.get("a"));
        assertEquals(Map.of("c", "x"), m.get("b"));
        assertEquals(Boolean.TRUE, m.get("t"));
        assertEquals(Boolean.FALSE, m.get("f"));
        assertTrue(m.containsKey("n") && m.get("n") == null);
        assertEquals(List.of("a", "b", "t", "f", "n"), List.copyOf(m.keySet()), "key order kept");
    }

    @Test
    void decodesEscapes() {
        assertEquals("q\"b\\s/\b\f\n\r\té😀", Json.parse("\"q\\\"b\\\\s\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\""));
        assertEquals("\u00fc", Json.parse("\"\u00fc\""), "raw non-ASCII");
    }

    @Test
    void rejectsWhatIsNotJson() {
        for (String bad : new String[] {"", "{", "{\"a\"}", "{\"a\":1,}", "[1,]", "01", "1.", "-", "1e", "+1", "'a'",
                "\"\\x\"", "\"\\u12\"", "\"\\u٠٠e9\"", "\"a\nb\"", "tru", "nul", "{a:1}", "{} {}", "NaN", "{\"a\":1 \"b\":2}"}) {
            assertThrows(IllegalArgumentException.class, () -> Json.parse(bad), bad);
        }
    }

    /** Regression found by fuzzing: 1e400 used to parse as infinity, which writes back as null. */
    @Test
    void numbersBeyondTheDoubleRangeAreRefused() {
        for (String big : new String[] {"1e400", "-1e400", "[0, 1E309]", "9".repeat(400)}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Json.parse(big), big);
            assertTrue(e.getMessage().contains("beyond the range of a double"), e.getMessage());
        }
        assertEquals(1.7976931348623157e308, Json.parse("1.7976931348623157e308"));
        assertEquals(0.0, Json.parse("1e-400"), "underflow to zero is a representable value");
    }

    @Test
    void intAtRefusesValuesBeyond32Bits() {
        Object root = Json.parse("{\"a\": {\"n\": 1e10, \"m\": -2147483648, \"f\": 1.5}}");
        assertEquals(Integer.MIN_VALUE, Json.intAt(root, "a", "m"));
        for (String key : new String[] {"n", "f", "absent"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Json.intAt(root, "a", key));
            assertTrue(e.getMessage().contains("a." + key), e.getMessage());
        }
    }

    @Test
    void parseWithASourceNamesIt() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Json.parse("[1,", "cfg.json"));
        assertTrue(e.getMessage().startsWith("cfg.json: malformed JSON"), e.getMessage());
        assertEquals(List.of(1.0), Json.parse("[1]", "cfg.json"));
    }

    @Test
    void messagesGiveThePosition() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Json.parse("{\"a\":1,\"a\":2}"));
        assertTrue(e.getMessage().contains("duplicate key 'a' at character 7"), e.getMessage());
    }

    @Test
    void writtenDoublesParseBackExactly() {
        double[] values = {0.1, 1.0 / 3, 100.0 / 3, -0.0, 1e-300, Double.MIN_VALUE, Double.MAX_VALUE, 123456789.125,
                2.5e-7, 90};
        List<?> back = (List<?>) Json.parse(Json.write(values));
        for (int i = 0; i < values.length; i++) {
            assertEquals(Double.doubleToLongBits(values[i]), Double.doubleToLongBits((Double) back.get(i)), "" + values[i]);
        }
    }

    @Test
    void writesOtherNumbersSoTheyReadBackAsTheSameValue() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("float", 0.1f);
        m.put("int", 7);
        m.put("long", 1L << 53);
        m.put("nan", Double.NaN);
        m.put("inf", Float.NEGATIVE_INFINITY);
        String text = Json.write(m);
        assertTrue(text.contains("\"float\": 0.1,"), text); // not 0.10000000149011612
        Map<?, ?> back = (Map<?, ?>) Json.parse(text);
        assertEquals(0.1f, ((Double) back.get("float")).floatValue());
        assertEquals(7.0, back.get("int"));
        assertEquals((double) (1L << 53), back.get("long"));
        assertTrue(back.containsKey("nan") && back.get("nan") == null, "NaN has no JSON form");
        assertTrue(back.containsKey("inf") && back.get("inf") == null);
    }

    @Test
    void writeRoundTripsStructureOrderAndStrings() {
        Map<String, Object> inner = new LinkedHashMap<>();
        inner.put("z", List.of(1, 2));
        inner.put("a", new int[][] {{1}, {2, 3}});
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("text", "q\"b\\s/\b\f\n\r\t\u0001é😀");
        m.put("flag", true);
        m.put("none", null);
        m.put("kind", Thread.State.NEW);
        m.put("inner", inner);
        m.put("empty", Map.of());
        m.put("nothing", List.of());
        Object back = Json.parse(Json.write(m));
        assertEquals(List.of("text", "flag", "none", "kind", "inner", "empty", "nothing"),
                List.copyOf(((Map<?, ?>) back).keySet()));
        assertEquals(m.get("text"), Json.path(back, "text"));
        assertEquals(Boolean.TRUE, Json.path(back, "flag"));
        assertEquals("NEW", Json.path(back, "kind"));
        assertEquals(List.of("z", "a"), List.copyOf(((Map<?, ?>) Json.path(back, "inner")).keySet()));
        assertEquals(List.of(List.of(1.0), List.of(2.0, 3.0)), Json.path(back, "inner", "a"));
        assertEquals(Map.of(), Json.path(back, "empty"));
        assertEquals(List.of(), Json.path(back, "nothing"));
    }

    @Test
    void writeIndentsAndKeepsScalarArraysOnOneLine() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("a", new double[] {1.5, 2});
        m.put("b", List.of(List.of(1), List.of(2, 3)));
        assertEquals("{\n  \"a\": [1.5, 2.0],\n  \"b\": [\n    [1],\n    [2, 3]\n  ]\n}\n", Json.write(m));
    }

    @Test
    void writeRejectsWhatJsonCannotHold() {
        assertThrows(IllegalArgumentException.class, () -> Json.write(new Object()));
        assertThrows(IllegalArgumentException.class, () -> Json.write(Map.of(1, "x")));
        assertThrows(IllegalArgumentException.class, () -> Json.write(List.of(java.nio.file.Path.of("a"))));
        List<Object> cycle = new ArrayList<>();
        cycle.add(cycle);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Json.write(cycle));
        assertTrue(e.getMessage().contains("nesting"), e.getMessage());
        String text = Json.write(nested(32));           // as deep as the parser reads
        assertEquals(32, text.chars().filter(c -> c == '[').count());
        Json.parse(text);
        assertThrows(IllegalArgumentException.class, () -> Json.write(nested(33)));
        assertThrows(IllegalArgumentException.class, () -> Json.parse(Json.write(nested(32)).replace("null", "[null]")));
    }

    /** levels arrays, each holding the next; the innermost holds null. */
    private static Object[] nested(int levels) {
        Object[] root = new Object[1];
        Object[] cur = root;
        for (int i = 1; i < levels; i++) {
            Object[] next = new Object[1];
            cur[0] = next;
            cur = next;
        }
        return root;
    }

    @Test
    void writeLineIsOneCompactLineThatParsesBack() {
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("event", "epoch");
        m.put("loss", 0.125);
        m.put("rows", java.util.List.of(java.util.List.of(1, 2), java.util.List.of()));
        m.put("note", "a \"quoted\"\nline");
        String line = Json.writeLine(m);
        assertEquals("{\"event\":\"epoch\",\"loss\":0.125,\"rows\":[[1,2],[]],\"note\":\"a \\\"quoted\\\"\\nline\"}", line);
        assertEquals(m.get("note"), ((java.util.Map<?, ?>) Json.parse(line)).get("note"));
    }
}
