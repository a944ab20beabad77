// Flash-attention-2 style kernels: no score matrix in global memory.
//
// Forward: one block of 4 warps per (64-query tile, head, sample); each warp owns 16 query rows
// and streams 64-key tiles of the logical sequence [prefix; main] through shared memory with an
// online softmax; the residual is added in the epilogue and lse saved for the backward.
// Backward: one block per (64-key tile, head, sample), each warp owning 16 keys; it walks the
// query tiles that can see its keys, keeps dK/dV in registers and adds dQ atomically into an
// f32 buffer. Prefix keys are simply the first Lp rows of the logical sequence, so their
// gradients come out of the same tiles and land in dpk/dpv.
//
// Tiles move by cp.async, the next one in flight while the current one computes. f32 runs true
// fp32 FMAs with register tiling (parity at 1e-4 rules out TF32); bf16 runs mma.sync tensor-core
// products whose fragments (scores, probabilities, accumulators) never leave registers.
//
// This header holds what the f32 kernels (attention_flash_f32.cu) and the bf16 tensor-core
// kernels (attention_flash_bf16.cu) share: tile sizes, kernel parameters, the cp.async
// helpers, the forward key-tile pipeline and the launch helpers; attention_flash.cu holds the
// exported entry points, which pick the dtype's kernels.
#pragma once
#include "attention_common.cuh"

namespace {

using bf16 = __nv_bfloat16;

constexpr int kTileQ = 64;
constexpr int kTileK = 64;
constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kWarpRows = 16;  // rows of a tile owned by one warp
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

template <typename T>
struct FwdParams {
  const T *q, *k, *v, *pk, *pv, *r;
  T* out;
  float* lse;
  AttnShape s;
  float scale_log2;  // softmax runs in base 2: exp(x) = exp2(x log2 e)
};

template <typename T>
struct BwdParams {
  const T *q, *k, *v, *pk, *pv, *dout;
  const float* lse;
  const float* dvec;
  float* dq_acc;  // [B, nq, H*hd] f32, zeroed by the host, accumulated atomically
  T *dk, *dv, *dpk, *dpv;
  AttnShape s;
  float scale_log2;
};

// ------------------------------------------------------------------ shared helpers ----

// Asynchronous global -> shared copies (cp.async, sm_80+): a tile's loads are all in flight at
// once and overlap the compute on the previous tile. `valid == false` zero-fills the
// destination (src must still be a mapped address; callers pass a row that exists).
// BYTES is 16 (cached in L2 only: .cg) or 4 (.ca, the one cache mode a 4-byte copy has).
template <int BYTES>
__device__ __forceinline__ void cp_async(void* dst, const void* src, bool valid) {
  static_assert(BYTES == 16 || BYTES == 4, "cp.async copies 4, 8 or 16 bytes; we use 4 and 16");
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  const unsigned d = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  if constexpr (BYTES == 16) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(src), "r"(valid ? 16 : 0));
  } else {
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(d), "l"(src), "r"(valid ? 4 : 0));
  }
#else
  if constexpr (BYTES == 16) {
    *static_cast<uint4*>(dst) = valid ? *static_cast<const uint4*>(src) : make_uint4(0u, 0u, 0u, 0u);
  } else {
    *static_cast<float*>(dst) = valid ? *static_cast<const float*>(src) : 0.f;
  }
#endif
}

__device__ __forceinline__ void cp_async_commit() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;\n" ::);
#endif
}

// Waits until at most N of this thread's committed groups are still in flight.
template <int N>
__device__ __forceinline__ void cp_async_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
#endif
}

// Starts copying ROWS rows of HD elements into shared memory (row stride `stride` elements);
// rows >= valid (valid >= 1) are zero-filled so that padded tiles contribute nothing.
template <typename T, int HD, int ROWS, typename RowPtr>
__device__ __forceinline__ void load_tile_async(T* dst, int stride, int valid, RowPtr row_ptr) {
  constexpr int kVec = 16 / sizeof(T);
  constexpr int kChunks = HD / kVec;
  static_assert(ROWS * kChunks % kThreads == 0, "whole copy rounds per thread");
#pragma unroll
  for (int it = 0; it < ROWS * kChunks / kThreads; ++it) {
    const int idx = threadIdx.x + it * kThreads;
    const int row = idx / kChunks, ch = idx % kChunks;
    const bool ok = row < valid;
    cp_async<16>(dst + row * stride + ch * kVec, row_ptr(ok ? row : 0) + ch * kVec, ok);
  }
}

template <typename T>
__device__ __forceinline__ const T* query_row(const T* base, int b, int i, int h,
                                              const AttnShape& s) {
  return base + (static_cast<int64_t>(b) * s.nq + i) * s.ld() + static_cast<int64_t>(h) * s.head_dim;
}

// Starts copying the per-row lse and D of query tile q0 (zero past nq).
__device__ __forceinline__ void load_row_stats_async(float* lse_s, float* dvec_s, const float* lse,
                                                     const float* dvec, int64_t row0, int q_valid) {
  const int i = threadIdx.x & (kTileQ - 1);
  const bool ok = i < q_valid;
  static_assert(kThreads == 2 * kTileQ, "one statistic per thread");
  if (threadIdx.x < kTileQ) cp_async<4>(lse_s + i, lse + row0 + (ok ? i : 0), ok);
  else cp_async<4>(dvec_s + i, dvec + row0 + (ok ? i : 0), ok);
}

__device__ __forceinline__ float comp(const float4& v, int e) {
  return e == 0 ? v.x : e == 1 ? v.y : e == 2 ? v.z : v.w;
}

__device__ __forceinline__ float dot4(const float4& a, const float4& b, float acc) {
  return fmaf(a.x, b.x, fmaf(a.y, b.y, fmaf(a.z, b.z, fmaf(a.w, b.w, acc))));
}

__device__ __forceinline__ void atomic_add4(float* dst, float4 v) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  atomicAdd(reinterpret_cast<float4*>(dst), v);  // one vector RED instead of four
#else
  atomicAdd(dst + 0, v.x);
  atomicAdd(dst + 1, v.y);
  atomicAdd(dst + 2, v.z);
  atomicAdd(dst + 3, v.w);
#endif
}

__device__ __forceinline__ int round_up4(int x) { return (x + 3) & ~3; }

// Keys past key_end are invisible to every query of a tile starting at q0 (causal), so the
// forward stops there.
__device__ __forceinline__ int fwd_key_end(const AttnShape& s, int q0, int q_valid) {
  return s.causal ? min(s.keys(), s.lp + min(s.nk, q0 + q_valid)) : s.keys();
}

// First query tile that can see any key of a tile starting at logical key j0.
__device__ __forceinline__ int bwd_query_begin(const AttnShape& s, int j0) {
  if (!s.causal || j0 < s.lp) return 0;
  return ((j0 - s.lp) / kTileQ) * kTileQ;
}

// Pipeline shared by both forward kernels. Each key tile is one cp.async group for K and one
// for V, committed in that order, so "wait until one group is pending" means K has landed:
//   top:    K_j landed (V_j may be in flight) -> scores and softmax
//   middle: V_j landed, all warps done with K_j -> start K_{j+1}, then P V_j
//   bottom: all warps done with V_j -> start V_{j+1}
// `scores(j0)` and `accumulate(j0)` run on warps that own valid rows; barriers on all.
template <typename LoadK, typename LoadV, typename Scores, typename Accumulate>
__device__ __forceinline__ void forward_key_loop(int key_end, bool active, LoadK load_k,
                                                 LoadV load_v, Scores scores,
                                                 Accumulate accumulate) {
  for (int j0 = 0; j0 < key_end; j0 += kTileK) {
    cp_async_wait<1>();
    __syncthreads();
    if (active) scores(j0);
    cp_async_wait<0>();
    __syncthreads();
    const bool more = j0 + kTileK < key_end;
    if (more) load_k(j0 + kTileK);
    if (active) accumulate(j0);
    __syncthreads();
    if (more) load_v(j0 + kTileK);
  }
}


// ------------------------------------------------------------------------ host ----

template <typename Params>
cudaError_t launch(void (*kernel)(Params), dim3 grid, size_t smem, cudaStream_t st,
                   const Params& p) {
  // Above 48 KiB of dynamic shared memory a kernel must opt in; cheap, so done per call (it
  // is also per device, which a cached flag would get wrong after cudaSetDevice).
  cudaError_t err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         static_cast<int>(smem));
  if (err != cudaSuccess) return err;
  kernel<<<grid, kThreads, smem, st>>>(p);
  return cudaGetLastError();
}

template <typename T>
FwdParams<T> fwd_params(const AttnFwdArgs& a, const AttnShape& s) {
  return FwdParams<T>{static_cast<const T*>(a.q),  static_cast<const T*>(a.k),
                      static_cast<const T*>(a.v),  static_cast<const T*>(a.pk),
                      static_cast<const T*>(a.pv), static_cast<const T*>(a.r),
                      static_cast<T*>(a.out),      a.lse,
                      s,                           s.scale * kLog2e};
}

template <typename T>
BwdParams<T> bwd_params(const AttnBwdArgs& a, const AttnShape& s, const float* dvec,
                        float* dq_acc) {
  return BwdParams<T>{static_cast<const T*>(a.q),  static_cast<const T*>(a.k),
                      static_cast<const T*>(a.v),  static_cast<const T*>(a.pk),
                      static_cast<const T*>(a.pv), static_cast<const T*>(a.dout),
                      a.lse,                       dvec,
                      dq_acc,                      static_cast<T*>(a.dk),
                      static_cast<T*>(a.dv),       static_cast<T*>(a.dpk),
                      static_cast<T*>(a.dpv),      s,
                      s.scale * kLog2e};
}

inline dim3 flash_fwd_grid(const AttnShape& s) {
  return dim3((s.nq + kTileQ - 1) / kTileQ, s.heads, s.batch);
}

inline dim3 flash_bwd_grid(const AttnShape& s) {
  return dim3((s.keys() + kTileK - 1) / kTileK, s.heads, s.batch);
}

}  // namespace

// The kernels of one dtype for head dims 32 and 64, launched on stream st (checked arguments).
cudaError_t flash_forward_f32(const AttnFwdArgs& a, const AttnShape& s, cudaStream_t st);
cudaError_t flash_backward_f32(const AttnBwdArgs& a, const AttnShape& s, const float* dvec,
                               float* dq_acc, cudaStream_t st);
cudaError_t flash_forward_bf16(const AttnFwdArgs& a, const AttnShape& s, cudaStream_t st);
cudaError_t flash_backward_bf16(const AttnBwdArgs& a, const AttnShape& s, const float* dvec,
                                float* dq_acc, cudaStream_t st);
