package io.starprompt.model.safetensors;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Writes F32 (and F64) safetensors files with the layout the reference implementation produces:
 * tensors in name order, data contiguous, header padded with spaces so that the data starts
 * 8-byte aligned. Used by tests and benchmarks to create files of a real layout (e.g. random ViT
 * weights) and by checkpoints, whose float64 state (mixtures, metrics) must survive exactly.
 *
 * <p>Data is streamed through a 1 MB buffer; nothing beyond the caller's arrays is held in memory.
 */
public final class SafetensorsWriter {
    private static final int BUFFER_BYTES = 1 << 20;
    private static final int ALIGNMENT = 8;

    private SafetensorsWriter() {}

    /**
     * Writes (or overwrites) {@code path} with the given F32 tensors and no metadata.
     *
     * @param path the file
     * @param data   values by tensor name, row-major
     * @param shapes shapes by tensor name; must have exactly the names of {@code data}
     * @throws IllegalArgumentException if names differ, a shape does not match its data, a shape
     *                                  has a negative dimension, or a name is {@code __metadata__}
     * @throws IOException if it cannot be written
     */
    public static void write(Path path, Map<String, float[]> data, Map<String, long[]> shapes) throws IOException {
        write(path, data, shapes, Map.of());
    }

    /**
     * As {@link #write(Path, Map, Map)}, with a string→string {@code __metadata__} object
     * (omitted from the header when empty).
     *
     * @param path the file
     * @param data values by tensor name, row-major
     * @param shapes shapes by tensor name
     * @param metadata the metadata
     * @throws IOException if it cannot be written
     */
    public static void write(Path path, Map<String, float[]> data, Map<String, long[]> shapes,
            Map<String, String> metadata) throws IOException {
        write(path, data, Map.of(), shapes, metadata);
    }

    /**
     * As {@link #write(Path, Map, Map, Map)} with F32 tensors ({@code floats}) and F64 tensors
     * ({@code doubles}) side by side; a name may appear in only one of the two maps, and
     * {@code shapes} names exactly the tensors of both.
     *
     * @param path the file
     * @param floats F32 values by tensor name, row-major
     * @param doubles F64 values by tensor name, row-major
     * @param shapes shapes by tensor name
     * @param metadata the metadata
     * @throws IOException if it cannot be written
     */
    public static void write(Path path, Map<String, float[]> floats, Map<String, double[]> doubles,
            Map<String, long[]> shapes, Map<String, String> metadata) throws IOException {
        Objects.requireNonNull(path, "path");
        Map<String, Object> sorted = checkedTensors(floats, doubles, shapes);
        byte[] header = headerBytes(sorted, shapes, Objects.requireNonNull(metadata, "metadata"));
        try (FileChannel out = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            stream(out, sorted, header);
        }
    }

    /**
     * As {@link #write(Path, Map, Map, Map, Map)}, into a channel the caller opened (and closes):
     * the whole file from its first byte, written in order.
     *
     * @param out where the bytes go
     * @param floats F32 values by tensor name, row-major
     * @param doubles F64 values by tensor name, row-major
     * @param shapes shapes by tensor name
     * @param metadata the metadata
     * @throws IOException if the channel cannot be written
     */
    public static void write(WritableByteChannel out, Map<String, float[]> floats, Map<String, double[]> doubles,
            Map<String, long[]> shapes, Map<String, String> metadata) throws IOException {
        Objects.requireNonNull(out, "out");
        Map<String, Object> sorted = checkedTensors(floats, doubles, shapes);
        stream(out, sorted, headerBytes(sorted, shapes, Objects.requireNonNull(metadata, "metadata")));
    }

    private static void stream(WritableByteChannel out, Map<String, Object> sorted, byte[] header) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(header.length);
        putBytes(out, buffer, header);
        for (Object values : sorted.values()) {
            if (values instanceof float[] f) {
                putValues(out, buffer, f.length, Float.BYTES, (b, from, n) -> b.asFloatBuffer().put(f, from, n));
            } else {
                double[] d = (double[]) values;
                putValues(out, buffer, d.length, Double.BYTES, (b, from, n) -> b.asDoubleBuffer().put(d, from, n));
            }
        }
        drain(out, buffer);
    }

    /**
     * Validates the arguments and returns the tensors (float[] or double[]) in name order, the
     * order of the data section.
     */
    private static Map<String, Object> checkedTensors(Map<String, float[]> floats, Map<String, double[]> doubles,
            Map<String, long[]> shapes) {
        Objects.requireNonNull(floats, "floats");
        Objects.requireNonNull(doubles, "doubles");
        Objects.requireNonNull(shapes, "shapes");
        Map<String, Object> sorted = new TreeMap<>(floats);
        for (Map.Entry<String, double[]> e : doubles.entrySet()) {
            if (sorted.put(e.getKey(), e.getValue()) != null) {
                throw new IllegalArgumentException("tensor '" + e.getKey() + "' is given as F32 and as F64");
            }
        }
        if (!sorted.keySet().equals(shapes.keySet())) {
            throw new IllegalArgumentException("data and shapes name different tensors: " + sorted.keySet()
                    + " vs " + shapes.keySet());
        }
        for (Map.Entry<String, Object> e : sorted.entrySet()) {
            String name = Objects.requireNonNull(e.getKey(), "tensor name");
            if (name.equals(SafetensorsHeader.METADATA_KEY)) {
                throw new IllegalArgumentException("'" + name + "' is reserved for metadata");
            }
            long[] shape = Objects.requireNonNull(shapes.get(name), "shape of " + name);
            int length = length(Objects.requireNonNull(e.getValue(), "data of " + name));
            if (numel(name, shape) != length) {
                throw new IllegalArgumentException("tensor '" + name + "': " + length
                        + " values do not fill shape " + Arrays.toString(shape));
            }
        }
        return sorted;
    }

    private static int length(Object values) {
        return values instanceof float[] f ? f.length : ((double[]) values).length;
    }

    private static SafetensorsDType dtype(Object values) {
        return values instanceof float[] ? SafetensorsDType.F32 : SafetensorsDType.F64;
    }

    private static long numel(String name, long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("tensor '" + name + "': negative dimension in " + Arrays.toString(shape));
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    // ------------------------------------------------------------------ header

    private static byte[] headerBytes(Map<String, Object> sorted, Map<String, long[]> shapes, Map<String, String> metadata) {
        StringBuilder json = new StringBuilder("{");
        if (!metadata.isEmpty()) {
            json.append(quote(SafetensorsHeader.METADATA_KEY)).append(":{");
            String separator = "";
            for (Map.Entry<String, String> e : new TreeMap<>(metadata).entrySet()) {
                json.append(separator).append(quote(e.getKey())).append(':').append(quote(e.getValue()));
                separator = ",";
            }
            json.append('}');
        }
        long offset = 0;
        for (Map.Entry<String, Object> e : sorted.entrySet()) {
            SafetensorsDType dtype = dtype(e.getValue());
            long bytes = (long) length(e.getValue()) * dtype.bytes();
            if (json.length() > 1) json.append(',');
            json.append(quote(e.getKey())).append(":{\"dtype\":\"").append(dtype.name()).append("\",\"shape\":")
                    .append(Arrays.toString(shapes.get(e.getKey())).replace(" ", ""))
                    .append(",\"data_offsets\":[").append(offset).append(',').append(offset + bytes).append("]}");
            offset += bytes;
        }
        json.append('}');
        return padded(json.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** Pads with spaces (valid JSON whitespace) so that 8 + header length is a multiple of 8. */
    private static byte[] padded(byte[] header) {
        int length = (header.length + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
        byte[] out = Arrays.copyOf(header, length);
        Arrays.fill(out, header.length, length, (byte) ' ');
        return out;
    }

    /** A JSON string literal; escapes what JSON requires (quotes, backslash, control characters). */
    static String quote(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') sb.append('\\').append(c);
            else if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
            else sb.append(c);
        }
        return sb.append('"').toString();
    }

    // ------------------------------------------------------------------ streaming

    private static void putBytes(WritableByteChannel out, ByteBuffer buffer, byte[] bytes) throws IOException {
        for (int done = 0; done < bytes.length; ) {
            if (!buffer.hasRemaining()) drain(out, buffer);
            int n = Math.min(bytes.length - done, buffer.remaining());
            buffer.put(bytes, done, n);
            done += n;
        }
    }

    /** Copies elements [from, from + n) of an array into the buffer at its position, through a typed view. */
    @FunctionalInterface
    private interface BulkPut {
        void put(ByteBuffer buffer, int from, int n);
    }

    private static void putValues(WritableByteChannel out, ByteBuffer buffer, int length, int elementBytes, BulkPut put)
            throws IOException {
        for (int done = 0; done < length; ) {
            if (buffer.remaining() < elementBytes) drain(out, buffer);
            // Bulk put through a typed view: far faster than one putFloat per element.
            int n = Math.min(length - done, buffer.remaining() / elementBytes);
            put.put(buffer, done, n);
            buffer.position(buffer.position() + n * elementBytes);
            done += n;
        }
    }

    /** Writes out what the buffer holds and empties it for reuse. */
    private static void drain(WritableByteChannel out, ByteBuffer buffer) throws IOException {
        buffer.flip();
        while (buffer.hasRemaining()) out.write(buffer);
        buffer.clear();
    }
}
