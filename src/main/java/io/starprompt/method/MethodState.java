package io.starprompt.method;

import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * A method's state between two tasks, as named float32 and float64 arrays with shapes and
 * string properties: what {@link ContinualMethod#saveState()} returns, what a checkpoint stores
 * and what {@link ContinualMethod#restoreState} reads back. Arrays are copied in and out. Reads
 * check names and shapes, so state from another model is refused with a
 * {@link CheckpointException} naming the entry and both shapes.
 */
public final class MethodState {
    private final Map<String, float[]> floats = new TreeMap<>();
    private final Map<String, double[]> doubles = new TreeMap<>();
    private final Map<String, long[]> shapes = new TreeMap<>();
    private final Map<String, String> properties = new TreeMap<>();

    /**
     * Adds a float32 array of the given shape (replacing one of that name).
     *
     * @param name the array's name
     * @param values its values, copied
     * @param shape its shape
     * @return this state
     */
    public MethodState putFloats(String name, float[] values, long... shape) {
        return put(floats, doubles, name, values.clone(), values.length, shape);
    }

    /**
     * Adds a float64 array of the given shape (replacing one of that name).
     *
     * @param name the array's name
     * @param values its values, copied
     * @param shape its shape
     * @return this state
     */
    public MethodState putDoubles(String name, double[] values, long... shape) {
        return put(doubles, floats, name, values.clone(), values.length, shape);
    }

    /** Stores a copied array in the map of its precision, replacing an entry of that name of either. */
    private <A> MethodState put(Map<String, A> kind, Map<String, ?> otherKind, String name, A copy, int length,
            long[] shape) {
        checkShape(name, length, shape);
        otherKind.remove(name);
        kind.put(name, copy);
        shapes.put(name, shape.clone());
        return this;
    }

    /**
     * Adds a property.
     *
     * @param key the property's name
     * @param value its value
     * @return this state
     */
    public MethodState put(String key, String value) {
        properties.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value of " + key));
        return this;
    }

    /**
     * Adds an integer property.
     *
     * @param key the property's name
     * @param value its value
     * @return this state
     */
    public MethodState put(String key, long value) {
        return put(key, Long.toString(value));
    }

    /**
     * Whether an array of that name is present.
     *
     * @param name the array's name
     * @return whether it is present
     */
    public boolean has(String name) {
        return shapes.containsKey(name);
    }

    /**
     * The names of all arrays, sorted.
     *
     * @return the names
     */
    public Set<String> names() {
        return Collections.unmodifiableSet(shapes.keySet());
    }

    /**
     * All properties, sorted by key (unmodifiable).
     *
     * @return the properties
     */
    public Map<String, String> properties() {
        return Collections.unmodifiableMap(properties);
    }

    /**
     * The shape of an array (a copy).
     *
     * @param name the array's name
     * @return its shape
     */
    public long[] shape(String name) {
        return require(name).clone();
    }

    /**
     * Whether the array of that name is float64.
     *
     * @param name the array's name
     * @return whether it holds float64 values
     */
    public boolean isDouble(String name) {
        require(name);
        return doubles.containsKey(name);
    }

    /**
     * A float32 array (a copy), after checking its shape.
     *
     * @param name the array's name
     * @param expectedShape the shape it must have
     * @return its values
     * @throws CheckpointException if it is missing, float64 or of another shape
     */
    public float[] floats(String name, long... expectedShape) {
        return get(floats, name, expectedShape, "float64", "float32").clone();
    }

    /**
     * A float64 array (a copy), after checking its shape.
     *
     * @param name the array's name
     * @param expectedShape the shape it must have
     * @return its values
     * @throws CheckpointException if it is missing, float32 or of another shape
     */
    public double[] doubles(String name, long... expectedShape) {
        return get(doubles, name, expectedShape, "float32", "float64").clone();
    }

    /**
     * A property.
     *
     * @param key the property's name
     * @return its value
     * @throws CheckpointException if it is missing
     */
    public String property(String key) {
        String v = properties.get(key);
        if (v == null) throw new CheckpointException("state property '" + key + "' is missing");
        return v;
    }

    /**
     * An integer property.
     *
     * @param key the property's name
     * @return its value
     * @throws CheckpointException if it is missing or not an integer
     */
    public long longProperty(String key) {
        String v = property(key);
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new CheckpointException("state property '" + key + "' is not an integer: '" + v + "'");
        }
    }

    /**
     * As {@link #longProperty} for an int.
     *
     * @param key the property's name
     * @return its value
     */
    public int intProperty(String key) {
        long v = longProperty(key);
        if (v != (int) v) throw new CheckpointException("state property '" + key + "' = " + v + " is out of int range");
        return (int) v;
    }

    /**
     * Refuses state that does not have this exact property value: the message says what the
     * state holds and what was expected, e.g. a configuration or a method name.
     *
     * @param key the property's name
     * @param expected the value it must have
     */
    public void requireProperty(String key, String expected) {
        String actual = property(key);
        if (!actual.equals(expected)) {
            throw new CheckpointException("state " + key + " differs: it was saved with '" + actual + "', this instance has '"
                    + expected + "'");
        }
    }

    // package-private views for the checkpoint file format
    Map<String, float[]> floatArrays() {
        return floats;
    }

    Map<String, double[]> doubleArrays() {
        return doubles;
    }

    Map<String, long[]> shapes() {
        return shapes;
    }

    /** The stored array (not a copy) after checking its shape and that it has the wanted precision. */
    private <A> A get(Map<String, A> kind, String name, long[] expectedShape, String stored, String wanted) {
        checkExpected(name, expectedShape);
        A v = kind.get(name);
        if (v == null) throw new CheckpointException("state entry '" + name + "' is " + stored + ", " + wanted + " expected");
        return v;
    }

    private long[] require(String name) {
        long[] shape = shapes.get(name);
        if (shape == null) throw new CheckpointException("state entry '" + name + "' is missing");
        return shape;
    }

    private void checkExpected(String name, long[] expectedShape) {
        long[] shape = require(name);
        if (!Arrays.equals(shape, expectedShape)) {
            throw new CheckpointException("state entry '" + name + "' has shape " + Arrays.toString(shape)
                    + ", this model needs " + Arrays.toString(expectedShape));
        }
    }

    private static void checkShape(String name, int length, long[] shape) {
        Objects.requireNonNull(name, "name");
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("state entry '" + name + "': negative dimension in " + Arrays.toString(shape));
            n = Math.multiplyExact(n, d);
        }
        if (n != length) {
            throw new IllegalArgumentException("state entry '" + name + "': " + length + " values do not fill shape "
                    + Arrays.toString(shape));
        }
    }

    /** Same arrays (bit for bit), shapes and properties. */
    @Override
    public boolean equals(Object o) {
        if (!(o instanceof MethodState s) || !properties.equals(s.properties) || !shapes.keySet().equals(s.shapes.keySet())) {
            return false;
        }
        for (String n : shapes.keySet()) {
            if (!Arrays.equals(shapes.get(n), s.shapes.get(n))) return false;
            if (!Arrays.equals(floats.get(n), s.floats.get(n)) || !Arrays.equals(doubles.get(n), s.doubles.get(n))) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int hashCode() {
        return Objects.hash(properties, shapes.keySet());
    }

    @Override
    public String toString() {
        return "MethodState[" + shapes.size() + " arrays, " + properties.size() + " properties]";
    }
}
