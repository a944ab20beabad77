package io.starprompt.model.safetensors;

import static io.starprompt.model.safetensors.RawSafetensors.entry;
import static io.starprompt.model.safetensors.RawSafetensors.f32;
import static io.starprompt.model.safetensors.RawSafetensors.header;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.backend.cpu.CpuBackend;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every kind of corrupt file and bad request is a SafetensorsException whose message names the
 * file and, where one is involved, the tensor.
 */
class SafetensorsValidationTest {
    @TempDir
    Path dir;

    private Path file(String headerJson, byte[] data) throws IOException {
        return RawSafetensors.write(dir.resolve("corrupt.safetensors"), headerJson, data);
    }

    /** Opening fails with a message that names the file and holds every fragment. */
    private static SafetensorsException assertRejected(Path file, String... fragments) {
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(file).close());
        assertMentions(e, file, fragments);
        return e;
    }

    private static void assertMentions(Exception e, Path file, String... fragments) {
        String m = e.getMessage();
        assertTrue(m.contains(file.getFileName().toString()), "file name missing from: " + m);
        for (String f : fragments) assertTrue(m.contains(f), "'" + f + "' missing from: " + m);
    }

    // ------------------------------------------------------------------ framing

    @Test
    void fileShorterThanTheLengthPrefix() throws IOException {
        Path f = Files.write(dir.resolve("tiny.safetensors"), new byte[] {1, 0, 0, 0, 0});
        assertRejected(f, "5 bytes", "shorter than the 8-byte");
    }

    @Test
    void zeroHeaderLength() throws IOException {
        assertRejected(RawSafetensors.write(dir.resolve("zero.safetensors"), 0, new byte[0], new byte[16]), "zero");
    }

    @Test
    void hugeHeaderLength() throws IOException {
        byte[] h = "{}".getBytes(StandardCharsets.US_ASCII);
        assertRejected(RawSafetensors.write(dir.resolve("huge.safetensors"), 200_000_000L, h, new byte[0]),
                "200000000", "exceeds the limit");
        // 2^64 − 1 is a negative long; it must still read as too big, not as "negative".
        assertRejected(RawSafetensors.write(dir.resolve("huge.safetensors"), -1L, h, new byte[0]),
                "18446744073709551615", "exceeds the limit");
    }

    @Test
    void headerLengthBeyondTheFile() throws IOException {
        byte[] h = "{}".getBytes(StandardCharsets.US_ASCII);
        assertRejected(RawSafetensors.write(dir.resolve("short.safetensors"), 1000, h, new byte[0]),
                "header length 1000", "beyond the end of the file");
    }

    // ------------------------------------------------------------------ header text

    @Test
    void headerNotUtf8() throws IOException {
        byte[] h = {'{', '"', (byte) 0xC3, (byte) 0x28, '"', ':', '1', '}'};
        assertRejected(RawSafetensors.write(dir.resolve("latin.safetensors"), h.length, h, new byte[0]), "UTF-8");
    }

    @Test
    void badJson() throws IOException {
        assertRejected(file("{\"w\":{\"dtype\":\"F32\",", new byte[0]), "not valid JSON");
        assertRejected(file("{\"w\":{\"dtype\":'F32'}}", new byte[0]), "not valid JSON", "character");
        assertRejected(file("{\"w\":1} trailing", new byte[0]), "not valid JSON", "after the JSON value");
        assertRejected(file("[1, 2]", new byte[0]), "not a JSON object");
        assertRejected(file("{\"w\":{\"shape\":[01]}}", new byte[0]), "not valid JSON");
        assertRejected(file("[".repeat(100_000), new byte[0]), "nesting deeper");
    }

    @Test
    void trailingSpacesArePadding() throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file(header(entry("w", "F32", "[1]", 0, 4)) + "    ", f32(2)))) {
            assertEquals(2f, f.readFloats("w")[0]);
        }
    }

    @Test
    void duplicateKeys() throws IOException {
        String w = entry("w", "F32", "[1]", 0, 4);
        assertRejected(file(header(w, w), f32(1)), "duplicate key 'w'");
        assertRejected(file("{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,4]}}", f32(1)),
                "duplicate key 'dtype'");
    }

    @Test
    void badMetadata() throws IOException {
        String w = entry("w", "F32", "[1]", 0, 4);
        assertRejected(file("{\"__metadata__\":{\"epochs\":3}," + w + "}", f32(1)), "__metadata__", "epochs");
        assertRejected(file("{\"__metadata__\":[]," + w + "}", f32(1)), "__metadata__");
    }

    // ------------------------------------------------------------------ entries

    @Test
    void unknownDtype() throws IOException {
        assertRejected(file(header(entry("w", "F17", "[1]", 0, 4)), f32(1)), "tensor 'w'", "F17", "BF16");
    }

    @Test
    void negativeDimension() throws IOException {
        assertRejected(file(header(entry("w", "F32", "[-1,4]", 0, 4)), f32(1)), "tensor 'w'", "negative", "[-1, 4]");
    }

    @Test
    void headerLiesAboutTheSize() throws IOException {
        // [2,2] F32 needs 16 bytes; the offsets claim 12
        assertRejected(file(header(entry("w", "F32", "[2,2]", 0, 12)), f32(1, 2, 3)), "tensor 'w'", "needs 16 bytes",
                "span 12");
    }

    @Test
    void malformedFields() throws IOException {
        assertRejected(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", f32(1)), "tensor 'w'", "missing field 'data_offsets'");
        assertRejected(file(header(entry("w", "F32", "[1.5]", 0, 4)), f32(1)), "tensor 'w'", "not a 64-bit integer");
        assertRejected(file(header(entry("w", "F32", "[1]", 0, 4)).replace("}}", ",\"extra\":1}}"), f32(1)),
                "tensor 'w'", "unknown field 'extra'");
        assertRejected(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", f32(1)), "tensor 'w'",
                "[begin, end]");
        assertRejected(file(header(entry("w", "F32", "[99999999999999999999]", 0, 4)), f32(1)), "tensor 'w'",
                "not a 64-bit integer");
        assertRejected(file(header(entry("w", "F32", "[4294967296,4294967296]", 0, 4)), f32(1)), "tensor 'w'",
                "more elements than fit");
        assertRejected(file("{\"w\":[]}", f32(1)), "tensor 'w'", "not a JSON object");
    }

    // ------------------------------------------------------------------ data section

    @Test
    void offsetsNotOrdered() throws IOException {
        assertRejected(file(header(entry("w", "F32", "[1]", 8, 4)), f32(1, 2)), "tensor 'w'", "not ordered");
        assertRejected(file(header(entry("w", "F32", "[1]", -4, 0)), f32(1)), "tensor 'w'", "not ordered");
    }

    @Test
    void truncatedData() throws IOException {
        assertRejected(file(header(entry("w", "F32", "[4]", 0, 16)), f32(1, 2)), "tensor 'w'", "beyond the data section",
                "8 bytes");
    }

    @Test
    void overlappingRanges() throws IOException {
        assertRejected(file(header(entry("a", "F32", "[2]", 0, 8), entry("b", "F32", "[2]", 4, 12)), f32(1, 2, 3)),
                "tensor 'b'", "overlap tensor 'a'");
        assertRejected(file(header(entry("a", "F32", "[2]", 0, 8), entry("b", "F32", "[2]", 0, 8)), f32(1, 2)),
                "overlap");
    }

    @Test
    void gapBetweenTensors() throws IOException {
        assertRejected(file(header(entry("a", "F32", "[1]", 0, 4), entry("b", "F32", "[1]", 8, 12)), f32(1, 2, 3)),
                "tensor 'b'", "gap");
    }

    @Test
    void trailingBytesAfterTheLastTensor() throws IOException {
        assertRejected(file(header(entry("a", "F32", "[1]", 0, 4)), f32(1, 2)), "trailing bytes");
    }

    @Test
    void emptyAndZeroLengthTensorsAreFine() throws IOException {
        String json = header(entry("a", "F32", "[0,5]", 0, 0), entry("b", "F32", "[1]", 0, 4), entry("c", "F16", "[0]", 4, 4));
        try (SafetensorsFile f = SafetensorsFile.open(file(json, f32(6)))) {
            assertEquals(0, f.readFloats("a", 0, 5).length);
            assertEquals(6f, f.readFloats("b")[0]);
        }
        try (SafetensorsFile f = SafetensorsFile.open(file("{}", new byte[0]))) {
            assertTrue(f.names().isEmpty());
        }
    }

    // ------------------------------------------------------------------ requests

    @Test
    void missingTensorListsSimilarNames() throws IOException {
        String json = header(entry("blocks.0.attn.qkv.weight", "F32", "[1]", 0, 4), entry("blocks.0.attn.qkv.bias", "F32",
                "[1]", 4, 8), entry("cls_token", "F32", "[1]", 8, 12));
        Path p = file(json, f32(1, 2, 3));
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            SafetensorsException e = assertThrows(SafetensorsException.class, () -> f.readFloats("blocks.0.attn.qkv.weigth"));
            assertMentions(e, p, "tensor 'blocks.0.attn.qkv.weigth'", "no such tensor", "3 tensors",
                    "e.g. 'blocks.0.attn.qkv.weight'");
            assertThrows(SafetensorsException.class, () -> f.info("nope"));
            assertThrows(SafetensorsException.class, () -> f.load(new CpuBackend(), "nope"));
        }
    }

    @Test
    void nonFloatTypesOpenButCannotBeReadAsFloats() throws IOException {
        String json = header(entry("ids", "I64", "[2]", 0, 16), entry("w", "F32", "[1]", 16, 20));
        Path p = file(json, RawSafetensors.concat(new byte[16], f32(5)));
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(SafetensorsDType.I64, f.info("ids").dtype());
            assertEquals(5f, f.readFloats("w")[0]);
            SafetensorsException e = assertThrows(SafetensorsException.class, () -> f.readFloats("ids"));
            assertMentions(e, p, "tensor 'ids'", "I64", "cannot be read as floats");
            assertThrows(SafetensorsException.class, () -> f.load(new CpuBackend(), "ids"));
        }
    }

    @Test
    void wrongExpectedShape() throws IOException {
        Path p = file(header(entry("w", "F32", "[2,3]", 0, 24)), f32(1, 2, 3, 4, 5, 6));
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> f.readFloats("w", 3, 2));
            assertMentions(e, p, "tensor 'w'", "[2, 3]", "[3, 2]");
        }
    }
}
