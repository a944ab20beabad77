package io.starprompt.model.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.model.safetensors.JsonParser.JsonException;
import io.starprompt.model.safetensors.JsonParser.JsonNumber;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The header parser accepts exactly JSON. */
class JsonParserTest {
    @Test
    void parsesAllValueKinds() throws JsonException {
        Object v = JsonParser.parse(" {\"a\" : [1, -2.5e3, 0], \"b\":{\"c\":\"x\"}, \"t\":true, \"f\":false, \"n\":null}\n");
        Map<?, ?> m = (Map<?, ?>) v;
        assertEquals(List.of(new JsonNumber("1"), new JsonNumber("-2.5e3"), new JsonNumber("0")), m.get("a"));
        assertEquals(Map.of("c", "x"), m.get("b"));
        assertEquals(Boolean.TRUE, m.get("t"));
        assertEquals(Boolean.FALSE, m.get("f"));
        assertEquals(JsonParser.NULL, m.get("n"));
        assertEquals(List.of("a", "b", "t", "f", "n"), List.copyOf(m.keySet()), "key order kept");
    }

    @Test
    void decodesEscapes() throws JsonException {
        assertEquals("q\"b\\s/\b\f\n\r\té😀", JsonParser.parse("\"q\\\"b\\\\s\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\""));
        assertEquals("\u00fc", JsonParser.parse("\"\u00fc\""), "raw non-ASCII");
    }

    @Test
    void rejectsWhatIsNotJson() {
        for (String bad : new String[] {"", "{", "{\"a\"}", "{\"a\":1,}", "[1,]", "01", "1.", "-", "1e", "+1", "'a'",
                "\"\\x\"", "\"\\u12\"", "\"\\u٠٠e9\"", "\"a\nb\"", "tru", "nul", "{a:1}", "{} {}", "NaN", "{\"a\":1 \"b\":2}"}) {
            assertThrows(JsonException.class, () -> JsonParser.parse(bad), bad);
        }
    }

    @Test
    void messagesGiveThePosition() {
        JsonException e = assertThrows(JsonException.class, () -> JsonParser.parse("{\"a\":1,\"a\":2}"));
        assertTrue(e.getMessage().contains("duplicate key 'a' at character 7"), e.getMessage());
    }
}
