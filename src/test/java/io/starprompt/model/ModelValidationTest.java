package io.starprompt.model;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.starprompt.GoldenTest;
import io.starprompt.backend.Backend;
import io.starprompt.backend.Backends;
import io.starprompt.model.safetensors.SafetensorsFile;
import io.starprompt.model.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Base of the models' validation tests: the golden set and a CPU backend for the class's tests, a
 * temporary folder for edited copies of the golden weight files, and the check that a call is
 * rejected with a message naming what is wrong.
 */
public abstract class ModelValidationTest extends GoldenTest {
    /** The CPU backend, open while the subclass's tests run. */
    protected static Backend be;

    /** The golden weight file of the subclass's model, set by its own {@code @BeforeAll}. */
    protected static Path weights;

    /** A fresh folder for each test's edited files. */
    @TempDir
    protected Path tmp;

    @BeforeAll
    static void createBackend() {
        be = Backends.create("cpu");
    }

    @AfterAll
    static void closeBackend() {
        be.close();
        be = null;
        weights = null;
    }

    /**
     * Writes a copy of {@link #weights} into {@link #tmp} with an edit applied to its tensors (all
     * read as float32).
     *
     * @param file       the copy's name in {@link #tmp}
     * @param editData   changes the map of tensor names to values
     * @param editShapes changes the map of tensor names to shapes
     * @return the copy
     * @throws IOException if a file cannot be read or written
     */
    protected Path editedCopy(String file, Consumer<Map<String, float[]>> editData,
            Consumer<Map<String, long[]>> editShapes) throws IOException {
        Map<String, float[]> data = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(weights)) {
            for (String n : f.names()) {
                data.put(n, f.readFloats(n));
                shapes.put(n, f.info(n).shape());
            }
        }
        editData.accept(data);
        editShapes.accept(shapes);
        Path out = tmp.resolve(file);
        SafetensorsWriter.write(out, data, shapes);
        return out;
    }

    /**
     * Asserts that a call throws an IllegalArgumentException whose message mentions every fragment.
     *
     * @param call        the call
     * @param mustMention the fragments the message must contain
     */
    protected static void assertRejected(Executable call, String... mustMention) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        for (String s : mustMention) assertTrue(e.getMessage().contains(s), "message '" + e.getMessage() + "' lacks " + s);
    }
}
