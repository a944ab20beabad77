/*
 * starprompt.h — the one flat C API between the Java layer and the native kernels.
 *
 * Conventions (hold for every function below):
 *  - Every function returns SP_OK (0) or an SP_ERR_* code; sp_last_error() then gives a
 *    thread-local message naming the function and the offending argument.
 *  - Tensors are dense, row-major, contiguous; sizes are element counts, never bytes,
 *    except in the sp_cuda_* memory functions.
 *  - Outputs are fully overwritten unless the function name says "add"/"accumulate".
 *  - sp_cpu_* take host pointers. sp_cuda_* take device pointers (int32 index arrays
 *    included) and a cudaStream_t passed as void*; they are asynchronous on that stream.
 *  - Variants of one operation (e.g. _naive, _tiled) compute the same function; _naive is the
 *    plain composition kept for parity tests and profiling comparisons.
 *  - A library built without CUDA still exports every sp_cuda_* symbol; they return
 *    SP_ERR_NO_CUDA.
 *
 * Attention layout: q is [B, Nq, H*hd], k and v are [B, Nk, H*hd]; head h occupies columns
 * [h*hd, (h+1)*hd). Optional per-sample prefix keys/values pk, pv are [B, Lp, H*hd] and are
 * read in place (never concatenated): the logical key sequence is [pk; k] (Lp + Nk rows).
 * Optional residual r is [B, H*hd]: it is added to every value row, which (softmax rows sum
 * to one) equals adding it to every output row. lse is [B, H, Nq]: the natural-log
 * sum-exp of the scaled scores of each query row, saved by the forward for the backward.
 * causal: query i sees main keys j <= i (prefix keys, if any, always visible).
 * Any of pk/pv/r may be NULL (then Lp must be 0 for pk/pv). In the backward, gradient outputs
 * for absent inputs must be NULL; present ones are overwritten.
 */
#ifndef STARPROMPT_H
#define STARPROMPT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SP_OK 0
#define SP_ERR_ARG 1       /* invalid argument (size, index out of range, NULL)   */
#define SP_ERR_NO_CUDA 2   /* library built without CUDA, or no usable device      */
#define SP_ERR_CUDA 3      /* a CUDA runtime call or kernel launch failed          */
#define SP_ERR_ALLOC 4     /* out of memory                                        */

#define SP_F32 0
#define SP_BF16 1

/* ------------------------------------------------------------------ library ---- */
const char* sp_last_error(void);
const char* sp_version(void);
/* Worker threads used by sp_cpu_* (default: hardware concurrency). n <= 0 restores it. */
void sp_cpu_set_threads(int n);
int sp_cpu_get_threads(void);

/* ------------------------------------------------------------------ profiling -- */
/* NVTX ranges for Nsight Systems: push opens a range named `name` (UTF-8, copied) on the
 * calling thread, pop closes the innermost one. With CUDA they go to NVTX (header-only NVTX3:
 * nothing to link, and no cost beyond a check while no tool is attached); in a library built
 * without CUDA both are no-ops. They always return SP_OK; a NULL name is ignored. */
int sp_nvtx_range_push(const char* name);
int sp_nvtx_range_pop(void);

/* ------------------------------------------------------------------ CPU, f32 ---- */
/* C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b]; op(A) is m x k, op(B) is k x n,
 * A stored m x k (k x m when trans_a), B stored k x n (n x k when trans_b).
 * stride_* are element offsets between batch items (0 broadcasts that operand). */
int sp_cpu_gemm_naive(int trans_a, int trans_b, int m, int n, int k, float alpha,
                      const float* a, int64_t stride_a, const float* b, int64_t stride_b,
                      float beta, float* c, int64_t stride_c, int batch);

/* Elementwise dtype conversion of host buffers (SP_F32 <-> SP_BF16, round to nearest even, NaN
 * kept quiet); equal dtypes copy. The host backend's bf16 storage form of every op: bf16 operands
 * are widened into f32 scratch, the f32 kernel runs, bf16 outputs are rounded back. */
int sp_cpu_convert(const void* src, int src_dtype, void* dst, int dst_dtype, int64_t n);

/* x[r, :] += bias for every row r of a rows x cols matrix. */
int sp_cpu_add_bias(float* x, const float* bias, int64_t rows, int64_t cols);
/* Fused MLP epilogue: z = x[r, :] + bias, y[r, :] = act(z) for every row r, in one pass; act is
 * SP_ACT_GELU (erf) or SP_ACT_QUICKGELU. When y != x, x is overwritten with z (the pre-activation
 * the backward needs); y == x computes act(x + bias) in place. y must not partially overlap x. */
#define SP_ACT_GELU 0
#define SP_ACT_QUICKGELU 1
int sp_cpu_bias_act_fwd(int act, float* x, const float* bias, float* y, int64_t rows, int64_t cols);
/* y += alpha * x */
int sp_cpu_axpy(float* y, const float* x, float alpha, int64_t n);

/* LayerNorm over the last dim. mean, rstd: [rows]. */
int sp_cpu_layernorm_fwd(const float* x, const float* gamma, const float* beta, float eps,
                         float* y, float* mean, float* rstd, int64_t rows, int64_t cols);
/* dx overwritten. dgamma, dbeta (may be NULL) are accumulated into (+=). */
int sp_cpu_layernorm_bwd(const float* dy, const float* x, const float* gamma,
                         const float* mean, const float* rstd, float* dx,
                         float* dgamma, float* dbeta, int64_t rows, int64_t cols);

/* GELU with erf: y = x/2 (1 + erf(x/sqrt 2)). QuickGELU: y = x sigmoid(1.702 x). */
int sp_cpu_gelu_fwd(const float* x, float* y, int64_t n);
int sp_cpu_gelu_bwd(const float* x, const float* dy, float* dx, int64_t n);
int sp_cpu_quickgelu_fwd(const float* x, float* y, int64_t n);
int sp_cpu_quickgelu_bwd(const float* x, const float* dy, float* dx, int64_t n);

/* Row softmax over the last dim; y may alias x. Backward: dx = y * (dy - <dy, y>). */
int sp_cpu_softmax_fwd(const float* x, float* y, int64_t rows, int64_t cols);
int sp_cpu_softmax_bwd(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols);

/* Attention (see layout notes above). _naive materialises one head's score matrix at a
 * time; _tiled streams key blocks with an online softmax (no Nq x Nk buffer). */
int sp_cpu_attention_fwd_naive(const float* q, const float* k, const float* v,
                               const float* pk, const float* pv, const float* r,
                               float* out, float* lse, int batch, int nq, int nk, int lp,
                               int heads, int head_dim, float scale, int causal);
int sp_cpu_attention_fwd_tiled(const float* q, const float* k, const float* v,
                               const float* pk, const float* pv, const float* r,
                               float* out, float* lse, int batch, int nq, int nk, int lp,
                               int heads, int head_dim, float scale, int causal);
/* out is the forward output (residual included). */
int sp_cpu_attention_bwd_naive(const float* q, const float* k, const float* v,
                               const float* pk, const float* pv, const float* r,
                               const float* out, const float* lse, const float* dout,
                               float* dq, float* dk, float* dv, float* dpk, float* dpv,
                               float* dr, int batch, int nq, int nk, int lp, int heads,
                               int head_dim, float scale, int causal);
int sp_cpu_attention_bwd_tiled(const float* q, const float* k, const float* v,
                               const float* pk, const float* pv, const float* r,
                               const float* out, const float* lse, const float* dout,
                               float* dq, float* dk, float* dv, float* dpk, float* dpv,
                               float* dr, int batch, int nq, int nk, int lp, int heads,
                               int head_dim, float scale, int causal);

/* out[i, :] = table[ids[i], :]. ids outside [0, vocab) -> SP_ERR_ARG, nothing written. */
int sp_cpu_embedding_gather(const float* table, const int32_t* ids, float* out, int64_t n,
                            int64_t dim, int64_t vocab);
/* dtable[ids[i], :] += dout[i, :] */
int sp_cpu_embedding_scatter_add(const float* dout, const int32_t* ids, float* dtable,
                                 int64_t n, int64_t dim, int64_t vocab);

/* x: [batch, tokens, dim]. token_sum: out[b] = sum_n x[b, n].
 * token_gather: out[b] = x[b, idx[b]]. token_scatter_add: dx[b, idx[b]] += dout[b]. */
int sp_cpu_token_sum(const float* x, float* out, int batch, int tokens, int64_t dim);
int sp_cpu_token_gather(const float* x, const int32_t* idx, float* out, int batch,
                        int tokens, int64_t dim);
int sp_cpu_token_scatter_add(const float* dout, const int32_t* idx, float* dx, int batch,
                             int tokens, int64_t dim);

/* Patch embedding input (non-overlapping patches): images [batch, channels, size, size] ->
 * patches [batch, 1 + G*G, channels*patch*patch] with G = size / patch; row 1 + gy*G + gx holds
 * patch (gy, gx) in (channel, ky, kx) order; row 0 of every image (the class-token slot) is zero.
 * unpatchify is the adjoint: images overwritten from patches, row 0 ignored. */
int sp_cpu_patchify(const float* images, float* patches, int batch, int channels, int size,
                    int patch);
int sp_cpu_unpatchify(const float* patches, float* images, int batch, int channels, int size,
                      int patch);

/* Mean cross-entropy over the batch with only classes [lo, hi) taking part (the others
 * behave as logit -inf). labels must lie in [lo, hi). loss: one float. dlogits (may be
 * NULL): gradient of the mean loss, zero outside [lo, hi). */
int sp_cpu_cross_entropy(const float* logits, const int32_t* labels, int batch, int classes,
                         int lo, int hi, float* loss, float* dlogits);

/* torch.optim.Adam semantics (L2 weight decay added to the gradient, bias correction with
 * step t >= 1). SGD without momentum: p -= lr * (g + wd * p). */
int sp_cpu_adam_step(float* param, const float* grad, float* m, float* v, int64_t n,
                     float lr, float beta1, float beta2, float eps, float weight_decay,
                     int step);
int sp_cpu_sgd_step(float* param, const float* grad, int64_t n, float lr,
                    float weight_decay);

/* Key-query retrieval for `layers` layers at once (STAR-Prompt second stage).
 * q: [batch, d] raw queries; keys: [seen, d] unit keys; a: [layers, classes, d] modulation
 * logits; p: [layers, classes, dp] prompt pools (only the first `seen` rows of each layer
 * are read). For layer l, sample b, class c < seen:
 *   sigma = softmax(a[l, c, :]); u = q[b] * sigma; sims[l, b, c] = 5 <u, keys[c]> / max(|u|, 1e-12)
 *   sel[l, b] = argmax_c sims (lowest index on ties); w = modulate ? sims[l, b, sel] : 1
 *   sp[l, b, :] = w * p[l, sel, :]
 * sims: [layers, batch, seen]; sel: [layers, batch]; sp: [layers, batch, dp]. */
int sp_cpu_retrieval_fwd_naive(const float* q, const float* keys, const float* a,
                               const float* p, int batch, int seen, int classes, int d,
                               int dp, int layers, int modulate, float* sims, int32_t* sel,
                               float* sp);
int sp_cpu_retrieval_fwd_fused(const float* q, const float* keys, const float* a,
                               const float* p, int batch, int seen, int classes, int d,
                               int dp, int layers, int modulate, float* sims, int32_t* sel,
                               float* sp);
/* Backward given dsp [layers, batch, dp]: da, dp_grad ([layers, classes, d|dp]) are
 * overwritten; rows of classes < past (frozen) and of unselected classes are zero. */
int sp_cpu_retrieval_bwd_naive(const float* q, const float* keys, const float* a,
                               const float* p, const float* sims, const int32_t* sel,
                               const float* dsp, int batch, int seen, int classes, int past,
                               int d, int dp, int layers, int modulate, float* da,
                               float* dp_grad);
int sp_cpu_retrieval_bwd_fused(const float* q, const float* keys, const float* a,
                               const float* p, const float* sims, const int32_t* sel,
                               const float* dsp, int batch, int seen, int classes, int past,
                               int d, int dp, int layers, int modulate, float* da,
                               float* dp_grad);

/* ----------------------------------------------------------------- CUDA ------- */
/* 1 when the library was compiled with CUDA kernels, else 0. */
int sp_cuda_compiled(void);
/* Number of usable devices; 0 without driver/device or when not compiled with CUDA. */
int sp_cuda_device_count(void);
int sp_cuda_set_device(int device);
/* SP_ERR_ALLOC when the device is out of memory (recoverable), SP_ERR_CUDA on other errors. */
int sp_cuda_malloc(size_t bytes, void** out);
int sp_cuda_free(void* ptr);
int sp_cuda_memcpy_h2d(void* dst, const void* src, size_t bytes, void* stream);
int sp_cuda_memcpy_d2h(void* dst, const void* src, size_t bytes, void* stream);
int sp_cuda_memcpy_d2d(void* dst, const void* src, size_t bytes, void* stream);
int sp_cuda_memset_zero(void* dst, size_t bytes, void* stream);
int sp_cuda_stream_create(void** out);
int sp_cuda_stream_destroy(void* stream);
int sp_cuda_stream_synchronize(void* stream);
/* Elementwise dtype conversion (SP_F32 <-> SP_BF16, round to nearest even). */
int sp_cuda_convert(const void* src, int src_dtype, void* dst, int dst_dtype, int64_t n,
                    void* stream);
/* CUDA events for timing: elapsed milliseconds between two recorded events. */
int sp_cuda_event_create(void** out);
int sp_cuda_event_destroy(void* event);
int sp_cuda_event_record(void* event, void* stream);
int sp_cuda_event_elapsed_ms(void* start, void* stop, float* ms);

/* Same contracts as the sp_cpu_* functions of the same name, f32, device pointers. */
int sp_cuda_gemm_naive(int trans_a, int trans_b, int m, int n, int k, float alpha,
                       const float* a, int64_t stride_a, const float* b, int64_t stride_b,
                       float beta, float* c, int64_t stride_c, int batch, void* stream);
int sp_cuda_add_bias(float* x, const float* bias, int64_t rows, int64_t cols, void* stream);
int sp_cuda_axpy(float* y, const float* x, float alpha, int64_t n, void* stream);
int sp_cuda_layernorm_fwd(const float* x, const float* gamma, const float* beta, float eps,
                          float* y, float* mean, float* rstd, int64_t rows, int64_t cols,
                          void* stream);
int sp_cuda_layernorm_bwd(const float* dy, const float* x, const float* gamma,
                          const float* mean, const float* rstd, float* dx, float* dgamma,
                          float* dbeta, int64_t rows, int64_t cols, void* stream);
int sp_cuda_gelu_fwd(const float* x, float* y, int64_t n, void* stream);
int sp_cuda_gelu_bwd(const float* x, const float* dy, float* dx, int64_t n, void* stream);
int sp_cuda_quickgelu_fwd(const float* x, float* y, int64_t n, void* stream);
int sp_cuda_quickgelu_bwd(const float* x, const float* dy, float* dx, int64_t n,
                          void* stream);
int sp_cuda_softmax_fwd(const float* x, float* y, int64_t rows, int64_t cols, void* stream);
int sp_cuda_softmax_bwd(const float* y, const float* dy, float* dx, int64_t rows,
                        int64_t cols, void* stream);
/* Attention on device; dtype (SP_F32 or SP_BF16) applies to q, k, v, pk, pv, r, out, dout,
 * dq, dk, dv, dpk, dpv, dr; lse is always f32; accumulation is always f32.
 * _naive: scores materialised per (batch, head) in global scratch it allocates itself.
 * _flash: tiled in shared memory, online softmax, no Nq x Nk buffer in global memory. */
int sp_cuda_attention_fwd_naive(int dtype, const void* q, const void* k, const void* v,
                                const void* pk, const void* pv, const void* r, void* out,
                                float* lse, int batch, int nq, int nk, int lp, int heads,
                                int head_dim, float scale, int causal, void* stream);
int sp_cuda_attention_fwd_flash(int dtype, const void* q, const void* k, const void* v,
                                const void* pk, const void* pv, const void* r, void* out,
                                float* lse, int batch, int nq, int nk, int lp, int heads,
                                int head_dim, float scale, int causal, void* stream);
int sp_cuda_attention_bwd_naive(int dtype, const void* q, const void* k, const void* v,
                                const void* pk, const void* pv, const void* r,
                                const void* out, const float* lse, const void* dout, void* dq,
                                void* dk, void* dv, void* dpk, void* dpv, void* dr, int batch,
                                int nq, int nk, int lp, int heads, int head_dim, float scale,
                                int causal, void* stream);
int sp_cuda_attention_bwd_flash(int dtype, const void* q, const void* k, const void* v,
                                const void* pk, const void* pv, const void* r,
                                const void* out, const float* lse, const void* dout, void* dq,
                                void* dk, void* dv, void* dpk, void* dpv, void* dr, int batch,
                                int nq, int nk, int lp, int heads, int head_dim, float scale,
                                int causal, void* stream);
/* Device-side index arrays: the embedding ops check ids on the device and return SP_ERR_ARG
 * (this makes them wait for the stream); the token ops skip indices outside [0, tokens) and the
 * cross-entropy gives a NaN loss for a label outside [lo, hi) rather than reading back the
 * indices. Callers validate on the host first (the Java layer always does). */
int sp_cuda_embedding_gather(const float* table, const int32_t* ids, float* out, int64_t n,
                             int64_t dim, int64_t vocab, void* stream);
int sp_cuda_embedding_scatter_add(const float* dout, const int32_t* ids, float* dtable,
                                  int64_t n, int64_t dim, int64_t vocab, void* stream);
int sp_cuda_token_sum(const float* x, float* out, int batch, int tokens, int64_t dim,
                      void* stream);
int sp_cuda_token_gather(const float* x, const int32_t* idx, float* out, int batch,
                         int tokens, int64_t dim, void* stream);
int sp_cuda_token_scatter_add(const float* dout, const int32_t* idx, float* dx, int batch,
                              int tokens, int64_t dim, void* stream);
int sp_cuda_patchify(const float* images, float* patches, int batch, int channels, int size,
                     int patch, void* stream);
int sp_cuda_unpatchify(const float* patches, float* images, int batch, int channels, int size,
                       int patch, void* stream);
/* loss is a device float. */
int sp_cuda_cross_entropy(const float* logits, const int32_t* labels, int batch,
                          int classes, int lo, int hi, float* loss, float* dlogits,
                          void* stream);
int sp_cuda_adam_step(float* param, const float* grad, float* m, float* v, int64_t n,
                      float lr, float beta1, float beta2, float eps, float weight_decay,
                      int step, void* stream);
int sp_cuda_sgd_step(float* param, const float* grad, int64_t n, float lr,
                     float weight_decay, void* stream);
int sp_cuda_retrieval_fwd_naive(const float* q, const float* keys, const float* a,
                                const float* p, int batch, int seen, int classes, int d,
                                int dp, int layers, int modulate, float* sims, int32_t* sel,
                                float* sp, void* stream);
int sp_cuda_retrieval_fwd_fused(const float* q, const float* keys, const float* a,
                                const float* p, int batch, int seen, int classes, int d,
                                int dp, int layers, int modulate, float* sims, int32_t* sel,
                                float* sp, void* stream);
int sp_cuda_retrieval_bwd_naive(const float* q, const float* keys, const float* a,
                                const float* p, const float* sims, const int32_t* sel,
                                const float* dsp, int batch, int seen, int classes, int past,
                                int d, int dp, int layers, int modulate, float* da,
                                float* dp_grad, void* stream);
int sp_cuda_retrieval_bwd_fused(const float* q, const float* keys, const float* a,
                                const float* p, const float* sims, const int32_t* sel,
                                const float* dsp, int batch, int seen, int classes, int past,
                                int d, int dp, int layers, int modulate, float* da,
                                float* dp_grad, void* stream);

/* ------------------------------------------------ CUDA, f32 / bf16 storage forms -- */
/* The ops a bf16 tower runs, with a dtype code (SP_F32 or SP_BF16) after every float operand
 * whose storage may be either; operands without one are f32 (LayerNorm statistics, parameter
 * gradients). Same contracts as the f32 functions of the same name; any mix of dtypes is
 * accepted (the backward reads bf16 activations saved by the forward beside f32 gradients).
 * Math is f32; a bf16 output is rounded to nearest even once, on store. act is SP_ACT_GELU or
 * SP_ACT_QUICKGELU. bias_act_fwd is sp_cpu_bias_act_fwd's epilogue (y == x needs equal dtypes);
 * its activation is taken of x + bias before x is rounded into bf16. */
int sp_cuda_add_bias_dt(void* x, int x_dtype, const void* bias, int bias_dtype, int64_t rows,
                        int64_t cols, void* stream);
int sp_cuda_bias_act_fwd_dt(int act, void* x, int x_dtype, const void* bias, int bias_dtype,
                            void* y, int y_dtype, int64_t rows, int64_t cols, void* stream);
int sp_cuda_axpy_dt(void* y, int y_dtype, const void* x, int x_dtype, float alpha, int64_t n,
                    void* stream);
int sp_cuda_layernorm_fwd_dt(const void* x, int x_dtype, const void* gamma, int gamma_dtype,
                             const void* beta, int beta_dtype, float eps, void* y, int y_dtype,
                             float* mean, float* rstd, int64_t rows, int64_t cols, void* stream);
int sp_cuda_layernorm_bwd_dt(const void* dy, int dy_dtype, const void* x, int x_dtype,
                             const void* gamma, int gamma_dtype, const float* mean,
                             const float* rstd, void* dx, int dx_dtype, float* dgamma,
                             float* dbeta, int64_t rows, int64_t cols, void* stream);
int sp_cuda_activation_fwd_dt(int act, const void* x, int x_dtype, void* y, int y_dtype,
                              int64_t n, void* stream);
int sp_cuda_activation_bwd_dt(int act, const void* x, int x_dtype, const void* dy, int dy_dtype,
                              void* dx, int dx_dtype, int64_t n, void* stream);
int sp_cuda_softmax_fwd_dt(const void* x, int x_dtype, void* y, int y_dtype, int64_t rows,
                           int64_t cols, void* stream);
int sp_cuda_softmax_bwd_dt(const void* y, int y_dtype, const void* dy, int dy_dtype, void* dx,
                           int dx_dtype, int64_t rows, int64_t cols, void* stream);
int sp_cuda_embedding_gather_dt(const void* table, int table_dtype, const int32_t* ids, void* out,
                                int out_dtype, int64_t n, int64_t dim, int64_t vocab,
                                void* stream);
int sp_cuda_token_sum_dt(const void* x, int x_dtype, void* out, int out_dtype, int batch,
                         int tokens, int64_t dim, void* stream);
int sp_cuda_token_gather_dt(const void* x, int x_dtype, const int32_t* idx, void* out,
                            int out_dtype, int batch, int tokens, int64_t dim, void* stream);
int sp_cuda_token_scatter_add_dt(const void* dout, int dout_dtype, const int32_t* idx, void* dx,
                                 int dx_dtype, int batch, int tokens, int64_t dim, void* stream);
int sp_cuda_patchify_dt(const void* images, int images_dtype, void* patches, int patches_dtype,
                        int batch, int channels, int size, int patch, void* stream);
int sp_cuda_unpatchify_dt(const void* patches, int patches_dtype, void* images, int images_dtype,
                          int batch, int channels, int size, int patch, void* stream);

/* ------------------------------------------------- CODA-Prompt component weighting -- */
/* methods/coda-prompt.md §3 for `layers` layers at once. q: [batch, d] raw queries shared by the
 * layers; keys, attn: [layers, components, d]; comps: [layers, components, row]. Only the first
 * `used` components of each layer take part (1 <= used <= components). For layer l, image b and
 * component k < used:
 *   u = q[b] * attn[l, k]   (elementwise)
 *   alpha[l, b, k] = <u / max(|u|, 1e-12), keys[l, k] / max(|keys[l, k]|, 1e-12)>
 *   out[l, b, :] = sum_{k < used} alpha[l, b, k] * comps[l, k, :]
 * alpha: [layers, batch, used]; out: [layers, batch, row]. */
int sp_cpu_component_weighting_fwd(const float* q, const float* keys, const float* attn,
                                   const float* comps, int batch, int components, int used, int d,
                                   int row, int layers, float* alpha, float* out);
/* Backward given dout [layers, batch, row]: dkeys, dattn ([layers, components, d]) and dcomps
 * ([layers, components, row]) are overwritten; rows of components k < from (frozen) and
 * k >= used (unused) are zero. 0 <= from <= used. */
int sp_cpu_component_weighting_bwd(const float* q, const float* keys, const float* attn,
                                   const float* comps, const float* dout, int batch,
                                   int components, int used, int from, int d, int row, int layers,
                                   float* dkeys, float* dattn, float* dcomps);
/* Same contracts on device pointers, asynchronous on the stream. */
int sp_cuda_component_weighting_fwd(const float* q, const float* keys, const float* attn,
                                    const float* comps, int batch, int components, int used,
                                    int d, int row, int layers, float* alpha, float* out,
                                    void* stream);
int sp_cuda_component_weighting_bwd(const float* q, const float* keys, const float* attn,
                                    const float* comps, const float* dout, int batch,
                                    int components, int used, int from, int d, int row,
                                    int layers, float* dkeys, float* dattn, float* dcomps,
                                    void* stream);

/* ------------------------------------------------------ input prompts (L2P) ---- */
/* Cosine top-N prompt match (methods/l2p.md §3). q: [batch, d] queries; keys: [pool, d].
 * With |x| = sqrt(max(<x, x>, 1e-12)):
 *   scores[b, j] = <q[b], keys[j]> / (|q[b]| |keys[j]|)                      [batch, pool]
 *   sel[b, :]    = the top_n indices j of scores[b, :] in decreasing score; ties (equal
 *                  scores) go to the lower index. 1 <= top_n <= pool.
 * batchwise != 0: each id is counted over all batch * top_n choices and every row of sel is
 * replaced by the top_n most frequent ids, in decreasing count, ties to the lower id. */
int sp_cpu_cosine_match(const float* q, const float* keys, int batch, int pool, int d,
                        int top_n, int batchwise, float* scores, int32_t* sel);
/* Gradient of R = sum_b sum_n w[b, n] * scores[b, sel[b, n]] (w: [batch, top_n]):
 *   dkeys[j] = sum over (b, n) with sel[b, n] = j of w[b, n] (q^[b] - s k^[j]) / |keys[j]|
 *   dq[b]    = sum over n of w[b, n] (k^[sel] - s q^[b]) / |q[b]|
 * (x^ = x / |x|; below the clamp the projection term is absent). dkeys [pool, d] is
 * overwritten (zero for unchosen keys); dq [batch, d] may be NULL, else overwritten.
 * sel entries outside [0, pool): SP_ERR_ARG on the CPU, nothing written. */
int sp_cpu_cosine_match_bwd(const float* q, const float* keys, const int32_t* sel,
                            const float* w, int batch, int pool, int d, int top_n,
                            float* dkeys, float* dq);
/* Same contracts on device pointers; sel entries outside [0, pool) are skipped (callers check
 * them on the host: the Java layer always does). */
int sp_cuda_cosine_match(const float* q, const float* keys, int batch, int pool, int d,
                         int top_n, int batchwise, float* scores, int32_t* sel, void* stream);
int sp_cuda_cosine_match_bwd(const float* q, const float* keys, const int32_t* sel,
                             const float* w, int batch, int pool, int d, int top_n,
                             float* dkeys, float* dq, void* stream);

/* Input-prompt concatenation (methods/l2p.md §4). tokens: [batch, t, d] with row 0 the class
 * token (t >= 1); pool: [pool, length, d]; sel: [batch, top_n] ids in [0, pool); shift: [d] added
 * to every prompt row (may be NULL: nothing added). out: [batch, t + top_n * length, d] =
 *   [tokens[b, 0]; pool[sel[b, 0]] + shift; ...; pool[sel[b, top_n - 1]] + shift; tokens[b, 1:]]
 * The backward overwrites dpool [pool, length, d] with the sum of the dout rows each prompt row
 * occupied (zero for unchosen prompts) and, when dtokens is not NULL, overwrites dtokens
 * [batch, t, d] with the dout rows the tokens occupied. sel entries outside [0, pool) are
 * SP_ERR_ARG on the CPU (nothing written) and skipped on the device. */
int sp_cpu_prompt_concat(const float* tokens, const float* pool, const int32_t* sel,
                         const float* shift, float* out, int batch, int t, int pool_size,
                         int length, int top_n, int64_t d);
int sp_cpu_prompt_concat_bwd(const float* dout, const int32_t* sel, float* dpool, float* dtokens,
                             int batch, int t, int pool_size, int length, int top_n, int64_t d);
/* Mean over a range of tokens: x [batch, tokens, d]; out[b] = (1/count) sum of x[b, i] for
 * from <= i < from + count (count >= 1, from + count <= tokens). The backward overwrites dx
 * [batch, tokens, d]: dout[b] / count on the range, zero elsewhere. */
int sp_cpu_token_range_mean(const float* x, float* out, int batch, int tokens, int from,
                            int count, int64_t d);
int sp_cpu_token_range_mean_bwd(const float* dout, float* dx, int batch, int tokens, int from,
                                int count, int64_t d);
int sp_cuda_prompt_concat(const float* tokens, const float* pool, const int32_t* sel,
                          const float* shift, float* out, int batch, int t, int pool_size,
                          int length, int top_n, int64_t d, void* stream);
int sp_cuda_prompt_concat_bwd(const float* dout, const int32_t* sel, float* dpool,
                              float* dtokens, int batch, int t, int pool_size, int length,
                              int top_n, int64_t d, void* stream);
int sp_cuda_token_range_mean(const float* x, float* out, int batch, int tokens, int from,
                             int count, int64_t d, void* stream);
int sp_cuda_token_range_mean_bwd(const float* dout, float* dx, int batch, int tokens, int from,
                                 int count, int64_t d, void* stream);

#ifdef __cplusplus
}
#endif
#endif /* STARPROMPT_H */
