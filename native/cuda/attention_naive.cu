// Attention, plain composition (the on-device parity oracle for the flash kernels): every
// product is one launch of a generic 16x16-tiled batched matmul whose operand reads and result
// write are small functors, and the full score matrix of every (sample, head) lives in
// stream-ordered scratch. Handles any head_dim <= 128.
#include "attention_common.cuh"

namespace {

constexpr int kTile = 16;

// C[z](i, j) = sum_t op.a(z, i, t) * op.b(z, t, j) for i < m, j < n, t < k; op.store writes
// each result. z runs over batch*heads.
template <typename Op>
__global__ void product_kernel(Op op, int m, int n, int k, int zs) {
  __shared__ float as[kTile][kTile + 1];
  __shared__ float bs[kTile][kTile + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int i = blockIdx.y * kTile + ty, j = blockIdx.x * kTile + tx;
  for (int z = blockIdx.z; z < zs; z += gridDim.z) {
    float acc = 0.f;
    for (int t0 = 0; t0 < k; t0 += kTile) {
      as[ty][tx] = (i < m && t0 + tx < k) ? op.a(z, i, t0 + tx) : 0.f;
      bs[ty][tx] = (t0 + ty < k && j < n) ? op.b(z, t0 + ty, j) : 0.f;
      __syncthreads();
#pragma unroll
      for (int t = 0; t < kTile; ++t) acc = fmaf(as[ty][t], bs[t][tx], acc);
      __syncthreads();
    }
    if (i < m && j < n) op.store(z, i, j, acc);
  }
}

template <typename Op>
cudaError_t launch_product(const Op& op, int m, int n, int k, int zs, cudaStream_t stream) {
  const dim3 grid((n + kTile - 1) / kTile, (m + kTile - 1) / kTile,
                  static_cast<unsigned>(zs < 65535 ? zs : 65535));
  product_kernel<<<grid, dim3(kTile, kTile), 0, stream>>>(op, m, n, k, zs);
  return cudaGetLastError();
}

// Tensor views shared by the operand functors. z = b * heads + h.
template <typename T>
struct Views {
  const T *q, *k, *v, *pk, *pv, *r, *dout;
  AttnShape s;
  __device__ int b(int z) const { return z / s.heads; }
  __device__ int h(int z) const { return z % s.heads; }
  // Row-major [batch, rows, heads*hd] tensor, element (row, c) of head h.
  __device__ float at(const T* base, int rows, int z, int row, int c) const {
    return sp_load(base + (static_cast<int64_t>(b(z)) * rows + row) * s.ld() +
                   static_cast<int64_t>(h(z)) * s.head_dim + c);
  }
  __device__ float key(int z, int j, int c) const {
    return sp_load(attn_seq_row(pk, k, b(z), j, h(z), s) + c);
  }
  __device__ float value(int z, int j, int c) const {
    return sp_load(attn_seq_row(pv, v, b(z), j, h(z), s) + c);
  }
};

// Score matrices [z, nq, keys] in scratch.
__device__ __forceinline__ int64_t score_index(const AttnShape& s, int z, int i, int j) {
  return (static_cast<int64_t>(z) * s.nq + i) * s.keys() + j;
}

// Forward scores: scale * q k^T, invisible keys -inf.
template <typename T>
struct ScoresOp {
  Views<T> w;
  float* scores;
  __device__ float a(int z, int i, int t) const { return w.at(w.q, w.s.nq, z, i, t); }
  __device__ float b(int z, int t, int j) const { return w.key(z, j, t); }
  __device__ void store(int z, int i, int j, float acc) const {
    scores[score_index(w.s, z, i, j)] = attn_visible(i, j, w.s) ? acc * w.s.scale : -INFINITY;
  }
};

// Backward probabilities recomputed from the saved lse.
template <typename T>
struct ProbsOp {
  Views<T> w;
  const float* lse;
  float* probs;
  __device__ float a(int z, int i, int t) const { return w.at(w.q, w.s.nq, z, i, t); }
  __device__ float b(int z, int t, int j) const { return w.key(z, j, t); }
  __device__ void store(int z, int i, int j, float acc) const {
    const float lse_i = lse[static_cast<int64_t>(z) * w.s.nq + i];
    probs[score_index(w.s, z, i, j)] =
        attn_visible(i, j, w.s) ? expf(acc * w.s.scale - lse_i) : 0.f;
  }
};

// out = P V + r
template <typename T>
struct OutOp {
  Views<T> w;
  const float* probs;
  T* out;
  __device__ float a(int z, int i, int t) const { return probs[score_index(w.s, z, i, t)]; }
  __device__ float b(int z, int t, int c) const { return w.value(z, t, c); }
  __device__ void store(int z, int i, int c, float acc) const {
    const int64_t col = static_cast<int64_t>(w.h(z)) * w.s.head_dim + c;
    if (w.r) acc += sp_load(w.r + static_cast<int64_t>(w.b(z)) * w.s.ld() + col);
    sp_store(out + (static_cast<int64_t>(w.b(z)) * w.s.nq + i) * w.s.ld() + col, acc);
  }
};

// dS = P * (dO V^T - D)
template <typename T>
struct DScoresOp {
  Views<T> w;
  const float* probs;
  const float* dvec;
  float* dscores;
  __device__ float a(int z, int i, int t) const { return w.at(w.dout, w.s.nq, z, i, t); }
  __device__ float b(int z, int t, int j) const { return w.value(z, j, t); }
  __device__ void store(int z, int i, int j, float acc) const {
    const int64_t idx = score_index(w.s, z, i, j);
    dscores[idx] = probs[idx] * (acc - dvec[static_cast<int64_t>(z) * w.s.nq + i]);
  }
};

// dQ = scale * dS K
template <typename T>
struct DQueryOp {
  Views<T> w;
  const float* dscores;
  T* dq;
  __device__ float a(int z, int i, int t) const { return dscores[score_index(w.s, z, i, t)]; }
  __device__ float b(int z, int t, int c) const { return w.key(z, t, c); }
  __device__ void store(int z, int i, int c, float acc) const {
    sp_store(dq + (static_cast<int64_t>(w.b(z)) * w.s.nq + i) * w.s.ld() +
                 static_cast<int64_t>(w.h(z)) * w.s.head_dim + c,
             acc * w.s.scale);
  }
};

// dK = scale * dS^T Q (mat = dscores, rhs = q, factor = scale) and dV = P^T dO (mat = probs,
// rhs = dout, factor = 1), both split into prefix and main rows.
template <typename T>
struct DKeyValueOp {
  Views<T> w;
  const float* mat;
  const T* rhs;
  float factor;
  T *dprefix, *dmain;
  __device__ float a(int z, int j, int t) const { return mat[score_index(w.s, z, t, j)]; }
  __device__ float b(int z, int t, int c) const { return w.at(rhs, w.s.nq, z, t, c); }
  __device__ void store(int z, int j, int c, float acc) const {
    T* row = attn_grad_row(dprefix, dmain, w.b(z), j, w.h(z), w.s);
    if (row) sp_store(row + c, acc * factor);
  }
};

// Row softmax of the scores in place, one warp per row; also the row's lse.
__global__ void softmax_rows_kernel(float* scores, float* lse, int64_t rows, int keys) {
  const int64_t row = blockIdx.x * 8LL + (threadIdx.x >> 5);
  const int lane = threadIdx.x & 31;
  if (row >= rows) return;
  float* x = scores + row * keys;
  float m = -INFINITY;
  for (int j = lane; j < keys; j += 32) m = fmaxf(m, x[j]);
  m = sp_warp_max(m);
  float sum = 0.f;
  for (int j = lane; j < keys; j += 32) sum += expf(x[j] - m);
  sum = sp_warp_sum(sum);
  const float inv = 1.f / sum;
  for (int j = lane; j < keys; j += 32) x[j] = expf(x[j] - m) * inv;
  if (lane == 0) lse[row] = m + logf(sum);
}

template <typename T>
Views<T> make_views(const void* q, const void* k, const void* v, const void* pk, const void* pv,
                    const void* r, const void* dout, const AttnShape& s) {
  return Views<T>{static_cast<const T*>(q),  static_cast<const T*>(k),
                  static_cast<const T*>(v),  static_cast<const T*>(pk),
                  static_cast<const T*>(pv), static_cast<const T*>(r),
                  static_cast<const T*>(dout), s};
}

template <typename T>
cudaError_t forward(const AttnFwdArgs& a, const AttnShape& s, float* scores, cudaStream_t st) {
  const Views<T> w = make_views<T>(a.q, a.k, a.v, a.pk, a.pv, a.r, nullptr, s);
  const int zs = s.batch * s.heads;
  cudaError_t err = launch_product(ScoresOp<T>{w, scores}, s.nq, s.keys(), s.head_dim, zs, st);
  if (err != cudaSuccess) return err;
  const int64_t rows = static_cast<int64_t>(zs) * s.nq;
  softmax_rows_kernel<<<static_cast<unsigned>((rows + 7) / 8), 256, 0, st>>>(scores, a.lse, rows,
                                                                            s.keys());
  if ((err = cudaGetLastError()) != cudaSuccess) return err;
  return launch_product(OutOp<T>{w, scores, static_cast<T*>(a.out)}, s.nq, s.head_dim, s.keys(),
                        zs, st);
}

template <typename T>
cudaError_t backward(const AttnBwdArgs& a, const AttnShape& s, float* probs, float* dscores,
                     const float* dvec, cudaStream_t st) {
  const Views<T> w = make_views<T>(a.q, a.k, a.v, a.pk, a.pv, a.r, a.dout, s);
  const int zs = s.batch * s.heads;
  const int keys = s.keys(), hd = s.head_dim;
  cudaError_t err = launch_product(ProbsOp<T>{w, a.lse, probs}, s.nq, keys, hd, zs, st);
  if (err == cudaSuccess)
    err = launch_product(DScoresOp<T>{w, probs, dvec, dscores}, s.nq, keys, hd, zs, st);
  if (err == cudaSuccess)
    err = launch_product(DQueryOp<T>{w, dscores, static_cast<T*>(a.dq)}, s.nq, hd, keys, zs, st);
  if (err == cudaSuccess)
    err = launch_product(DKeyValueOp<T>{w, dscores, w.q, s.scale, static_cast<T*>(a.dpk),
                                        static_cast<T*>(a.dk)},
                         keys, hd, s.nq, zs, st);
  if (err == cudaSuccess)
    err = launch_product(DKeyValueOp<T>{w, probs, w.dout, 1.f, static_cast<T*>(a.dpv),
                                        static_cast<T*>(a.dv)},
                         keys, hd, s.nq, zs, st);
  return err;
}

}  // namespace

SP_EXPORT int sp_cuda_attention_fwd_naive(int dtype, const void* q, const void* k, const void* v,
                                          const void* pk, const void* pv, const void* r,
                                          void* out, float* lse, int batch, int nq, int nk,
                                          int lp, int heads, int head_dim, float scale,
                                          int causal, void* stream) {
  const AttnShape s{batch, nq, nk, lp, heads, head_dim, scale, causal != 0};
  const AttnFwdArgs a{q, k, v, pk, pv, r, out, lse};
  if (int rc = attn_check_fwd(__func__, dtype, a, s, false)) return rc;
  if (attn_empty(s)) return SP_OK;
  cudaStream_t st = sp_stream(stream);
  float* scores = nullptr;
  SP_CUDA_TRY(sp_scratch_alloc(&scores, static_cast<size_t>(batch) * heads * nq * s.keys(), st));
  cudaError_t err = dtype == SP_F32 ? forward<float>(a, s, scores, st)
                                    : forward<__nv_bfloat16>(a, s, scores, st);
  cudaError_t freed = cudaFreeAsync(scores, st);
  SP_CUDA_TRY(err);
  SP_CUDA_TRY(freed);
  return SP_OK;
}

SP_EXPORT int sp_cuda_attention_bwd_naive(int dtype, const void* q, const void* k, const void* v,
                                          const void* pk, const void* pv, const void* r,
                                          const void* out, const float* lse, const void* dout,
                                          void* dq, void* dk, void* dv, void* dpk, void* dpv,
                                          void* dr, int batch, int nq, int nk, int lp, int heads,
                                          int head_dim, float scale, int causal, void* stream) {
  const AttnShape s{batch, nq, nk, lp, heads, head_dim, scale, causal != 0};
  const AttnBwdArgs a{q, k, v, pk, pv, r, out, lse, dout, dq, dk, dv, dpk, dpv, dr};
  if (int rc = attn_check_bwd(__func__, dtype, a, s, false)) return rc;
  cudaStream_t st = sp_stream(stream);
  if (attn_empty(s)) return attn_bwd_no_queries(__func__, dtype, a, s, st);
  const size_t score_count = static_cast<size_t>(batch) * heads * nq * s.keys();
  const size_t rows = static_cast<size_t>(batch) * heads * nq;
  float* scratch = nullptr;
  SP_CUDA_TRY(sp_scratch_alloc(&scratch, 2 * score_count + rows, st));
  float* probs = scratch;
  float* dscores = scratch + score_count;
  float* dvec = scratch + 2 * score_count;
  int rc = attn_launch_dvec(__func__, dtype, out, dout, r, dvec, s, st);
  if (rc == SP_OK) {
    cudaError_t err = dtype == SP_F32
                          ? backward<float>(a, s, probs, dscores, dvec, st)
                          : backward<__nv_bfloat16>(a, s, probs, dscores, dvec, st);
    if (err != cudaSuccess) rc = sp_cuda_error(__func__, err);
  }
  if (rc == SP_OK && dr) rc = attn_launch_dr(__func__, dtype, dout, dr, s, st);
  cudaError_t freed = cudaFreeAsync(scratch, st);
  if (rc != SP_OK) return rc;
  SP_CUDA_TRY(freed);
  return SP_OK;
}
