package io.starprompt.nativeapi;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JNI binding of {@code native/include/starprompt.h}, one Java method per C function with the
 * same name and argument order. This class is the only place Java touches native code; use
 * {@link NativeLib} for checked calls. Device pointers are passed as pointers whose address is
 * the device address.
 */
@Platform(include = "starprompt.h", link = "starprompt")
public final class StarPromptNative {
    static {
        Loader.load();
    }

    private StarPromptNative() {}

    /** The status codes of {@code starprompt.h}: success, bad argument, no CUDA, CUDA failure, out of memory. */
    public static final int SP_OK = 0, SP_ERR_ARG = 1, SP_ERR_NO_CUDA = 2, SP_ERR_CUDA = 3, SP_ERR_ALLOC = 4;

    /** {@code sp_last_error} of {@code starprompt.h}: same arguments, same order. */
    public static native @Cast("const char*") BytePointer sp_last_error();
    /** {@code sp_version} of {@code starprompt.h}: same arguments, same order. */
    public static native @Cast("const char*") BytePointer sp_version();
    /** {@code sp_cpu_set_threads} of {@code starprompt.h}: same arguments, same order. */
    public static native void sp_cpu_set_threads(int n);
    /** {@code sp_cpu_get_threads} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_get_threads();
    /** Opens an NVTX range (a no-op without CUDA); see starprompt.h. */
    public static native int sp_nvtx_range_push(String name);
    /** Closes the innermost NVTX range (a no-op without CUDA). */
    public static native int sp_nvtx_range_pop();

    // ---------------------------------------------------------------- CPU
    /** {@code sp_cpu_gemm_naive} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_gemm_naive(int transA, int transB, int m, int n, int k, float alpha,
            FloatPointer a, long strideA, FloatPointer b, long strideB, float beta, FloatPointer c, long strideC,
            int batch);
    /** {@code sp_cpu_convert} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_convert(Pointer src, int srcDtype, Pointer dst, int dstDtype, long n);
    /** {@code sp_cpu_add_bias} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_add_bias(FloatPointer x, FloatPointer bias, long rows, long cols);
    /** The activation codes of {@code sp_cpu_bias_act_fwd}: exact (erf) GELU and QuickGELU. */
    public static final int SP_ACT_GELU = 0, SP_ACT_QUICKGELU = 1;
    /** {@code sp_cpu_bias_act_fwd} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_bias_act_fwd(int act, FloatPointer x, FloatPointer bias, FloatPointer y, long rows,
            long cols);
    /** {@code sp_cpu_axpy} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_axpy(FloatPointer y, FloatPointer x, float alpha, long n);
    /** {@code sp_cpu_layernorm_fwd} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_layernorm_fwd(FloatPointer x, FloatPointer gamma, FloatPointer beta, float eps,
            FloatPointer y, FloatPointer mean, FloatPointer rstd, long rows, long cols);
    /** {@code sp_cpu_layernorm_bwd} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_layernorm_bwd(FloatPointer dy, FloatPointer x, FloatPointer gamma,
            FloatPointer mean, FloatPointer rstd, FloatPointer dx, FloatPointer dgamma, FloatPointer dbeta, long rows,
            long cols);
    /** {@code sp_cpu_gelu_fwd} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_gelu_fwd(FloatPointer x, FloatPointer y, long n);
    /** {@code sp_cpu_gelu_bwd} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_gelu_bwd(FloatPointer x, FloatPointer dy, FloatPointer dx, long n);
    /** {@code sp_cpu_quickgelu_fwd} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_quickgelu_fwd(FloatPointer x, FloatPointer y, long n);
    /** {@code sp_cpu_quickgelu_bwd} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_quickgelu_bwd(FloatPointer x, FloatPointer dy, FloatPointer dx, long n);
    /** {@code sp_cpu_softmax_fwd} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_softmax_fwd(FloatPointer x, FloatPointer y, long rows, long cols);
    /** {@code sp_cpu_softmax_bwd} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_softmax_bwd(FloatPointer y, FloatPointer dy, FloatPointer dx, long rows, long cols);
    /** {@code sp_cpu_attention_fwd_naive} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_attention_fwd_naive(FloatPointer q, FloatPointer k, FloatPointer v,
            FloatPointer pk, FloatPointer pv, FloatPointer r, FloatPointer out, FloatPointer lse, int batch, int nq,
            int nk, int lp, int heads, int headDim, float scale, int causal);
    /** {@code sp_cpu_attention_fwd_tiled} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_attention_fwd_tiled(FloatPointer q, FloatPointer k, FloatPointer v,
            FloatPointer pk, FloatPointer pv, FloatPointer r, FloatPointer out, FloatPointer lse, int batch, int nq,
            int nk, int lp, int heads, int headDim, float scale, int causal);
    /** {@code sp_cpu_attention_bwd_naive} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_attention_bwd_naive(FloatPointer q, FloatPointer k, FloatPointer v,
            FloatPointer pk, FloatPointer pv, FloatPointer r, FloatPointer out, FloatPointer lse, FloatPointer dout,
            FloatPointer dq, FloatPointer dk, FloatPointer dv, FloatPointer dpk, FloatPointer dpv, FloatPointer dr,
            int batch, int nq, int nk, int lp, int heads, int headDim, float scale, int causal);
    /** {@code sp_cpu_attention_bwd_tiled} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_attention_bwd_tiled(FloatPointer q, FloatPointer k, FloatPointer v,
            FloatPointer pk, FloatPointer pv, FloatPointer r, FloatPointer out, FloatPointer lse, FloatPointer dout,
            FloatPointer dq, FloatPointer dk, FloatPointer dv, FloatPointer dpk, FloatPointer dpv, FloatPointer dr,
            int batch, int nq, int nk, int lp, int heads, int headDim, float scale, int causal);
    /** {@code sp_cpu_embedding_gather} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_embedding_gather(FloatPointer table, IntPointer ids, FloatPointer out, long n,
            long dim, long vocab);
    /** {@code sp_cpu_embedding_scatter_add} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_embedding_scatter_add(FloatPointer dout, IntPointer ids, FloatPointer dtable,
            long n, long dim, long vocab);
    /** {@code sp_cpu_token_sum} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_token_sum(FloatPointer x, FloatPointer out, int batch, int tokens, long dim);
    /** {@code sp_cpu_token_gather} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_token_gather(FloatPointer x, IntPointer idx, FloatPointer out, int batch,
            int tokens, long dim);
    /** {@code sp_cpu_token_scatter_add} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_token_scatter_add(FloatPointer dout, IntPointer idx, FloatPointer dx, int batch,
            int tokens, long dim);
    /** {@code sp_cpu_patchify} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_patchify(FloatPointer images, FloatPointer patches, int batch, int channels,
            int size, int patch);
    /** {@code sp_cpu_unpatchify} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_unpatchify(FloatPointer patches, FloatPointer images, int batch, int channels,
            int size, int patch);
    /** {@code sp_cpu_cross_entropy} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_cross_entropy(FloatPointer logits, IntPointer labels, int batch, int classes,
            int lo, int hi, FloatPointer loss, FloatPointer dlogits);
    /** {@code sp_cpu_adam_step} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_adam_step(FloatPointer param, FloatPointer grad, FloatPointer m, FloatPointer v,
            long n, float lr, float beta1, float beta2, float eps, float weightDecay, int step);
    /** {@code sp_cpu_sgd_step} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_sgd_step(FloatPointer param, FloatPointer grad, long n, float lr,
            float weightDecay);
    /** {@code sp_cpu_retrieval_fwd_naive} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_retrieval_fwd_naive(FloatPointer q, FloatPointer keys, FloatPointer a,
            FloatPointer p, int batch, int seen, int classes, int d, int dp, int layers, int modulate,
            FloatPointer sims, IntPointer sel, FloatPointer sp);
    /** {@code sp_cpu_retrieval_fwd_fused} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_retrieval_fwd_fused(FloatPointer q, FloatPointer keys, FloatPointer a,
            FloatPointer p, int batch, int seen, int classes, int d, int dp, int layers, int modulate,
            FloatPointer sims, IntPointer sel, FloatPointer sp);
    /** {@code sp_cpu_retrieval_bwd_naive} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_retrieval_bwd_naive(FloatPointer q, FloatPointer keys, FloatPointer a,
            FloatPointer p, FloatPointer sims, IntPointer sel, FloatPointer dsp, int batch, int seen, int classes,
            int past, int d, int dp, int layers, int modulate, FloatPointer da, FloatPointer dpGrad);
    /** {@code sp_cpu_retrieval_bwd_fused} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_retrieval_bwd_fused(FloatPointer q, FloatPointer keys, FloatPointer a,
            FloatPointer p, FloatPointer sims, IntPointer sel, FloatPointer dsp, int batch, int seen, int classes,
            int past, int d, int dp, int layers, int modulate, FloatPointer da, FloatPointer dpGrad);

    // ---------------------------------------------------------------- CUDA
    /** {@code sp_cuda_compiled} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_compiled();
    /** {@code sp_cuda_device_count} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_device_count();
    /** {@code sp_cuda_set_device} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_set_device(int device);
    /** {@code sp_cuda_malloc} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_malloc(@Cast("size_t") long bytes, @Cast("void**") PointerPointer<?> out);
    /** {@code sp_cuda_free} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_free(Pointer ptr);
    /** {@code sp_cuda_memcpy_h2d} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_memcpy_h2d(Pointer dst, Pointer src, @Cast("size_t") long bytes, Pointer stream);
    /** {@code sp_cuda_memcpy_d2h} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_memcpy_d2h(Pointer dst, Pointer src, @Cast("size_t") long bytes, Pointer stream);
    /** {@code sp_cuda_memcpy_d2d} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_memcpy_d2d(Pointer dst, Pointer src, @Cast("size_t") long bytes, Pointer stream);
    /** {@code sp_cuda_memset_zero} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_memset_zero(Pointer dst, @Cast("size_t") long bytes, Pointer stream);
    /** {@code sp_cuda_stream_create} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_stream_create(@Cast("void**") PointerPointer<?> out);
    /** {@code sp_cuda_stream_destroy} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_stream_destroy(Pointer stream);
    /** {@code sp_cuda_stream_synchronize} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_stream_synchronize(Pointer stream);
    /** {@code sp_cuda_convert} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_convert(Pointer src, int srcDtype, Pointer dst, int dstDtype, long n,
            Pointer stream);
    /** {@code sp_cuda_event_create} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_event_create(@Cast("void**") PointerPointer<?> out);
    /** {@code sp_cuda_event_destroy} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_event_destroy(Pointer event);
    /** {@code sp_cuda_event_record} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_event_record(Pointer event, Pointer stream);
    /** {@code sp_cuda_event_elapsed_ms} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_event_elapsed_ms(Pointer start, Pointer stop, FloatPointer ms);

    /** {@code sp_cuda_gemm_naive} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_gemm_naive(int transA, int transB, int m, int n, int k, float alpha,
            FloatPointer a, long strideA, FloatPointer b, long strideB, float beta, FloatPointer c, long strideC,
            int batch, Pointer stream);
    /** {@code sp_cuda_add_bias} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_add_bias(FloatPointer x, FloatPointer bias, long rows, long cols, Pointer stream);
    /** {@code sp_cuda_axpy} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_axpy(FloatPointer y, FloatPointer x, float alpha, long n, Pointer stream);
    /** {@code sp_cuda_layernorm_fwd} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_layernorm_fwd(FloatPointer x, FloatPointer gamma, FloatPointer beta, float eps,
            FloatPointer y, FloatPointer mean, FloatPointer rstd, long rows, long cols, Pointer stream);
    /** {@code sp_cuda_layernorm_bwd} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_layernorm_bwd(FloatPointer dy, FloatPointer x, FloatPointer gamma,
            FloatPointer mean, FloatPointer rstd, FloatPointer dx, FloatPointer dgamma, FloatPointer dbeta, long rows,
            long cols, Pointer stream);
    /** {@code sp_cuda_gelu_fwd} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_gelu_fwd(FloatPointer x, FloatPointer y, long n, Pointer stream);
    /** {@code sp_cuda_gelu_bwd} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_gelu_bwd(FloatPointer x, FloatPointer dy, FloatPointer dx, long n,
            Pointer stream);
    /** {@code sp_cuda_quickgelu_fwd} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_quickgelu_fwd(FloatPointer x, FloatPointer y, long n, Pointer stream);
    /** {@code sp_cuda_quickgelu_bwd} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_quickgelu_bwd(FloatPointer x, FloatPointer dy, FloatPointer dx, long n,
            Pointer stream);
    /** {@code sp_cuda_softmax_fwd} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_softmax_fwd(FloatPointer x, FloatPointer y, long rows, long cols,
            Pointer stream);
    /** {@code sp_cuda_softmax_bwd} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_softmax_bwd(FloatPointer y, FloatPointer dy, FloatPointer dx, long rows,
            long cols, Pointer stream);
    /** {@code sp_cuda_attention_fwd_naive} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_attention_fwd_naive(int dtype, Pointer q, Pointer k, Pointer v, Pointer pk,
            Pointer pv, Pointer r, Pointer out, FloatPointer lse, int batch, int nq, int nk, int lp, int heads,
            int headDim, float scale, int causal, Pointer stream);
    /** {@code sp_cuda_attention_fwd_flash} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_attention_fwd_flash(int dtype, Pointer q, Pointer k, Pointer v, Pointer pk,
            Pointer pv, Pointer r, Pointer out, FloatPointer lse, int batch, int nq, int nk, int lp, int heads,
            int headDim, float scale, int causal, Pointer stream);
    /** {@code sp_cuda_attention_bwd_naive} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_attention_bwd_naive(int dtype, Pointer q, Pointer k, Pointer v, Pointer pk,
            Pointer pv, Pointer r, Pointer out, FloatPointer lse, Pointer dout, Pointer dq, Pointer dk, Pointer dv,
            Pointer dpk, Pointer dpv, Pointer dr, int batch, int nq, int nk, int lp, int heads, int headDim,
            float scale, int causal, Pointer stream);
    /** {@code sp_cuda_attention_bwd_flash} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_attention_bwd_flash(int dtype, Pointer q, Pointer k, Pointer v, Pointer pk,
            Pointer pv, Pointer r, Pointer out, FloatPointer lse, Pointer dout, Pointer dq, Pointer dk, Pointer dv,
            Pointer dpk, Pointer dpv, Pointer dr, int batch, int nq, int nk, int lp, int heads, int headDim,
            float scale, int causal, Pointer stream);
    /** {@code sp_cuda_embedding_gather} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_embedding_gather(FloatPointer table, IntPointer ids, FloatPointer out, long n,
            long dim, long vocab, Pointer stream);
    /** {@code sp_cuda_embedding_scatter_add} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_embedding_scatter_add(FloatPointer dout, IntPointer ids, FloatPointer dtable,
            long n, long dim, long vocab, Pointer stream);
    /** {@code sp_cuda_token_sum} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_token_sum(FloatPointer x, FloatPointer out, int batch, int tokens, long dim,
            Pointer stream);
    /** {@code sp_cuda_token_gather} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_token_gather(FloatPointer x, IntPointer idx, FloatPointer out, int batch,
            int tokens, long dim, Pointer stream);
    /** {@code sp_cuda_token_scatter_add} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_token_scatter_add(FloatPointer dout, IntPointer idx, FloatPointer dx, int batch,
            int tokens, long dim, Pointer stream);
    /** {@code sp_cuda_patchify} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_patchify(FloatPointer images, FloatPointer patches, int batch, int channels,
            int size, int patch, Pointer stream);
    /** {@code sp_cuda_unpatchify} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_unpatchify(FloatPointer patches, FloatPointer images, int batch, int channels,
            int size, int patch, Pointer stream);
    /** {@code sp_cuda_add_bias_dt} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_add_bias_dt(Pointer x, int xDtype, Pointer bias, int biasDtype, long rows, long cols, Pointer stream);
    /** {@code sp_cuda_bias_act_fwd_dt} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_bias_act_fwd_dt(int act, Pointer x, int xDtype, Pointer bias, int biasDtype, Pointer y, int yDtype, long rows,
            long cols, Pointer stream);
    /** {@code sp_cuda_axpy_dt} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_axpy_dt(Pointer y, int yDtype, Pointer x, int xDtype, float alpha, long n, Pointer stream);
    /** {@code sp_cuda_layernorm_fwd_dt} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_layernorm_fwd_dt(Pointer x, int xDtype, Pointer gamma, int gammaDtype, Pointer beta,
            int betaDtype, float eps, Pointer y, int yDtype, FloatPointer mean, FloatPointer rstd, long rows, long cols,
            Pointer stream);
    /** {@code sp_cuda_layernorm_bwd_dt} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_layernorm_bwd_dt(Pointer dy, int dyDtype, Pointer x, int xDtype, Pointer gamma,
            int gammaDtype, FloatPointer mean, FloatPointer rstd, Pointer dx, int dxDtype, FloatPointer dgamma,
            FloatPointer dbeta, long rows, long cols, Pointer stream);
    /** {@code sp_cuda_activation_fwd_dt} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_activation_fwd_dt(int act, Pointer x, int xDtype, Pointer y, int yDtype, long n, Pointer stream);
    /** {@code sp_cuda_activation_bwd_dt} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_activation_bwd_dt(int act, Pointer x, int xDtype, Pointer dy, int dyDtype, Pointer dx,
            int dxDtype, long n, Pointer stream);
    /** {@code sp_cuda_softmax_fwd_dt} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_softmax_fwd_dt(Pointer x, int xDtype, Pointer y, int yDtype, long rows, long cols, Pointer stream);
    /** {@code sp_cuda_softmax_bwd_dt} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_softmax_bwd_dt(Pointer y, int yDtype, Pointer dy, int dyDtype, Pointer dx, int dxDtype,
            long rows, long cols, Pointer stream);
    /** {@code sp_cuda_embedding_gather_dt} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_embedding_gather_dt(Pointer table, int tableDtype, IntPointer ids, Pointer out, int outDtype,
            long n, long dim, long vocab, Pointer stream);
    /** {@code sp_cuda_token_sum_dt} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_token_sum_dt(Pointer x, int xDtype, Pointer out, int outDtype, int batch, int tokens, long dim,
            Pointer stream);
    /** {@code sp_cuda_token_gather_dt} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_token_gather_dt(Pointer x, int xDtype, IntPointer idx, Pointer out, int outDtype, int batch,
            int tokens, long dim, Pointer stream);
    /** {@code sp_cuda_token_scatter_add_dt} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_token_scatter_add_dt(Pointer dout, int doutDtype, IntPointer idx, Pointer dx, int dxDtype,
            int batch, int tokens, long dim, Pointer stream);
    /** {@code sp_cuda_patchify_dt} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_patchify_dt(Pointer images, int imagesDtype, Pointer patches, int patchesDtype, int batch,
            int channels, int size, int patch, Pointer stream);
    /** {@code sp_cuda_unpatchify_dt} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_unpatchify_dt(Pointer patches, int patchesDtype, Pointer images, int imagesDtype, int batch,
            int channels, int size, int patch, Pointer stream);
    /** {@code sp_cuda_cross_entropy} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_cross_entropy(FloatPointer logits, IntPointer labels, int batch, int classes,
            int lo, int hi, FloatPointer loss, FloatPointer dlogits, Pointer stream);
    /** {@code sp_cuda_adam_step} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_adam_step(FloatPointer param, FloatPointer grad, FloatPointer m,
            FloatPointer v, long n, float lr, float beta1, float beta2, float eps, float weightDecay, int step,
            Pointer stream);
    /** {@code sp_cuda_sgd_step} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_sgd_step(FloatPointer param, FloatPointer grad, long n, float lr,
            float weightDecay, Pointer stream);
    /** {@code sp_cuda_retrieval_fwd_naive} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_retrieval_fwd_naive(FloatPointer q, FloatPointer keys, FloatPointer a,
            FloatPointer p, int batch, int seen, int classes, int d, int dp, int layers, int modulate,
            FloatPointer sims, IntPointer sel, FloatPointer sp, Pointer stream);
    /** {@code sp_cuda_retrieval_fwd_fused} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_retrieval_fwd_fused(FloatPointer q, FloatPointer keys, FloatPointer a,
            FloatPointer p, int batch, int seen, int classes, int d, int dp, int layers, int modulate,
            FloatPointer sims, IntPointer sel, FloatPointer sp, Pointer stream);
    /** {@code sp_cuda_retrieval_bwd_naive} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_retrieval_bwd_naive(FloatPointer q, FloatPointer keys, FloatPointer a,
            FloatPointer p, FloatPointer sims, IntPointer sel, FloatPointer dsp, int batch, int seen, int classes,
            int past, int d, int dp, int layers, int modulate, FloatPointer da, FloatPointer dpGrad, Pointer stream);
    /** {@code sp_cuda_retrieval_bwd_fused} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_retrieval_bwd_fused(FloatPointer q, FloatPointer keys, FloatPointer a,
            FloatPointer p, FloatPointer sims, IntPointer sel, FloatPointer dsp, int batch, int seen, int classes,
            int past, int d, int dp, int layers, int modulate, FloatPointer da, FloatPointer dpGrad, Pointer stream);


    // ---------------------------------------------------------------- CODA-Prompt component weighting
    /** {@code sp_cpu_component_weighting_fwd} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_component_weighting_fwd(FloatPointer q, FloatPointer keys, FloatPointer attn,
            FloatPointer comps, int batch, int components, int used, int d, int row, int layers, FloatPointer alpha,
            FloatPointer out);
    /** {@code sp_cpu_component_weighting_bwd} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_component_weighting_bwd(FloatPointer q, FloatPointer keys, FloatPointer attn,
            FloatPointer comps, FloatPointer dout, int batch, int components, int used, int from, int d, int row,
            int layers, FloatPointer dkeys, FloatPointer dattn, FloatPointer dcomps);
    /** {@code sp_cuda_component_weighting_fwd} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_component_weighting_fwd(FloatPointer q, FloatPointer keys, FloatPointer attn,
            FloatPointer comps, int batch, int components, int used, int d, int row, int layers, FloatPointer alpha,
            FloatPointer out, Pointer stream);
    /** {@code sp_cuda_component_weighting_bwd} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_component_weighting_bwd(FloatPointer q, FloatPointer keys, FloatPointer attn,
            FloatPointer comps, FloatPointer dout, int batch, int components, int used, int from, int d, int row,
            int layers, FloatPointer dkeys, FloatPointer dattn, FloatPointer dcomps, Pointer stream);

    // ---------------------------------------------------------------- input prompts (L2P)
    /** {@code sp_cpu_cosine_match} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_cosine_match(FloatPointer q, FloatPointer keys, int batch, int pool, int d,
            int topN, int batchwise, FloatPointer scores, IntPointer sel);
    /** {@code sp_cpu_cosine_match_bwd} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_cosine_match_bwd(FloatPointer q, FloatPointer keys, IntPointer sel,
            FloatPointer w, int batch, int pool, int d, int topN, FloatPointer dkeys, FloatPointer dq);
    /** {@code sp_cuda_cosine_match} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_cosine_match(FloatPointer q, FloatPointer keys, int batch, int pool, int d,
            int topN, int batchwise, FloatPointer scores, IntPointer sel, Pointer stream);
    /** {@code sp_cuda_cosine_match_bwd} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_cosine_match_bwd(FloatPointer q, FloatPointer keys, IntPointer sel,
            FloatPointer w, int batch, int pool, int d, int topN, FloatPointer dkeys, FloatPointer dq, Pointer stream);
    /** {@code sp_cpu_prompt_concat} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_prompt_concat(FloatPointer tokens, FloatPointer pool, IntPointer sel,
            FloatPointer shift, FloatPointer out, int batch, int t, int poolSize, int length, int topN, long d);
    /** {@code sp_cpu_prompt_concat_bwd} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_prompt_concat_bwd(FloatPointer dout, IntPointer sel, FloatPointer dpool,
            FloatPointer dtokens, int batch, int t, int poolSize, int length, int topN, long d);
    /** {@code sp_cpu_token_range_mean} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_token_range_mean(FloatPointer x, FloatPointer out, int batch, int tokens,
            int from, int count, long d);
    /** {@code sp_cpu_token_range_mean_bwd} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cpu_token_range_mean_bwd(FloatPointer dout, FloatPointer dx, int batch, int tokens,
            int from, int count, long d);
    /** {@code sp_cuda_prompt_concat} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_prompt_concat(FloatPointer tokens, FloatPointer pool, IntPointer sel,
            FloatPointer shift, FloatPointer out, int batch, int t, int poolSize, int length, int topN, long d,
            Pointer stream);
    /** {@code sp_cuda_prompt_concat_bwd} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_prompt_concat_bwd(FloatPointer dout, IntPointer sel, FloatPointer dpool,
            FloatPointer dtokens, int batch, int t, int poolSize, int length, int topN, long d, Pointer stream);
    /** {@code sp_cuda_token_range_mean} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_token_range_mean(FloatPointer x, FloatPointer out, int batch, int tokens,
            int from, int count, long d, Pointer stream);
    /** {@code sp_cuda_token_range_mean_bwd} of {@code starprompt.h}: same arguments, same order. */
    public static native int sp_cuda_token_range_mean_bwd(FloatPointer dout, FloatPointer dx, int batch,
            int tokens, int from, int count, long d, Pointer stream);
}
