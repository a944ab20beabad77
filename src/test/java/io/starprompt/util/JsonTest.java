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

    @Test
    void messagesGiveThePosition() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Json.parse("{\"a\":1,\"a\":2}"));
        assertTrue(e.getMessage().contains("duplicate key 'a' at character 7"), e.getMessage());
    }
}
