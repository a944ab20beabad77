package io.starprompt.model.safetensors;

import io.starprompt.backend.Backend;
import io.starprompt.tensor.DType;
import io.starprompt.tensor.Device;
import io.starprompt.tensor.Tensor;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ShortBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import org.bytedeco.javacpp.FloatPointer;

/**
 * A read-only, memory-mapped <a href="https://github.com/huggingface/safetensors">safetensors</a>
 * file: an 8-byte little-endian header length, a JSON header describing each tensor, then the raw
 * little-endian tensor data.
 *
 * <p>Opening reads and validates only the header; tensor data is memory-mapped on demand, one
 * tensor (or one ≤ 1 GiB window of it) at a time, so files of many gigabytes open instantly and
 * never land on the Java heap as a whole. {@link #load} copies into backend memory in bounded
 * chunks; {@link #readFloats} returns one tensor as a heap array. F16 and BF16 are widened to
 * float exactly. Every problem with the file or with a request is a {@link SafetensorsException}
 * naming the file and the tensor.
 *
 * <pre>{@code
 * try (SafetensorsFile f = SafetensorsFile.open(Path.of("vit.safetensors"))) {
 *     Tensor qkv = f.load(backend, "blocks.0.attn.qkv.weight", 3 * width, width);
 * }
 * }</pre>
 *
 * <p>Reads may run concurrently from several threads; {@link #close} must not race with them.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** Largest header accepted, as in the reference implementation; real headers are kilobytes. */
    static final long MAX_HEADER_BYTES = 100_000_000L;
    /** Largest single mapping; a MappedByteBuffer cannot exceed 2 GiB. */
    static final int DEFAULT_MAX_MAP_BYTES = 1 << 30;
    /** Elements converted per step of {@link #load}: 4 MB of floats on the heap at a time. */
    static final int LOAD_CHUNK_ELEMENTS = 1 << 20;

    private static final int LENGTH_PREFIX_BYTES = 8;
    // The JVM refuses arrays a few elements short of Integer.MAX_VALUE.
    private static final int MAX_ARRAY_ELEMENTS = Integer.MAX_VALUE - 8;
    private static final int SUGGESTIONS = 5;

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final SafetensorsHeader header;
    private final int maxMapBytes;
    private volatile boolean closed;

    /** Reads and validates the header of an open file; the caller closes the channel if this throws. */
    private SafetensorsFile(Path path, FileChannel channel, int maxMapBytes) throws IOException {
        this.path = path;
        this.channel = channel;
        long fileSize = channel.size();
        long headerLength = readHeaderLength(path, channel, fileSize);
        byte[] headerBytes = readFully(channel, LENGTH_PREFIX_BYTES, (int) headerLength);
        this.dataStart = LENGTH_PREFIX_BYTES + headerLength;
        this.header = SafetensorsHeader.parse(path, headerBytes, fileSize - dataStart);
        // Round down to a multiple of 8 so that a window never splits an element.
        this.maxMapBytes = maxMapBytes & ~7;
    }

    // ------------------------------------------------------------------ opening

    /**
     * Opens and validates a safetensors file.
     *
     * @param path the file
     * @return the open file; close it
     * @throws SafetensorsException if the file is not a well-formed safetensors file
     * @throws IOException          if it cannot be read
     */
    public static SafetensorsFile open(Path path) throws IOException {
        return open(path, DEFAULT_MAX_MAP_BYTES);
    }

    /** As {@link #open(Path)}, with smaller mappings so that tests can cross window boundaries. */
    static SafetensorsFile open(Path path, int maxMapBytes) throws IOException {
        Objects.requireNonNull(path, "path");
        if (maxMapBytes < 8) throw new IllegalArgumentException("maxMapBytes must be at least 8, got " + maxMapBytes);
        FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
        try {
            return new SafetensorsFile(path, channel, maxMapBytes);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /** The u64 little-endian prefix, checked against the format limit and the file size. */
    private static long readHeaderLength(Path path, FileChannel channel, long fileSize) throws IOException {
        if (fileSize < LENGTH_PREFIX_BYTES) {
            throw SafetensorsException.inFile(path, "file is " + fileSize
                    + " bytes long, shorter than the 8-byte header length prefix");
        }
        long length = ByteBuffer.wrap(readFully(channel, 0, LENGTH_PREFIX_BYTES)).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (length == 0) throw SafetensorsException.inFile(path, "header length is zero");
        // Compare unsigned: a u64 above 2^63 reads as a negative long.
        if (Long.compareUnsigned(length, MAX_HEADER_BYTES) > 0) {
            throw SafetensorsException.inFile(path, "header length " + Long.toUnsignedString(length)
                    + " exceeds the limit of " + MAX_HEADER_BYTES + " bytes (corrupt or not a safetensors file)");
        }
        if (length > fileSize - LENGTH_PREFIX_BYTES) {
            throw SafetensorsException.inFile(path, "header length " + length + " runs beyond the end of the file ("
                    + fileSize + " bytes)");
        }
        return length;
    }

    private static byte[] readFully(FileChannel channel, long position, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, position + buffer.position()) < 0) throw new EOFException("unexpected end of file");
        }
        return buffer.array();
    }

    // ------------------------------------------------------------------ header queries

    /**
     * The file this was opened from.
     *
     * @return the path
     */
    public Path path() {
        return path;
    }

    /**
     * Names of all tensors, sorted; unmodifiable.
     *
     * @return the names
     */
    public Set<String> names() {
        return header.tensors().keySet();
    }

    /**
     * Whether the file holds a tensor of this name.
     *
     * @param name a tensor name
     * @return whether it is present
     */
    public boolean contains(String name) {
        return header.tensors().containsKey(name);
    }

    /**
     * Type, shape and byte range of a tensor.
     *
     * @param name a tensor name
     * @return its entry
     * @throws SafetensorsException if there is no such tensor (the message lists similar names)
     */
    public TensorInfo info(String name) {
        TensorInfo info = header.tensors().get(name);
        if (info == null) {
            throw SafetensorsException.inTensor(path, name, "no such tensor; the file has " + names().size()
                    + " tensors, e.g. " + suggestions(name));
        }
        return info;
    }

    /**
     * The string→string {@code __metadata__} of the header, empty if absent; unmodifiable.
     *
     * @return the metadata
     */
    public Map<String, String> metadata() {
        return header.metadata();
    }

    /** Names sharing the longest prefix with the missing one first, as a likely typo fix. */
    private String suggestions(String missing) {
        return names().stream()
                .sorted(Comparator.comparingInt((String n) -> -commonPrefix(n, missing)).thenComparing(n -> n))
                .limit(SUGGESTIONS)
                .map(n -> "'" + n + "'")
                .collect(Collectors.joining(", "));
    }

    private static int commonPrefix(String a, String b) {
        int n = Math.min(a.length(), b.length()), i = 0;
        while (i < n && a.charAt(i) == b.charAt(i)) i++;
        return i;
    }

    // ------------------------------------------------------------------ reading into heap arrays

    /**
     * The values of an F32, F16 or BF16 tensor, row-major, widened to float.
     *
     * @param name a tensor name
     * @return its values
     * @throws SafetensorsException if the tensor is missing, of another type, or too big for an array
     */
    public float[] readFloats(String name) {
        return readFloats(floatInfo(name));
    }

    /**
     * As {@link #readFloats(String)}, after checking the shape.
     *
     * @param name a tensor name
     * @param expectedShape the shape it must have
     * @return its values
     * @throws SafetensorsException (an IllegalArgumentException) naming the file, the tensor and
     *                              both shapes if the tensor's shape is not {@code expectedShape}
     */
    public float[] readFloats(String name, long... expectedShape) {
        TensorInfo info = floatInfo(name);
        checkShape(info, expectedShape);
        return readFloats(info);
    }

    /**
     * The values of an F64 tensor, row-major, exactly as stored, after checking the shape.
     *
     * @param name a tensor name
     * @param expectedShape the shape it must have
     * @return its values
     * @throws SafetensorsException if the tensor is missing, not F64, of another shape, or too
     *                              big for an array
     */
    public double[] readDoubles(String name, long... expectedShape) {
        TensorInfo info = info(name);
        if (info.dtype() != SafetensorsDType.F64) {
            throw SafetensorsException.inTensor(path, name, "dtype " + info.dtype() + " is not F64");
        }
        checkShape(info, expectedShape);
        long n = info.numel();
        if (n > MAX_ARRAY_ELEMENTS) {
            throw SafetensorsException.inTensor(path, name, n + " elements do not fit a Java array");
        }
        double[] out = new double[(int) n];
        int perWindow = maxMapBytes / Double.BYTES;
        for (int done = 0; done < n; ) {
            int count = (int) Math.min(n - done, perWindow);
            map(info, dataStart + info.begin() + (long) done * Double.BYTES, (long) count * Double.BYTES)
                    .asDoubleBuffer().get(out, done, count);
            done += count;
        }
        return out;
    }

    private float[] readFloats(TensorInfo info) {
        long n = info.numel();
        if (n > MAX_ARRAY_ELEMENTS) {
            throw SafetensorsException.inTensor(path, info.name(), n + " elements do not fit a Java array; use load()");
        }
        float[] out = new float[(int) n];
        decode(info, 0, out, 0, (int) n);
        return out;
    }

    private TensorInfo floatInfo(String name) {
        TensorInfo info = info(name);
        if (!info.dtype().isFloatLoadable()) {
            throw SafetensorsException.inTensor(path, name, "dtype " + info.dtype()
                    + " cannot be read as floats (only F32, F16 and BF16 can)");
        }
        return info;
    }

    private void checkShape(TensorInfo info, long[] expectedShape) {
        Objects.requireNonNull(expectedShape, "expectedShape");
        if (!info.hasShape(expectedShape)) {
            throw SafetensorsException.inTensor(path, info.name(), "shape " + Arrays.toString(info.shape())
                    + " does not match the expected shape " + Arrays.toString(expectedShape));
        }
    }

    // ------------------------------------------------------------------ loading into backend tensors

    /**
     * A new F32 tensor on the backend's device with the tensor's shape and values (F16 and BF16
     * widened). Data moves in chunks of {@value #LOAD_CHUNK_ELEMENTS} elements, so the heap
     * needed does not grow with the tensor. The caller owns (closes) the result; it is registered
     * with the current {@link io.starprompt.tensor.TensorScope} like any new tensor.
     *
     * @param backend the backend
     * @param name a tensor name
     * @return the tensor
     * @throws SafetensorsException if the tensor is missing or not F32/F16/BF16
     */
    public Tensor load(Backend backend, String name) {
        return loadChunked(backend, floatInfo(name), LOAD_CHUNK_ELEMENTS, false);
    }

    /**
     * As {@link #load(Backend, String)}, after checking the shape.
     *
     * @param backend the backend
     * @param name a tensor name
     * @param expectedShape the shape it must have
     * @return the tensor
     * @throws SafetensorsException naming the file, the tensor and both shapes if the tensor's
     *                              shape is not {@code expectedShape}
     */
    public Tensor load(Backend backend, String name, long... expectedShape) {
        TensorInfo info = floatInfo(name);
        checkShape(info, expectedShape);
        return loadChunked(backend, info, LOAD_CHUNK_ELEMENTS, false);
    }

    /**
     * The loading itself. Host tensors are written straight through their pointer; others (CUDA)
     * receive each chunk through a small staging tensor and {@link Backend#copy}, the only public
     * way to fill part of a device tensor. Tests force {@code staged} to cover that path on a CPU.
     */
    Tensor loadChunked(Backend backend, TensorInfo info, int chunkElements, boolean staged) {
        Objects.requireNonNull(backend, "backend");
        Tensor target = backend.empty(DType.F32, info.shape());
        try {
            copyInto(backend, info, target, chunkElements, staged || target.device() != Device.CPU);
            return target;
        } catch (RuntimeException | Error e) {
            target.close();
            throw e;
        }
    }

    private void copyInto(Backend backend, TensorInfo info, Tensor target, int chunkElements, boolean staged) {
        long n = info.numel();
        if (n == 0) return;
        float[] chunk = new float[(int) Math.min(n, chunkElements)];
        FloatPointer host = staged ? null : target.floatPointer();
        Tensor flat = target.reshape(n);
        for (long done = 0; done < n; ) {
            int count = (int) Math.min(n - done, chunk.length);
            decode(info, done, chunk, 0, count);
            if (staged) {
                writeStaged(backend, flat.rows(done, count), chunk, count);
            } else {
                host.position(done).put(chunk, 0, count);
            }
            done += count;
        }
    }

    private static void writeStaged(Backend backend, Tensor destination, float[] chunk, int count) {
        float[] values = count == chunk.length ? chunk : Arrays.copyOf(chunk, count);
        try (Tensor staging = backend.fromArray(values, count)) {
            backend.copy(staging, destination);
        }
    }

    // ------------------------------------------------------------------ mapping and decoding

    /**
     * Converts {@code count} elements of a float tensor, starting at element {@code first}, into
     * {@code dst[dstOffset...]}, mapping at most {@code maxMapBytes} of the file at a time.
     */
    private void decode(TensorInfo info, long first, float[] dst, int dstOffset, int count) {
        int size = info.dtype().bytes();
        int perWindow = maxMapBytes / size;
        for (int done = 0; done < count; ) {
            int n = Math.min(count - done, perWindow);
            ByteBuffer bytes = map(info, dataStart + info.begin() + (first + done) * size, (long) n * size);
            convert(info.dtype(), bytes, dst, dstOffset + done, n);
            done += n;
        }
    }

    private ByteBuffer map(TensorInfo info, long position, long length) {
        if (closed) throw new IllegalStateException(path + ": file is closed");
        try {
            return channel.map(FileChannel.MapMode.READ_ONLY, position, length).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new UncheckedIOException(path + ": cannot map tensor '" + info.name() + "'", e);
        }
    }

    private static void convert(SafetensorsDType dtype, ByteBuffer bytes, float[] dst, int offset, int n) {
        switch (dtype) {
            case F32 -> bytes.asFloatBuffer().get(dst, offset, n);
            case F16 -> {
                ShortBuffer halves = bytes.asShortBuffer();
                for (int i = 0; i < n; i++) dst[offset + i] = HalfFloats.f16ToFloat(halves.get(i));
            }
            case BF16 -> {
                ShortBuffer halves = bytes.asShortBuffer();
                for (int i = 0; i < n; i++) dst[offset + i] = HalfFloats.bf16ToFloat(halves.get(i));
            }
            default -> throw new IllegalStateException("not a float type: " + dtype);
        }
    }

    // ------------------------------------------------------------------ lifecycle

    /**
     * Closes the file; later reads fail. Arrays and tensors already returned stay valid. Idempotent.
     * Declares no checked exception, so that try-with-resources needs no catch.
     */
    @Override
    public void close() {
        closed = true;
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException(path + ": cannot close", e);
        }
    }

    /** For example {@code "SafetensorsFile[vit.safetensors, 30 tensors]"}. */
    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + names().size() + " tensors" + (closed ? ", closed" : "") + "]";
    }
}
