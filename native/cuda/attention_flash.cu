// Flash attention: the exported entry points. The kernels are in attention_flash_f32.cu and
// attention_flash_bf16.cu over the shared attention_flash.cuh.
#include "attention_flash.cuh"

namespace {

int check_flash_head_dim(const char* fn, int head_dim) {
  if (head_dim == 32 || head_dim == 64) return SP_OK;
  return sp_fail(SP_ERR_ARG, "%s: head_dim %d not supported by the flash kernels (32 or 64; "
                 "use the naive variant)", fn, head_dim);
}

}  // namespace

SP_EXPORT int sp_cuda_attention_fwd_flash(int dtype, const void* q, const void* k, const void* v,
                                          const void* pk, const void* pv, const void* r,
                                          void* out, float* lse, int batch, int nq, int nk,
                                          int lp, int heads, int head_dim, float scale,
                                          int causal, void* stream) {
  const AttnShape s{batch, nq, nk, lp, heads, head_dim, scale, causal != 0};
  const AttnFwdArgs a{q, k, v, pk, pv, r, out, lse};
  if (int rc = attn_check_fwd(__func__, dtype, a, s, true)) return rc;
  if (int rc = check_flash_head_dim(__func__, head_dim)) return rc;
  if (attn_empty(s)) return SP_OK;
  cudaStream_t st = sp_stream(stream);
  SP_CUDA_TRY(dtype == SP_F32 ? flash_forward_f32(a, s, st) : flash_forward_bf16(a, s, st));
  return SP_OK;
}

SP_EXPORT int sp_cuda_attention_bwd_flash(int dtype, const void* q, const void* k, const void* v,
                                          const void* pk, const void* pv, const void* r,
                                          const void* out, const float* lse, const void* dout,
                                          void* dq, void* dk, void* dv, void* dpk, void* dpv,
                                          void* dr, int batch, int nq, int nk, int lp, int heads,
                                          int head_dim, float scale, int causal, void* stream) {
  const AttnShape s{batch, nq, nk, lp, heads, head_dim, scale, causal != 0};
  const AttnBwdArgs a{q, k, v, pk, pv, r, out, lse, dout, dq, dk, dv, dpk, dpv, dr};
  if (int rc = attn_check_bwd(__func__, dtype, a, s, true)) return rc;
  if (int rc = check_flash_head_dim(__func__, head_dim)) return rc;
  cudaStream_t st = sp_stream(stream);
  if (attn_empty(s)) return attn_bwd_no_queries(__func__, dtype, a, s, st);
  const size_t q_elems = static_cast<size_t>(batch) * nq * s.ld();
  const size_t rows = static_cast<size_t>(batch) * heads * nq;
  // f32 accumulates dQ in place; bf16 needs an f32 buffer first (placed first: 16-byte
  // aligned for the vector atomics).
  const size_t acc_elems = dtype == SP_F32 ? 0 : q_elems;
  float* scratch = nullptr;
  SP_CUDA_TRY(sp_scratch_alloc(&scratch, acc_elems + rows, st));
  float* dq_acc = dtype == SP_F32 ? static_cast<float*>(dq) : scratch;
  float* dvec = scratch + acc_elems;

  int rc = SP_OK;
  cudaError_t err = cudaMemsetAsync(dq_acc, 0, q_elems * sizeof(float), st);
  if (err != cudaSuccess) rc = sp_cuda_error(__func__, err);
  if (rc == SP_OK) rc = attn_launch_dvec(__func__, dtype, out, dout, r, dvec, s, st);
  if (rc == SP_OK && (err = dtype == SP_F32 ? flash_backward_f32(a, s, dvec, dq_acc, st)
                                            : flash_backward_bf16(a, s, dvec, dq_acc, st)) != cudaSuccess)
    rc = sp_cuda_error(__func__, err);
  if (rc == SP_OK && dtype != SP_F32)
    rc = attn_launch_from_f32(__func__, dtype, dq_acc, dq, static_cast<int64_t>(q_elems), st);
  if (rc == SP_OK && dr) rc = attn_launch_dr(__func__, dtype, dout, dr, s, st);
  cudaError_t freed = cudaFreeAsync(scratch, st);
  if (rc != SP_OK) return rc;
  SP_CUDA_TRY(freed);
  return SP_OK;
}
