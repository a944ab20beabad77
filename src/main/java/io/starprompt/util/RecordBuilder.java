package io.starprompt.util;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;

/**
 * A builder of a record that starts from an existing record and changes components by name: the one
 * mechanism behind the builders of the configuration records, whose typed setters are one line each
 * ({@code public Builder lr(float v) { return set("lr", v); }}). {@link #build()} calls the record's
 * canonical constructor, so the record's own checks validate the result and their exceptions reach
 * the caller unchanged.
 *
 * @param <R> the record
 * @param <B> the concrete builder, returned by the setters for chaining
 */
public abstract class RecordBuilder<R extends Record, B extends RecordBuilder<R, B>> {
    private final Constructor<R> canonical;
    private final RecordComponent[] components;
    private final Object[] values;

    /**
     * A builder holding the component values of {@code from}.
     *
     * @param from the record to start from
     * @throws IllegalStateException if the record's components cannot be read
     */
    protected RecordBuilder(R from) {
        @SuppressWarnings("unchecked")
        Class<R> type = (Class<R>) from.getClass();
        components = type.getRecordComponents();
        values = new Object[components.length];
        Class<?>[] types = new Class<?>[components.length];
        try {
            for (int i = 0; i < components.length; i++) {
                types[i] = components[i].getType();
                values[i] = components[i].getAccessor().invoke(from);
            }
            canonical = type.getDeclaredConstructor(types);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot read the components of " + type.getName(), e);
        }
    }

    /**
     * A copy of a record with one component changed: the body of a one-line {@code withX} method.
     *
     * @param from      the record
     * @param component the name of the component to change
     * @param value     its new value (a primitive component takes its boxed value)
     * @param <R>       the record
     * @return the copy, checked by the record's canonical constructor
     * @throws IllegalArgumentException if the record has no such component
     */
    public static <R extends Record> R with(R from, String component, Object value) {
        return new Copy<>(from).set(component, value).build();
    }

    private static final class Copy<R extends Record> extends RecordBuilder<R, Copy<R>> {
        Copy(R from) {
            super(from);
        }
    }

    /**
     * The value one component has now: the record's, or the last one set.
     *
     * @param component the record component's name
     * @param <T>       its (boxed) type
     * @return its value
     * @throws IllegalArgumentException if the record has no such component
     */
    @SuppressWarnings("unchecked")
    protected final <T> T get(String component) {
        return (T) values[indexOf(component)];
    }

    /**
     * Sets one component; the typed setters of the concrete builder call it with their own name.
     *
     * @param component the record component's name
     * @param value     its new value (a primitive component takes its boxed value)
     * @return this builder
     * @throws IllegalArgumentException if the record has no such component
     */
    @SuppressWarnings("unchecked")
    protected final B set(String component, Object value) {
        values[indexOf(component)] = value;
        return (B) this;
    }

    private int indexOf(String component) {
        for (int i = 0; i < components.length; i++) {
            if (components[i].getName().equals(component)) return i;
        }
        throw new IllegalArgumentException(canonical.getDeclaringClass().getSimpleName() + " has no component "
                + component);
    }

    /**
     * The record with the values set so far.
     *
     * @return a new record, checked by its canonical constructor
     * @throws RuntimeException whatever the record's constructor throws for an invalid value
     */
    public final R build() {
        try {
            return canonical.newInstance(values);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw new IllegalStateException(e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot construct " + canonical.getDeclaringClass().getName(), e);
        }
    }
}
