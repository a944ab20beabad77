/**
 * Tensors in native memory: {@link io.starprompt.tensor.Tensor} (dense, row-major, of a
 * {@link io.starprompt.tensor.DType} on a {@link io.starprompt.tensor.Device}, freed when closed),
 * the memory behind it ({@link io.starprompt.tensor.Storage}), and
 * {@link io.starprompt.tensor.TensorScope}, which closes every tensor allocated inside it.
 */
package io.starprompt.tensor;
