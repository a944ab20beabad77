package io.starprompt.fuzz;

import io.starprompt.backend.Backend;
import io.starprompt.backend.reference.ReferenceBackend;
import io.starprompt.model.safetensors.SafetensorsException;
import io.starprompt.model.safetensors.SafetensorsFile;
import io.starprompt.model.safetensors.TensorInfo;
import io.starprompt.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The safetensors reader on mutated files: opening, every header query, reading every float
 * tensor to the heap and loading it onto a backend must end in a correct result or a
 * {@link SafetensorsException} naming the file.
 */
class SafetensorsFuzzTest {
    @TempDir(factory = Fuzzer.MemoryTempDir.class)
    static Path dir;
    private static Backend backend;

    @BeforeAll
    static void openBackend() {
        backend = new ReferenceBackend();
    }

    @AfterAll
    static void closeBackend() {
        backend.close();
    }

    /** A safetensors file: the u64 little-endian header length, the header, the data. */
    static byte[] file(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(h.length).put(h).put(data).array();
    }

    private static byte[] counting(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (i * 37 + 11);
        return b;
    }

    /** Valid files covering the header's variety: several dtypes, scalars, empty tensors, metadata, padding. */
    static byte[][] seeds() {
        return new byte[][] {
            file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", counting(24)),
            file("{\"__metadata__\":{\"format\":\"pt\"},\"a.bias\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]},"
                    + "\"a.weight\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[8,16]},"
                    + "\"ids\":{\"dtype\":\"I64\",\"shape\":[1,3],\"data_offsets\":[16,40]}}", counting(40)),
            file("{\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
                    + "\"e\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[4,4]},"
                    + "\"u\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[4,7]}}     ", counting(7)),
            file("{\"blocks.0.attn.qkv.weight\":{\"dtype\":\"F32\",\"shape\":[6,2],\"data_offsets\":[0,48]},"
                    + "\"cls_token\":{\"dtype\":\"F32\",\"shape\":[1,1,2],\"data_offsets\":[48,56]}}", counting(56)),
        };
    }

    /** Everything a loader does with a file. */
    static void readEverything(Path file) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            f.metadata().forEach((k, v) -> { });
            for (String name : f.names()) {
                TensorInfo info = f.info(name);
                if (!info.dtype().isFloatLoadable()) continue;
                float[] values = f.readFloats(name, info.shape());
                try (Tensor t = f.load(backend, name)) {
                    if (t.numel() != values.length) throw new AssertionError(name + ": load and readFloats disagree");
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void safetensorsReader() {
        Path file = dir.resolve("fuzz.safetensors");
        Fuzzer.target("safetensors")
                .seeds(seeds())
                .parseFile(file, SafetensorsFuzzTest::readEverything)
                .documented(SafetensorsException.class)
                // The header is decoded and parsed, the tensors widened to float: a few times the file.
                .allocationBudget(n -> (8L << 20) + 64 * n)
                .run();
    }
}
