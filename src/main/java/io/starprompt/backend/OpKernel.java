package io.starprompt.backend;

import io.starprompt.tensor.Tensor;

/**
 * A kernel variant written by a user, for one of the ops whose kernels can be swapped: GEMM,
 * attention and the STAR-Prompt retrieval. Registered under a name, it is selected exactly like
 * the built-in variants, by {@code -Dstarprompt.kernel.<op>=<name>} or
 * {@link KernelRegistry#select}, and the profiler shows it under that name beside them:
 *
 * <pre>{@code
 * OpKernel.Gemm mine = (be, s, a, b, c, alpha, beta) -> { ... };
 * backend.kernels().register("mine", mine);      // this backend only, or
 * KernelRegistry.registerGlobally("mine", mine); // every backend created afterwards
 * backend.kernels().select("gemm", "mine");
 * }</pre>
 *
 * <p>A kernel is called after the public op has checked its arguments (shapes, dtypes, device,
 * nothing closed), with the backend it runs on and the operands in that backend's memory
 * ({@link Tensor#floatPointer()} on the host backends; device memory on CUDA). It may call the
 * backend's public ops, e.g. {@link Backend#toFloatArray} and {@link Backend#copy} to work on
 * Java arrays; such inner calls are part of its time in the profile, not rows of their own. It
 * must overwrite (or, where the op says so, accumulate into) its outputs as the op documents.
 */
public sealed interface OpKernel permits OpKernel.Gemm, OpKernel.Attention, OpKernel.Retrieval {
    /**
     * The op this kernel implements.
     *
     * @return "gemm", "attention" or "retrieval"
     */
    String op();

    /** A variant of {@link Backend#gemm}. */
    @FunctionalInterface
    non-sealed interface Gemm extends OpKernel {
        /**
         * c ← alpha·op(a)·op(b) + beta·c for every batch item.
         *
         * @param backend the backend the op runs on
         * @param shape   sizes, transposes and batch strides (0: the operand is shared)
         * @param a       left operand
         * @param b       right operand
         * @param c       output, read when beta ≠ 0
         * @param alpha   scale of the product
         * @param beta    scale of the previous c
         */
        void gemm(Backend backend, Backend.GemmShape shape, Tensor a, Tensor b, Tensor c, float alpha, float beta);

        /** {@inheritDoc} */
        @Override
        default String op() {
            return "gemm";
        }
    }

    /** A variant of {@link Backend#attention} and {@link Backend#attentionBackward}. */
    non-sealed interface Attention extends OpKernel {
        /**
         * The forward pass (the residual, if any, included).
         *
         * @param backend the backend the op runs on
         * @param in      queries, keys, values, optional prefixes and residual
         * @param out     output [B, Nq, H·hd]
         * @param lse     log-sum-exp of each query row's scaled scores [B, H, Nq], for the backward
         */
        void forward(Backend backend, AttentionInputs in, Tensor out, Tensor lse);

        /**
         * The backward pass.
         *
         * @param backend the backend the op runs on
         * @param in      the forward's inputs
         * @param out     the forward's output
         * @param lse     the forward's log-sum-exp
         * @param dOut    gradient of the output
         * @param grads   gradients to overwrite, shaped like the inputs they belong to
         */
        void backward(Backend backend, AttentionInputs in, Tensor out, Tensor lse, Tensor dOut, AttentionGrads grads);

        /** {@inheritDoc} */
        @Override
        default String op() {
            return "attention";
        }
    }

    /** A variant of {@link Backend#retrieval} and {@link Backend#retrievalBackward}. */
    non-sealed interface Retrieval extends OpKernel {
        /**
         * The key–query retrieval of every prompted layer.
         *
         * @param backend the backend the op runs on
         * @param in      queries, keys, modulation logits and prompt pools
         * @param sims    similarities [L, B, seen]
         * @param sel     selected class per layer and sample [L, B] (i32)
         * @param sp      selected, weighted prompts [L, B, dp]
         */
        void forward(Backend backend, RetrievalInputs in, Tensor sims, Tensor sel, Tensor sp);

        /**
         * Gradients of the retrieval.
         *
         * @param backend the backend the op runs on
         * @param in      the forward's inputs
         * @param sims    the forward's similarities
         * @param sel     the forward's selection
         * @param dsp     gradient of the selected prompts [L, B, dp]
         * @param past    classes below this get no gradient
         * @param dA      gradient of the modulation logits [L, C, d], overwritten
         * @param dP      gradient of the prompt pools [L, C, dp], overwritten
         */
        void backward(Backend backend, RetrievalInputs in, Tensor sims, Tensor sel, Tensor dsp, int past, Tensor dA,
                Tensor dP);

        /** {@inheritDoc} */
        @Override
        default String op() {
            return "retrieval";
        }
    }
}
