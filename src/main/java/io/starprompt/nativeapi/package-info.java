/**
 * The JNI binding of the native library: {@link io.starprompt.nativeapi.StarPromptNative}, one
 * Java method per function of {@code native/include/starprompt.h}, and
 * {@link io.starprompt.nativeapi.NativeLib}, which loads the library and turns status codes into
 * exceptions. The only place Java touches native code; applications use the backends instead.
 */
package io.starprompt.nativeapi;
