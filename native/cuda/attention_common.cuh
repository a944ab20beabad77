// Pieces shared by the naive and flash attention kernels: argument validation, key/value row
// addressing over the logical sequence [prefix; main], and the small helper kernels of the
// backward (row dot D = rowsum(dO * (O - r)), the residual gradient token sum, the f32 -> dtype
// copy of the atomically accumulated dQ).
#pragma once
#include "common.cuh"

struct AttnShape {
  int batch, nq, nk, lp, heads, head_dim;
  float scale;
  bool causal;
  __host__ __device__ int64_t ld() const { return static_cast<int64_t>(heads) * head_dim; }
  __host__ __device__ int keys() const { return lp + nk; }
};

struct AttnFwdArgs {
  const void *q, *k, *v, *pk, *pv, *r;
  void* out;
  float* lse;
};

struct AttnBwdArgs {
  const void *q, *k, *v, *pk, *pv, *r, *out;
  const float* lse;
  const void* dout;
  void *dq, *dk, *dv, *dpk, *dpv, *dr;
};

// Validates what both variants require; `vector_io` additionally requires the tensors that
// are moved in 16-byte vectors to be 16-byte aligned (the flash kernels).
int attn_check_fwd(const char* fn, int dtype, const AttnFwdArgs& a, const AttnShape& s,
                   bool vector_io);
int attn_check_bwd(const char* fn, int dtype, const AttnBwdArgs& a, const AttnShape& s,
                   bool vector_io);

// No work when there are no query rows (the CPU contract allows empty batches); the backward
// then still owes zero key/value/residual gradients, which attn_bwd_no_queries writes.
bool attn_empty(const AttnShape& s);
int attn_bwd_no_queries(const char* fn, int dtype, const AttnBwdArgs& a, const AttnShape& s,
                        cudaStream_t stream);

// dvec[b, h, i] = sum_c dout[b, i, h*hd + c] * (out[b, i, h*hd + c] - r[b, h*hd + c]).
int attn_launch_dvec(const char* fn, int dtype, const void* out, const void* dout, const void* r,
                     float* dvec, const AttnShape& s, cudaStream_t stream);
// dr[b, :] = sum over query rows of dout[b, n, :]; the residual is added to every row.
int attn_launch_dr(const char* fn, int dtype, const void* dout, void* dr, const AttnShape& s,
                   cudaStream_t stream);
// dst (dtype) = src (f32), n elements.
int attn_launch_from_f32(const char* fn, int dtype, const float* src, void* dst, int64_t n,
                         cudaStream_t stream);

// Row j of the logical key (or value) sequence of sample b, at the start of head h.
template <typename T>
__device__ __forceinline__ const T* attn_seq_row(const T* prefix, const T* main, int b, int j,
                                                 int h, const AttnShape& s) {
  const int64_t ld = s.ld();
  const int64_t col = static_cast<int64_t>(h) * s.head_dim;
  if (j < s.lp) return prefix + (static_cast<int64_t>(b) * s.lp + j) * ld + col;
  return main + (static_cast<int64_t>(b) * s.nk + (j - s.lp)) * ld + col;
}

// Gradient row for logical key j: dpk/dpv for prefix rows (nullptr when not requested).
template <typename T>
__device__ __forceinline__ T* attn_grad_row(T* dprefix, T* dmain, int b, int j, int h,
                                            const AttnShape& s) {
  const int64_t ld = s.ld();
  const int64_t col = static_cast<int64_t>(h) * s.head_dim;
  if (j < s.lp) return dprefix ? dprefix + (static_cast<int64_t>(b) * s.lp + j) * ld + col : nullptr;
  return dmain + (static_cast<int64_t>(b) * s.nk + (j - s.lp)) * ld + col;
}

// Whether query i may attend logical key j: prefix keys always, main keys up to i if causal.
__device__ __forceinline__ bool attn_visible(int i, int j, const AttnShape& s) {
  return j < s.lp + s.nk && (!s.causal || j < s.lp || j - s.lp <= i);
}
