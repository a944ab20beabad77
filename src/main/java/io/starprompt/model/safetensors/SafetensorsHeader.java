package io.starprompt.model.safetensors;

import io.starprompt.util.Json;
import io.starprompt.util.TextFiles;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The parsed and validated JSON header of a safetensors file.
 *
 * <p>Validation follows the reference implementation (the Rust {@code safetensors} crate): every
 * entry has exactly {@code dtype}, {@code shape} and {@code data_offsets}; the byte length agrees
 * with shape and type; and the tensors tile the data section exactly — no overlap, no gap, no
 * trailing bytes. Files written by PyTorch, timm or HF all satisfy this, so anything else is
 * corruption, and catching it here beats reading garbage weights later.
 */
final class SafetensorsHeader {
    /** The reserved key of the optional string→string metadata object. */
    static final String METADATA_KEY = "__metadata__";

    private static final Set<String> TENSOR_FIELDS = Set.of("dtype", "shape", "data_offsets");

    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsHeader(Map<String, TensorInfo> tensors, Map<String, String> metadata) {
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /** Tensors by name, sorted by name; unmodifiable. */
    Map<String, TensorInfo> tensors() {
        return tensors;
    }

    /** The {@code __metadata__} entries in file order (empty if absent); unmodifiable. */
    Map<String, String> metadata() {
        return metadata;
    }

    /**
     * Decodes and validates a header.
     *
     * @param file     the file, for messages
     * @param header   the header bytes (without the 8-byte length prefix)
     * @param dataSize bytes in the file after the header: the data section
     */
    static SafetensorsHeader parse(Path file, byte[] header, long dataSize) {
        Map<String, Object> root = parseJsonObject(file, decodeUtf8(file, header));
        Map<String, TensorInfo> tensors = new TreeMap<>();
        Map<String, String> metadata = Map.of();
        for (Map.Entry<String, Object> e : root.entrySet()) {
            if (e.getKey().equals(METADATA_KEY)) {
                metadata = parseMetadata(file, e.getValue());
            } else {
                tensors.put(e.getKey(), parseTensor(file, e.getKey(), e.getValue(), dataSize));
            }
        }
        checkTiling(file, tensors.values(), dataSize);
        return new SafetensorsHeader(Collections.unmodifiableMap(tensors), metadata);
    }

    // ------------------------------------------------------------------ text and JSON

    /** Strict UTF-8: a replacement character would hide a corrupt header. */
    private static String decodeUtf8(Path file, byte[] header) {
        try {
            return TextFiles.utf8(file, header);
        } catch (IllegalArgumentException e) {
            throw new SafetensorsException(file + ": header is not valid UTF-8", e.getCause());
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> parseJsonObject(Path file, String json) {
        Object root;
        try {
            root = Json.parse(json);
        } catch (IllegalArgumentException e) {
            throw new SafetensorsException(file + ": header is not valid JSON: " + e.getMessage(), e);
        }
        if (!(root instanceof Map)) throw SafetensorsException.inFile(file, "header is not a JSON object");
        return (Map<String, Object>) root;
    }

    private static Map<String, String> parseMetadata(Path file, Object value) {
        if (!(value instanceof Map<?, ?> map)) {
            throw SafetensorsException.inFile(file, METADATA_KEY + " is not a JSON object");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : map.entrySet()) {
            if (!(e.getValue() instanceof String s)) {
                throw SafetensorsException.inFile(file,
                        METADATA_KEY + " entry '" + e.getKey() + "' is not a string: " + e.getValue());
            }
            out.put((String) e.getKey(), s);
        }
        return Collections.unmodifiableMap(out);
    }

    // ------------------------------------------------------------------ one tensor entry

    private static TensorInfo parseTensor(Path file, String name, Object value, long dataSize) {
        if (!(value instanceof Map<?, ?> fields)) {
            throw SafetensorsException.inTensor(file, name, "entry is not a JSON object: " + value);
        }
        for (Object key : fields.keySet()) {
            if (!TENSOR_FIELDS.contains(key)) {
                throw SafetensorsException.inTensor(file, name, "unknown field '" + key + "' (expected " + TENSOR_FIELDS + ")");
            }
        }
        SafetensorsDType dtype = parseDType(file, name, field(file, name, fields, "dtype"));
        long[] shape = parseLongs(file, name, "shape", field(file, name, fields, "shape"));
        long[] offsets = parseLongs(file, name, "data_offsets", field(file, name, fields, "data_offsets"));
        checkShape(file, name, shape);
        checkOffsets(file, name, offsets, dataSize);
        TensorInfo info = new TensorInfo(name, dtype, shape, offsets[0], offsets[1]);
        checkByteLength(file, info);
        return info;
    }

    private static Object field(Path file, String name, Map<?, ?> fields, String key) {
        Object v = fields.get(key);
        if (v == null) throw SafetensorsException.inTensor(file, name, "missing field '" + key + "'");
        return v;
    }

    private static SafetensorsDType parseDType(Path file, String name, Object value) {
        if (!(value instanceof String s)) throw SafetensorsException.inTensor(file, name, "dtype is not a string: " + value);
        return SafetensorsDType.fromHeaderName(s).orElseThrow(() -> SafetensorsException.inTensor(file, name,
                "unknown or unsupported dtype '" + s + "' (known: " + SafetensorsDType.knownNames() + ")"));
    }

    private static long[] parseLongs(Path file, String name, String field, Object value) {
        if (!(value instanceof List<?> list)) {
            throw SafetensorsException.inTensor(file, name, field + " is not a JSON array: " + value);
        }
        long[] out = new long[list.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = parseLong(file, name, field, list.get(i));
        }
        return out;
    }

    /** A JSON integer below 2⁵³ (exact in a double); fractions are rejected rather than rounded. */
    private static long parseLong(Path file, String name, String field, Object value) {
        if (value instanceof Double d && d == Math.rint(d) && Math.abs(d) <= 0x1p53) return d.longValue();
        throw SafetensorsException.inTensor(file, name, field + " holds " + value + ", not a 64-bit integer");
    }

    private static void checkShape(Path file, String name, long[] shape) {
        for (long d : shape) {
            if (d < 0) throw SafetensorsException.inTensor(file, name, "negative dimension in shape " + Arrays.toString(shape));
        }
    }

    private static void checkOffsets(Path file, String name, long[] offsets, long dataSize) {
        if (offsets.length != 2) {
            throw SafetensorsException.inTensor(file, name,
                    "data_offsets must be [begin, end], got " + Arrays.toString(offsets));
        }
        long begin = offsets[0], end = offsets[1];
        if (begin < 0 || end < begin) {
            throw SafetensorsException.inTensor(file, name,
                    "data_offsets [" + begin + ", " + end + "] are not ordered (need 0 <= begin <= end)");
        }
        if (end > dataSize) {
            throw SafetensorsException.inTensor(file, name, "data_offsets [" + begin + ", " + end
                    + "] extend beyond the data section of " + dataSize + " bytes (truncated file?)");
        }
    }

    private static void checkByteLength(Path file, TensorInfo info) {
        long expected;
        try {
            expected = Math.multiplyExact(info.numel(), info.dtype().bytes());
        } catch (ArithmeticException e) {
            throw SafetensorsException.inTensor(file, info.name(), "shape " + Arrays.toString(info.shape())
                    + " has more elements than fit in 64 bits");
        }
        if (expected != info.byteLength()) {
            throw SafetensorsException.inTensor(file, info.name(), "shape " + Arrays.toString(info.shape()) + " of "
                    + info.dtype() + " needs " + expected + " bytes but data_offsets [" + info.begin() + ", "
                    + info.end() + "] span " + info.byteLength());
        }
    }

    // ------------------------------------------------------------------ layout of the data section

    /** The byte ranges, sorted, must follow each other without overlap or gap and fill the section. */
    private static void checkTiling(Path file, Iterable<TensorInfo> tensors, long dataSize) {
        List<TensorInfo> sorted = new ArrayList<>();
        tensors.forEach(sorted::add);
        // Zero-length tensors sort before a tensor starting at the same byte, so they never "overlap" it.
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        TensorInfo previous = null;
        long covered = 0;
        for (TensorInfo t : sorted) {
            if (t.begin() < covered) {
                throw SafetensorsException.inTensor(file, t.name(), "bytes [" + t.begin() + ", " + t.end()
                        + ") overlap tensor '" + previous.name() + "' at [" + previous.begin() + ", " + previous.end() + ")");
            }
            if (t.begin() > covered) {
                throw SafetensorsException.inTensor(file, t.name(), "starts at byte " + t.begin()
                        + " but the previous tensor ends at " + covered + ": a gap of unused bytes");
            }
            covered = t.end();
            previous = t;
        }
        if (covered != dataSize) {
            throw SafetensorsException.inFile(file, "the tensors cover " + covered + " bytes of the data section but it holds "
                    + dataSize + " (" + (dataSize - covered) + " trailing bytes)");
        }
    }
}
