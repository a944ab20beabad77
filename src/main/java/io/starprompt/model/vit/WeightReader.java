package io.starprompt.model.vit;

import io.starprompt.backend.Backend;
import io.starprompt.model.Precision;
import io.starprompt.model.safetensors.SafetensorsFile;
import io.starprompt.tensor.DType;
import io.starprompt.tensor.Tensor;
import io.starprompt.tensor.TensorScope;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reads named weights of one checkpoint with clear errors (file and tensor named) and remembers
 * what it loaded, so that a failed load can free everything it had already uploaded.
 */
public final class WeightReader {
    private final SafetensorsFile file;
    private final Path path;
    private final Backend backend;
    private final String format;
    private final DType storage;
    private final List<Tensor> loaded = new ArrayList<>();

    /**
     * What a model's loader does with the reader of its checkpoint.
     *
     * @param <T> the model
     */
    @FunctionalInterface
    public interface Loader<T> {
        /**
         * Builds the model from the checkpoint's weights.
         *
         * @param r the checkpoint's reader
         * @return the model
         */
        T load(WeightReader r);
    }

    private WeightReader(SafetensorsFile file, Path path, Backend backend, String format, DType storage) {
        this.file = file;
        this.path = path;
        this.backend = backend;
        this.format = format;
        this.storage = storage;
    }

    /**
     * Opens a checkpoint and runs a model's loader on its reader; when the loader fails, every tensor
     * it had already uploaded is freed before the exception leaves, and the file is closed either way.
     *
     * @param safetensors the checkpoint
     * @param backend     where the weights go
     * @param format      the expected checkpoint, for the "is missing" message (e.g. "an HF CLIPModel
     *                    state dict")
     * @param loader      builds the model from the reader
     * @param <T>         the model
     * @return the model
     * @throws IOException if the file cannot be opened
     */
    public static <T> T read(Path safetensors, Backend backend, String format, Loader<T> loader) throws IOException {
        return read(safetensors, backend, format, Precision.FP32, loader);
    }

    /**
     * As {@link #read(Path, Backend, String, Loader)}, with the weights that {@link #load} and
     * {@link #frozen} upload stored in the precision's dtype (converted once, here).
     *
     * @param safetensors the checkpoint
     * @param backend     where the weights go
     * @param format      the expected checkpoint, for the "is missing" message
     * @param precision   how the model stores its frozen weights
     * @param loader      builds the model from the reader
     * @param <T>         the model
     * @return the model
     * @throws IOException if the file cannot be opened
     */
    public static <T> T read(Path safetensors, Backend backend, String format, Precision precision, Loader<T> loader)
            throws IOException {
        java.util.Objects.requireNonNull(precision, "precision");
        try (SafetensorsFile file = SafetensorsFile.open(safetensors)) {
            WeightReader r = new WeightReader(file, safetensors, backend, format, precision.storage());
            try {
                return loader.load(r);
            } catch (RuntimeException | Error e) {
                r.closeLoaded();
                throw e;
            }
        }
    }

    /**
     * The backend tensors are uploaded to.
     *
     * @return the backend
     */
    public Backend backend() {
        return backend;
    }

    /**
     * Shape of a tensor that must be present.
     *
     * @param name the tensor's name
     * @return its shape
     */
    public long[] shape(String name) {
        requirePresent(name);
        return file.info(name).shape();
    }

    /**
     * Shape of a tensor that must be present and have the given rank.
     *
     * @param name the tensor's name
     * @param rank the rank it must have
     * @param layout its expected layout, for the message
     * @return its shape
     */
    public long[] shape(String name, int rank, String layout) {
        long[] s = shape(name);
        if (s.length != rank) throw bad(name, "has shape " + Tensor.shapeString(s) + ", expected " + layout);
        return s;
    }

    /**
     * Uploads a tensor after checking it exists and has exactly the expected shape.
     *
     * @param name the tensor's name
     * @param expected its shape
     * @return the uploaded tensor
     */
    public Tensor load(String name, long... expected) {
        long[] s = shape(name);
        if (!Arrays.equals(s, expected)) {
            throw bad(name, "has shape " + Tensor.shapeString(s) + ", expected " + Tensor.shapeString(expected));
        }
        return frozen(TensorScope.detach(file.load(backend, name, expected)));
    }

    /**
     * Uploads host values derived from checkpoint data (a bias table, a folded embedding) as a
     * frozen weight in the model's storage dtype, tracked like {@link #load}'s tensors.
     *
     * @param values the values
     * @param shape their shape
     * @return the uploaded tensor
     */
    public Tensor frozen(float[] values, long... shape) {
        return frozen(TensorScope.detach(backend.fromArray(values, shape)));
    }

    /** The tensor in the storage dtype (converted once, the f32 upload freed), tracked. */
    private Tensor frozen(Tensor f32) {
        Tensor t = f32;
        if (storage != DType.F32) {
            try (Tensor upload = f32) {
                t = TensorScope.detach(backend.empty(storage, upload.shape()));
                backend.convert(upload, t);
            }
        }
        loaded.add(t);
        return t;
    }

    /**
     * The dtype of the model's frozen weights and stored activations.
     *
     * @return F32, or BF16 for a bf16 model
     */
    public DType storage() {
        return storage;
    }

    /**
     * Host copy of a tensor after the same checks.
     *
     * @param name the tensor's name
     * @param expected its shape
     * @return its values
     */
    public float[] read(String name, long... expected) {
        long[] s = shape(name);
        if (!Arrays.equals(s, expected)) {
            throw bad(name, "has shape " + Tensor.shapeString(s) + ", expected " + Tensor.shapeString(expected));
        }
        return file.readFloats(name);
    }

    /**
     * Registers a tensor made from checkpoint data, so that a failed load frees it too.
     *
     * @param t the tensor
     * @return t
     */
    public Tensor track(Tensor t) {
        loaded.add(t);
        return t;
    }

    /**
     * Throws the "is missing" error naming the file and tensor unless the tensor exists.
     *
     * @param name the tensor's name
     */
    public void requirePresent(String name) {
        if (!file.contains(name)) throw bad(name, "is missing (expected " + format + ")");
    }

    /**
     * An error naming the file and the tensor.
     *
     * @param name the tensor's name
     * @param problem what is wrong
     * @return the exception, to throw
     */
    public IllegalArgumentException bad(String name, String problem) {
        return new IllegalArgumentException(path + ": tensor '" + name + "' " + problem);
    }

    /**
     * The checkpoint file, as named in error messages.
     *
     * @return the path
     */
    public Path path() {
        return path;
    }

    /**
     * Names of all tensors in the file.
     *
     * @return the names
     */
    public Iterable<String> names() {
        return file.names();
    }

    /** Frees everything loaded so far (after a failed load). */
    private void closeLoaded() {
        for (Tensor t : loaded) t.close();
        loaded.clear();
    }
}
