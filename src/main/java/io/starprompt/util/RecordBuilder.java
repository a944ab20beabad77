package io.starprompt.util;

import java.io.Serializable;
import java.lang.invoke.SerializedLambda;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * A builder of a record that starts from an existing record and changes components named by their
 * accessors: the one mechanism behind the builders of the configuration records, so that a record
 * needs no setter of its own per component and its components' documentation is the record's.
 * {@link #build()} calls the record's canonical constructor, so the record's own checks validate the
 * result and their exceptions reach the caller unchanged.
 *
 * <pre>{@code
 * FirstStageConfig c = FirstStageConfig.builder().set(FirstStageConfig::lr, 0.01f).build();
 * StarPromptConfig s = StarPromptConfig.builder()
 *         .change(StarPromptConfig::stage2, g -> g.set(StarPromptConfig.Stage2::lambdaOrtho, 5f)).build();
 * }</pre>
 *
 * @param <R> the record
 * @param <B> the concrete builder, returned by the setters for chaining
 */
public abstract class RecordBuilder<R extends Record, B extends RecordBuilder<R, B>> {
    /**
     * A record component named by its accessor, {@code Record::component}: the method reference is
     * serialisable so that the builder can read which accessor it names.
     *
     * @param <R> the record
     * @param <T> the component's (boxed) type
     */
    @FunctionalInterface
    public interface Component<R extends Record, T> extends Function<R, T>, Serializable {}

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
     * A builder of any record that needs no builder methods of its own.
     *
     * @param from the record to start from
     * @param <R>  the record
     * @return a new builder holding the values of {@code from}
     */
    public static <R extends Record> Of<R> of(R from) {
        return new Of<>(from);
    }

    /**
     * A copy of a record with one component changed: the body of a one-line {@code withX} method.
     *
     * @param from      the record
     * @param component the accessor of the component to change
     * @param value     its new value
     * @param <R>       the record
     * @param <T>       the component's (boxed) type
     * @return the copy, checked by the record's canonical constructor
     * @throws IllegalArgumentException if {@code component} is not an accessor of the record
     */
    public static <R extends Record, T> R with(R from, Component<R, T> component, T value) {
        return of(from).set(component, value).build();
    }

    /**
     * The plain builder of {@link #of}.
     *
     * @param <R> the record
     */
    public static final class Of<R extends Record> extends RecordBuilder<R, Of<R>> {
        private Of(R from) {
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
     * Sets one component by name, for a concrete builder's own methods.
     *
     * @param component the record component's name
     * @param value     its new value (a primitive component takes its boxed value)
     * @return this builder
     * @throws IllegalArgumentException if the record has no such component or the value is not of its type
     */
    @SuppressWarnings("unchecked")
    protected final B set(String component, Object value) {
        int i = indexOf(component);
        requireType(components[i], value);
        values[i] = value;
        return (B) this;
    }

    /**
     * Sets one component.
     *
     * @param component the component's accessor, {@code Record::component}
     * @param value     its new value
     * @param <T>       the component's (boxed) type
     * @return this builder
     * @throws IllegalArgumentException if {@code component} is not an accessor of the record, or the
     *                                  value is not of the component's type
     */
    public final <T> B set(Component<R, T> component, T value) {
        return set(nameOf(component), value);
    }

    /**
     * Changes some components of a component that is itself a record (a group of settings).
     *
     * @param group  the group's accessor, {@code Record::group}
     * @param change what to change, on a builder starting from the group's current value
     * @param <G>    the group's record
     * @return this builder
     * @throws IllegalArgumentException if {@code group} is not an accessor of the record, or the group's
     *                                  own checks refuse the changed group
     */
    public final <G extends Record> B change(Component<R, G> group, UnaryOperator<Of<G>> change) {
        String name = nameOf(group);
        return set(name, change.apply(of(this.<G>get(name))).build());
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

    private int indexOf(String component) {
        for (int i = 0; i < components.length; i++) {
            if (components[i].getName().equals(component)) return i;
        }
        throw new IllegalArgumentException(recordName() + " has no component " + component);
    }

    private String recordName() {
        return canonical.getDeclaringClass().getSimpleName();
    }

    /** A generic setter compiles for a mismatched boxed value (0.5 for a float), so the type is checked here. */
    private void requireType(RecordComponent c, Object value) {
        Class<?> type = c.getType();
        boolean ok = type.isPrimitive() ? value != null && boxed(type).isInstance(value)
                : value == null || type.isInstance(value);
        if (!ok) {
            throw new IllegalArgumentException(recordName() + "." + c.getName() + " is a " + type.getSimpleName()
                    + ", got " + (value == null ? "null" : value.getClass().getSimpleName() + " " + value));
        }
    }

    private static Class<?> boxed(Class<?> primitive) {
        return java.lang.invoke.MethodType.methodType(primitive).wrap().returnType();
    }

    /**
     * The component a method reference names: a serialisable lambda records its implementation method,
     * which for {@code Record::component} is the accessor.
     */
    private String nameOf(Component<R, ?> accessor) {
        SerializedLambda lambda = serialized(accessor);
        String owner = lambda.getImplClass().replace('/', '.');
        if (!owner.equals(canonical.getDeclaringClass().getName())) {
            throw new IllegalArgumentException("not an accessor of " + recordName() + ": pass "
                    + recordName() + "::component");
        }
        return lambda.getImplMethodName();
    }

    private static SerializedLambda serialized(Serializable lambda) {
        try {
            Method replace = lambda.getClass().getDeclaredMethod("writeReplace");
            replace.setAccessible(true);
            if (replace.invoke(lambda) instanceof SerializedLambda s) return s;
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalArgumentException("a component is named by a method reference Record::component", e);
        }
        throw new IllegalArgumentException("a component is named by a method reference Record::component");
    }
}
