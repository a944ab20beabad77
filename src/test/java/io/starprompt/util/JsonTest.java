package io.starprompt.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
}
