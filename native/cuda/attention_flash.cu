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
__device__ __forceinline__ void cp_async16(void* dst, const void* src, bool valid) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  const unsigned d = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(src),
               "r"(valid ? 16 : 0));
#else
  *static_cast<uint4*>(dst) = valid ? *static_cast<const uint4*>(src) : make_uint4(0u, 0u, 0u, 0u);
#endif
}

__device__ __forceinline__ void cp_async4(void* dst, const void* src, bool valid) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  const unsigned d = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(d), "l"(src),
               "r"(valid ? 4 : 0));
#else
  *static_cast<float*>(dst) = valid ? *static_cast<const float*>(src) : 0.f;
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
    cp_async16(dst + row * stride + ch * kVec, row_ptr(ok ? row : 0) + ch * kVec, ok);
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
  if (threadIdx.x < kTileQ) cp_async4(lse_s + i, lse + row0 + (ok ? i : 0), ok);
  else cp_async4(dvec_s + i, dvec + row0 + (ok ? i : 0), ok);
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

// ----------------------------------------------------------------- f32 forward ----
//
// Lane layout inside a warp: rg = lane / 8 picks rows rg + 4i (i < 4) of the warp's 16, cg =
// lane % 8 picks score columns cg + 8c (c < 8) and output columns u*32 + cg*4 + e. With row
// strides of HD+4 floats these float4 reads hit distinct banks (or broadcast).

template <int HD>
struct F32Fwd {
  static constexpr int kSQK = HD + 4;       // Q and K rows: read along HD by row
  static constexpr int kSV = HD;            // V rows: read across columns
  static constexpr int kSP = kTileK + 8;    // P rows (per warp)
  static constexpr int kOC = HD / 8;        // output values per lane and row
  static constexpr size_t kBytes =
      sizeof(float) * (kTileQ * kSQK + kTileK * kSQK + kTileK * kSV + kTileQ * kSP);
};

template <int HD>
__global__ void __launch_bounds__(kThreads) flash_fwd_f32_kernel(FwdParams<float> p) {
  using L = F32Fwd<HD>;
  extern __shared__ __align__(128) unsigned char smem[];
  float* qs = reinterpret_cast<float*>(smem);
  float* ks = qs + kTileQ * L::kSQK;
  float* vs = ks + kTileK * L::kSQK;
  float* ps = vs + kTileK * L::kSV;

  const AttnShape& s = p.s;
  const int q0 = blockIdx.x * kTileQ, h = blockIdx.y, b = blockIdx.z;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, rg = lane >> 3, cg = lane & 7;
  const int q_valid = min(kTileQ, s.nq - q0);
  const int keys = s.keys();
  const int key_end = fwd_key_end(s, q0, q_valid);
  const int row0 = warp * kWarpRows + rg;  // this lane's rows: row0 + 4i
  const bool active = warp * kWarpRows < q_valid;

  auto load_k = [&](int jt) {
    load_tile_async<float, HD, kTileK>(ks, L::kSQK, min(kTileK, keys - jt), [&](int row) {
      return attn_seq_row(p.pk, p.k, b, jt + row, h, s);
    });
    cp_async_commit();
  };
  auto load_v = [&](int jt) {
    load_tile_async<float, HD, kTileK>(vs, L::kSV, min(kTileK, keys - jt), [&](int row) {
      return attn_seq_row(p.pv, p.v, b, jt + row, h, s);
    });
    cp_async_commit();
  };
  load_tile_async<float, HD, kTileQ>(qs, L::kSQK, q_valid,
                                     [&](int row) { return query_row(p.q, b, q0 + row, h, s); });
  load_k(0);  // same group as Q
  load_v(0);

  float o[4][L::kOC];
  float m[4], l[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    m[i] = -INFINITY;
    l[i] = 0.f;
#pragma unroll
    for (int u = 0; u < L::kOC; ++u) o[i][u] = 0.f;
  }

  // S = Q K^T, then the online softmax; P goes to this warp's rows of ps.
  auto scores = [&](int j0) {
    float sc[4][8];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int c = 0; c < 8; ++c) sc[i][c] = 0.f;
#pragma unroll 2
    for (int t = 0; t < HD; t += 4) {
      float4 qv[4];
#pragma unroll
      for (int i = 0; i < 4; ++i)
        qv[i] = *reinterpret_cast<const float4*>(qs + (row0 + 4 * i) * L::kSQK + t);
#pragma unroll
      for (int c = 0; c < 8; ++c) {
        const float4 kv = *reinterpret_cast<const float4*>(ks + (cg + 8 * c) * L::kSQK + t);
#pragma unroll
        for (int i = 0; i < 4; ++i) sc[i][c] = dot4(qv[i], kv, sc[i][c]);
      }
    }
    // The 8 lanes sharing rg hold one row between them (xor 1, 2, 4).
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int qi = q0 + row0 + 4 * i;
      float mx = -INFINITY;
#pragma unroll
      for (int c = 0; c < 8; ++c) {
        const float v = attn_visible(qi, j0 + cg + 8 * c, s) ? sc[i][c] * p.scale_log2 : -INFINITY;
        sc[i][c] = v;
        mx = fmaxf(mx, v);
      }
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 4));
      const float m_new = fmaxf(m[i], mx);
      // Until a row has seen a visible key its max is -inf; shift by 0 then (p = 0, alpha = 0).
      const float m_use = (m_new == -INFINITY) ? 0.f : m_new;
      const float alpha = exp2f(m[i] - m_use);
      float sum = 0.f;
#pragma unroll
      for (int c = 0; c < 8; ++c) {
        const float e = exp2f(sc[i][c] - m_use);
        sc[i][c] = e;
        sum += e;
      }
      sum += __shfl_xor_sync(0xffffffffu, sum, 1);
      sum += __shfl_xor_sync(0xffffffffu, sum, 2);
      sum += __shfl_xor_sync(0xffffffffu, sum, 4);
      l[i] = l[i] * alpha + sum;
      m[i] = m_new;
#pragma unroll
      for (int u = 0; u < L::kOC; ++u) o[i][u] *= alpha;
#pragma unroll
      for (int c = 0; c < 8; ++c) ps[(row0 + 4 * i) * L::kSP + cg + 8 * c] = sc[i][c];
    }
  };

  // O += P V over the keys that can be visible (P is 0 and V zero-filled beyond).
  auto accumulate = [&](int j0) {
    const int jn = round_up4(min(kTileK, key_end - j0));
    for (int jj = 0; jj < jn; jj += 4) {
      float4 pr[4];
#pragma unroll
      for (int i = 0; i < 4; ++i)
        pr[i] = *reinterpret_cast<const float4*>(ps + (row0 + 4 * i) * L::kSP + jj);
#pragma unroll
      for (int e = 0; e < 4; ++e) {
#pragma unroll
        for (int u = 0; u < HD / 32; ++u) {
          const float4 vv = *reinterpret_cast<const float4*>(vs + (jj + e) * L::kSV + u * 32 + cg * 4);
#pragma unroll
          for (int i = 0; i < 4; ++i) {
            const float pe = comp(pr[i], e);
            o[i][u * 4 + 0] = fmaf(pe, vv.x, o[i][u * 4 + 0]);
            o[i][u * 4 + 1] = fmaf(pe, vv.y, o[i][u * 4 + 1]);
            o[i][u * 4 + 2] = fmaf(pe, vv.z, o[i][u * 4 + 2]);
            o[i][u * 4 + 3] = fmaf(pe, vv.w, o[i][u * 4 + 3]);
          }
        }
      }
    }
  };

  forward_key_loop(key_end, active, load_k, load_v, scores, accumulate);

  if (!active) return;
  const float* rr = p.r ? p.r + static_cast<int64_t>(b) * s.ld() + static_cast<int64_t>(h) * HD : nullptr;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int qi = q0 + row0 + 4 * i;
    if (qi >= s.nq) continue;
    const float inv = 1.f / l[i];
    float* dst = const_cast<float*>(query_row<float>(p.out, b, qi, h, s));
#pragma unroll
    for (int u = 0; u < HD / 32; ++u) {
      const int col = u * 32 + cg * 4;
      float4 w = rr ? *reinterpret_cast<const float4*>(rr + col) : make_float4(0.f, 0.f, 0.f, 0.f);
      w.x = fmaf(o[i][u * 4 + 0], inv, w.x);
      w.y = fmaf(o[i][u * 4 + 1], inv, w.y);
      w.z = fmaf(o[i][u * 4 + 2], inv, w.z);
      w.w = fmaf(o[i][u * 4 + 3], inv, w.w);
      *reinterpret_cast<float4*>(dst + col) = w;
    }
    if (cg == 0) p.lse[(static_cast<int64_t>(b) * s.heads + h) * s.nq + qi] = (m[i] + log2f(l[i])) * kLn2;
  }
}

// ----------------------------------------------------------------- f32 backward ----
//
// Same lane layout with keys in the role of rows: lane owns keys key0 + 4i of its warp and
// query columns cg + 8c of S^T / dP^T, and dK/dV columns u*32 + cg*4 + e.
//
// Pipeline (shared with the bf16 backward): the next query tile (Q, dO, lse, D) is copied
// while the current one computes dQ, the only step that no longer reads Q and dO.

template <int HD>
struct F32Bwd {
  static constexpr int kS = HD + 4;         // K, V, Q, dO rows
  static constexpr int kSX = kTileQ + 8;    // P^T, then dS^T: keys x queries (per warp rows)
  static constexpr int kSD = kTileK + 4;    // dS: queries x keys
  static constexpr int kOC = HD / 8;
  static constexpr size_t kBytes =
      sizeof(float) * (4 * kTileK * kS + kTileK * kSX + kTileQ * kSD + 2 * kTileQ);
};

// acc[i][c] = sum_t a[(arow0 + 4i), t] * b[(cg + 8c), t]: a 16-row by 64-column product
// slice where both operands are read along HD.
template <int HD, int STRIDE>
__device__ __forceinline__ void rows_dot_rows(float (&acc)[4][8], const float* a, int arow0,
                                              const float* bm, int cg) {
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int c = 0; c < 8; ++c) acc[i][c] = 0.f;
#pragma unroll 2
  for (int t = 0; t < HD; t += 4) {
    float4 av[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) av[i] = *reinterpret_cast<const float4*>(a + (arow0 + 4 * i) * STRIDE + t);
#pragma unroll
    for (int c = 0; c < 8; ++c) {
      const float4 bv = *reinterpret_cast<const float4*>(bm + (cg + 8 * c) * STRIDE + t);
#pragma unroll
      for (int i = 0; i < 4; ++i) acc[i][c] = dot4(av[i], bv, acc[i][c]);
    }
  }
}

// acc[i][u*4+e] += sum_{x < xn} lhs[(row0 + 4i), x] * rhs[x, u*32 + cg*4 + e]
template <int HD>
__device__ __forceinline__ void accumulate_rows_times(float (&acc)[4][HD / 8], const float* lhs,
                                                      int lhs_stride, int row0, const float* rhs,
                                                      int rhs_stride, int xn, int cg) {
  for (int x = 0; x < xn; x += 4) {
    float4 lv[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) lv[i] = *reinterpret_cast<const float4*>(lhs + (row0 + 4 * i) * lhs_stride + x);
#pragma unroll
    for (int e = 0; e < 4; ++e) {
#pragma unroll
      for (int u = 0; u < HD / 32; ++u) {
        const float4 rv = *reinterpret_cast<const float4*>(rhs + (x + e) * rhs_stride + u * 32 + cg * 4);
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const float le = comp(lv[i], e);
          acc[i][u * 4 + 0] = fmaf(le, rv.x, acc[i][u * 4 + 0]);
          acc[i][u * 4 + 1] = fmaf(le, rv.y, acc[i][u * 4 + 1]);
          acc[i][u * 4 + 2] = fmaf(le, rv.z, acc[i][u * 4 + 2]);
          acc[i][u * 4 + 3] = fmaf(le, rv.w, acc[i][u * 4 + 3]);
        }
      }
    }
  }
}

template <int HD>
__global__ void __launch_bounds__(kThreads) flash_bwd_f32_kernel(BwdParams<float> p) {
  using L = F32Bwd<HD>;
  extern __shared__ __align__(128) unsigned char smem[];
  float* ks = reinterpret_cast<float*>(smem);
  float* vs = ks + kTileK * L::kS;
  float* qs = vs + kTileK * L::kS;
  float* dos = qs + kTileQ * L::kS;
  float* xs = dos + kTileQ * L::kS;
  float* dss = xs + kTileK * L::kSX;
  float* lse_s = dss + kTileQ * L::kSD;
  float* dvec_s = lse_s + kTileQ;

  const AttnShape& s = p.s;
  const int j0 = blockIdx.x * kTileK, h = blockIdx.y, b = blockIdx.z;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, rg = lane >> 3, cg = lane & 7;
  const int keys = s.keys();
  const int kv_valid = min(kTileK, keys - j0);
  const int key0 = warp * kWarpRows + rg;  // this lane's keys (tile-local): key0 + 4i
  const int64_t stat_row0 = (static_cast<int64_t>(b) * s.heads + h) * s.nq;

  auto load_queries = [&](int qt) {
    const int qv = min(kTileQ, s.nq - qt);
    load_tile_async<float, HD, kTileQ>(qs, L::kS, qv, [&](int row) { return query_row(p.q, b, qt + row, h, s); });
    load_tile_async<float, HD, kTileQ>(dos, L::kS, qv, [&](int row) { return query_row(p.dout, b, qt + row, h, s); });
    load_row_stats_async(lse_s, dvec_s, p.lse, p.dvec, stat_row0 + qt, qv);
    cp_async_commit();
  };
  load_tile_async<float, HD, kTileK>(ks, L::kS, kv_valid,
                                     [&](int row) { return attn_seq_row(p.pk, p.k, b, j0 + row, h, s); });
  load_tile_async<float, HD, kTileK>(vs, L::kS, kv_valid,
                                     [&](int row) { return attn_seq_row(p.pv, p.v, b, j0 + row, h, s); });
  const int q_begin = bwd_query_begin(s, j0);
  if (q_begin < s.nq) load_queries(q_begin);  // same group as K, V
  else cp_async_commit();

  float dk[4][L::kOC], dv[4][L::kOC];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int u = 0; u < L::kOC; ++u) dk[i][u] = dv[i][u] = 0.f;

  for (int q0 = q_begin; q0 < s.nq; q0 += kTileQ) {
    cp_async_wait<0>();
    __syncthreads();  // this tile's copies are visible; the previous tile's dS is consumed
    const int q_valid = min(kTileQ, s.nq - q0);

    // P^T = exp(scale * K Q^T - lse), masked.
    float acc[4][8];
    rows_dot_rows<HD, L::kS>(acc, ks, key0, qs, cg);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int j = j0 + key0 + 4 * i;
#pragma unroll
      for (int c = 0; c < 8; ++c) {
        const int qc = cg + 8 * c;
        const bool ok = qc < q_valid && attn_visible(q0 + qc, j, s);
        xs[(key0 + 4 * i) * L::kSX + qc] =
            ok ? exp2f(fmaf(acc[i][c], p.scale_log2, -lse_s[qc] * kLog2e)) : 0.f;
      }
    }
    __syncwarp();
    const int qn = round_up4(q_valid);
    accumulate_rows_times<HD>(dv, xs, L::kSX, key0, dos, L::kS, qn, cg);  // dV += P^T dO

    // dS^T = P^T * (V dO^T - D); each lane rereads only the P^T entries it wrote itself.
    rows_dot_rows<HD, L::kS>(acc, vs, key0, dos, cg);
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int c = 0; c < 8; ++c) {
        const int qc = cg + 8 * c;
        acc[i][c] = xs[(key0 + 4 * i) * L::kSX + qc] * (acc[i][c] - dvec_s[qc]);
      }
    __syncwarp();  // every lane is done reading P^T for dV
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int c = 0; c < 8; ++c) {
        const int qc = cg + 8 * c;
        xs[(key0 + 4 * i) * L::kSX + qc] = acc[i][c];
        dss[qc * L::kSD + key0 + 4 * i] = acc[i][c];
      }
    __syncwarp();
    accumulate_rows_times<HD>(dk, xs, L::kSX, key0, qs, L::kS, qn, cg);  // dK += dS^T Q
    __syncthreads();  // dS complete from all warps; Q, dO, lse, D no longer read

    if (q0 + kTileQ < s.nq) load_queries(q0 + kTileQ);

    // dQ rows of this warp += scale * dS K
    if (warp * kWarpRows < q_valid) {
      float dq[4][L::kOC];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int u = 0; u < L::kOC; ++u) dq[i][u] = 0.f;
      const int qrow0 = warp * kWarpRows + rg;
      accumulate_rows_times<HD>(dq, dss, L::kSD, qrow0, ks, L::kS, round_up4(kv_valid), cg);
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int qi = q0 + qrow0 + 4 * i;
        if (qi >= s.nq) continue;
        float* dst = p.dq_acc + (static_cast<int64_t>(b) * s.nq + qi) * s.ld() + static_cast<int64_t>(h) * HD;
        const float sc = s.scale;
#pragma unroll
        for (int u = 0; u < HD / 32; ++u)
          atomic_add4(dst + u * 32 + cg * 4,
                      make_float4(dq[i][u * 4 + 0] * sc, dq[i][u * 4 + 1] * sc,
                                  dq[i][u * 4 + 2] * sc, dq[i][u * 4 + 3] * sc));
      }
    }
  }
  cp_async_wait<0>();  // nothing may be in flight at exit (empty query range)

#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int jl = key0 + 4 * i;
    if (jl >= kv_valid) continue;
    float* dkrow = attn_grad_row(p.dpk, p.dk, b, j0 + jl, h, s);
    float* dvrow = attn_grad_row(p.dpv, p.dv, b, j0 + jl, h, s);
    const float sc = s.scale;
#pragma unroll
    for (int u = 0; u < HD / 32; ++u) {
      const int col = u * 32 + cg * 4;
      if (dkrow)
        *reinterpret_cast<float4*>(dkrow + col) =
            make_float4(dk[i][u * 4 + 0] * sc, dk[i][u * 4 + 1] * sc, dk[i][u * 4 + 2] * sc,
                        dk[i][u * 4 + 3] * sc);
      if (dvrow)
        *reinterpret_cast<float4*>(dvrow + col) =
            make_float4(dv[i][u * 4 + 0], dv[i][u * 4 + 1], dv[i][u * 4 + 2], dv[i][u * 4 + 3]);
    }
  }
}

// ------------------------------------------------------------- bf16 tensor cores ----
//
// mma.sync.m16n8k16 (bf16 x bf16 -> f32) with the fragment layouts of the PTX ISA; with
// g = lane / 4 and t = lane % 4:
//   A (16x16):  a[0] = (row g, cols 2t, 2t+1)   a[1] = (row g+8, cols 2t, 2t+1)
//               a[2] = (row g, cols 2t+8, +9)   a[3] = (row g+8, cols 2t+8, +9)
//   B (16x8):   b[0] = (rows 2t, 2t+1, col g)   b[1] = (rows 2t+8, 2t+9, col g)
//   C (16x8):   c[0], c[1] = row g, cols 2t, 2t+1;   c[2], c[3] = row g+8, same cols
// so the C tiles of two neighbouring 8-column slices form the A fragment of a 16-deep product
// (that is how P and dS feed the next product without leaving registers). Operands come from
// shared memory through ldmatrix: a row-major 16x16 A block, or two 8-column B slices stored
// n-major (K rows for Q K^T) or, with .trans, k-major (V rows for P V).

__device__ __forceinline__ void mma_bf16(float (&c)[4], const uint32_t (&a)[4], uint32_t b0,
                                         uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
      "{%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ void ldsm_x4(uint32_t (&r)[4], const bf16* p) {
  const unsigned addr = static_cast<unsigned>(__cvta_generic_to_shared(p));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr)
               : "memory");
}

__device__ __forceinline__ void ldsm_x4_trans(uint32_t (&r)[4], const bf16* p) {
  const unsigned addr = static_cast<unsigned>(__cvta_generic_to_shared(p));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr)
               : "memory");
}

// A fragment of rows [r0, r0+16) x cols [c0, c0+16) of a row-major tile.
__device__ __forceinline__ void load_a(uint32_t (&a)[4], const bf16* tile, int stride, int r0,
                                       int c0, int lane) {
  ldsm_x4(a, tile + (r0 + (lane & 7) + ((lane >> 3) & 1) * 8) * stride + c0 + (lane >> 4) * 8);
}

// B fragments of two 8-wide n slices [n0, n0+16) x k [k0, k0+16) from a tile stored with n as
// rows (B[k][n] = tile[n][k]): b[0], b[1] for slice n0; b[2], b[3] for slice n0 + 8.
__device__ __forceinline__ void load_b_nmajor(uint32_t (&b)[4], const bf16* tile, int stride,
                                              int n0, int k0, int lane) {
  ldsm_x4(b, tile + (n0 + (lane & 7) + ((lane >> 4) & 1) * 8) * stride + k0 + ((lane >> 3) & 1) * 8);
}

// Same from a tile stored with k as rows (B[k][n] = tile[k][n]).
__device__ __forceinline__ void load_b_kmajor(uint32_t (&b)[4], const bf16* tile, int stride,
                                              int k0, int n0, int lane) {
  ldsm_x4_trans(b, tile + (k0 + (lane & 7) + ((lane >> 3) & 1) * 8) * stride + n0 + (lane >> 4) * 8);
}

__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
}

// A fragment for k slice kk from C tiles c[2kk], c[2kk+1] (see the layout note above).
template <int N>
__device__ __forceinline__ void c_to_a(uint32_t (&a)[4], const float (&c)[N][4], int kk) {
  a[0] = pack_bf16(c[2 * kk][0], c[2 * kk][1]);
  a[1] = pack_bf16(c[2 * kk][2], c[2 * kk][3]);
  a[2] = pack_bf16(c[2 * kk + 1][0], c[2 * kk + 1][1]);
  a[3] = pack_bf16(c[2 * kk + 1][2], c[2 * kk + 1][3]);
}

__device__ __forceinline__ void atomic_add2(float* dst, float x, float y) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  atomicAdd(reinterpret_cast<float2*>(dst), make_float2(x, y));
#else
  atomicAdd(dst, x);
  atomicAdd(dst + 1, y);
#endif
}

// ---------------------------------------------------------------- bf16 forward ----
//
// Warp w owns query rows 16w..16w+15; scores (16 x 64 per key tile), probabilities and the
// output accumulator stay in registers. Row statistics live with the 4 lanes of a quad.

template <int HD>
struct Bf16Fwd {
  static constexpr int kSB = HD + 8;  // bf16 row stride: ldmatrix rows land on distinct banks
  static constexpr size_t kTileBytes = sizeof(bf16) * kTileQ * kSB;
  static constexpr size_t kBytes = 3 * kTileBytes;
};

template <int HD>
__global__ void __launch_bounds__(kThreads) flash_fwd_bf16_kernel(FwdParams<bf16> p) {
  using L = Bf16Fwd<HD>;
  extern __shared__ __align__(128) unsigned char smem[];
  bf16* qs = reinterpret_cast<bf16*>(smem);
  bf16* ks = qs + kTileQ * L::kSB;
  bf16* vs = ks + kTileK * L::kSB;

  const AttnShape& s = p.s;
  const int q0 = blockIdx.x * kTileQ, h = blockIdx.y, b = blockIdx.z;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int q_valid = min(kTileQ, s.nq - q0);
  const int keys = s.keys();
  const int key_end = fwd_key_end(s, q0, q_valid);
  const bool active = warp * kWarpRows < q_valid;
  const int row_lo = q0 + warp * kWarpRows + g;  // this lane's rows: row_lo, row_lo + 8

  auto load_k = [&](int jt) {
    load_tile_async<bf16, HD, kTileK>(ks, L::kSB, min(kTileK, keys - jt), [&](int row) {
      return attn_seq_row(p.pk, p.k, b, jt + row, h, s);
    });
    cp_async_commit();
  };
  auto load_v = [&](int jt) {
    load_tile_async<bf16, HD, kTileK>(vs, L::kSB, min(kTileK, keys - jt), [&](int row) {
      return attn_seq_row(p.pv, p.v, b, jt + row, h, s);
    });
    cp_async_commit();
  };
  load_tile_async<bf16, HD, kTileQ>(qs, L::kSB, q_valid,
                                    [&](int row) { return query_row(p.q, b, q0 + row, h, s); });
  cp_async_commit();
  load_k(0);
  load_v(0);
  cp_async_wait<2>();  // Q landed
  __syncthreads();
  uint32_t qa[HD / 16][4];
#pragma unroll
  for (int kk = 0; kk < HD / 16; ++kk) load_a(qa[kk], qs, L::kSB, warp * kWarpRows, kk * 16, lane);

  float o[HD / 8][4];
#pragma unroll
  for (int n = 0; n < HD / 8; ++n) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};
  float sc[kTileK / 8][4];  // scores, then probabilities, of the current key tile

  auto scores = [&](int j0) {
    const int kn = min(kTileK, key_end - j0);  // keys that can be visible in this tile
#pragma unroll
    for (int n = 0; n < kTileK / 8; ++n) sc[n][0] = sc[n][1] = sc[n][2] = sc[n][3] = 0.f;
#pragma unroll
    for (int kk = 0; kk < HD / 16; ++kk)
#pragma unroll
      for (int np = 0; np < kTileK / 16; ++np) {
        if (np * 16 >= kn) break;
        uint32_t kb[4];
        load_b_nmajor(kb, ks, L::kSB, np * 16, kk * 16, lane);
        mma_bf16(sc[2 * np], qa[kk], kb[0], kb[1]);
        mma_bf16(sc[2 * np + 1], qa[kk], kb[2], kb[3]);
      }
    float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int n = 0; n < kTileK / 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int j = j0 + n * 8 + 2 * t + (e & 1);
        const float v = attn_visible(row_lo + (e >> 1) * 8, j, s) ? sc[n][e] * p.scale_log2 : -INFINITY;
        sc[n][e] = v;
        mx[e >> 1] = fmaxf(mx[e >> 1], v);
      }
    float alpha[2], m_use[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
      mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
      const float m_new = fmaxf(m[r], mx[r]);
      // Until a row has seen a visible key its max is -inf; shift by 0 then (p = 0, alpha = 0).
      m_use[r] = (m_new == -INFINITY) ? 0.f : m_new;
      alpha[r] = exp2f(m[r] - m_use[r]);
      m[r] = m_new;
    }
    float sum[2] = {0.f, 0.f};
#pragma unroll
    for (int n = 0; n < kTileK / 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        // Rounded to bf16 here so that l sums exactly the weights the P V product uses.
        const float pe = __bfloat162float(__float2bfloat16_rn(exp2f(sc[n][e] - m_use[e >> 1])));
        sc[n][e] = pe;
        sum[e >> 1] += pe;
      }
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      sum[r] += __shfl_xor_sync(0xffffffffu, sum[r], 1);
      sum[r] += __shfl_xor_sync(0xffffffffu, sum[r], 2);
      l[r] = l[r] * alpha[r] + sum[r];
    }
#pragma unroll
    for (int n = 0; n < HD / 8; ++n) {
      o[n][0] *= alpha[0];
      o[n][1] *= alpha[0];
      o[n][2] *= alpha[1];
      o[n][3] *= alpha[1];
    }
  };

  auto accumulate = [&](int j0) {
    const int kn = min(kTileK, key_end - j0);
#pragma unroll
    for (int kk = 0; kk < kTileK / 16; ++kk) {
      if (kk * 16 >= kn) break;
      uint32_t pa[4];
      c_to_a(pa, sc, kk);
#pragma unroll
      for (int np = 0; np < HD / 16; ++np) {
        uint32_t vb[4];
        load_b_kmajor(vb, vs, L::kSB, kk * 16, np * 16, lane);
        mma_bf16(o[2 * np], pa, vb[0], vb[1]);
        mma_bf16(o[2 * np + 1], pa, vb[2], vb[3]);
      }
    }
  };

  forward_key_loop(key_end, active, load_k, load_v, scores, accumulate);

  if (!active) return;
  const bf16* rr = p.r ? p.r + static_cast<int64_t>(b) * s.ld() + static_cast<int64_t>(h) * HD : nullptr;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int qi = row_lo + r * 8;
    if (qi >= s.nq) continue;
    const float inv = 1.f / l[r];
    bf16* dst = const_cast<bf16*>(query_row<bf16>(p.out, b, qi, h, s));
#pragma unroll
    for (int n = 0; n < HD / 8; ++n) {
      const int col = n * 8 + 2 * t;
      float x0 = o[n][2 * r] * inv, x1 = o[n][2 * r + 1] * inv;
      if (rr) {
        x0 += __bfloat162float(rr[col]);
        x1 += __bfloat162float(rr[col + 1]);
      }
      *reinterpret_cast<__nv_bfloat162*>(dst + col) = __floats2bfloat162_rn(x0, x1);
    }
    if (t == 0) p.lse[(static_cast<int64_t>(b) * s.heads + h) * s.nq + qi] = (m[r] + log2f(l[r])) * kLn2;
  }
}

// --------------------------------------------------------------- bf16 backward ----
//
// Warp w owns keys 16w..16w+15 of the block's key tile. Per query tile it forms S^T and dP^T
// (16 keys x 64 queries) in registers, turns them into P^T and dS^T, feeds both straight into
// dV += P^T dO and dK += dS^T Q (accumulators in registers for the whole kernel), and leaves
// dS in shared memory, where each warp then reads 16 query rows for dQ = dS K (added
// atomically in f32).

template <int HD>
struct Bf16Bwd {
  static constexpr int kSB = HD + 8;       // bf16 K, V, Q, dO rows
  static constexpr int kSD = kTileK + 8;   // bf16 dS rows (queries x keys)
  static constexpr size_t kTileBytes = sizeof(bf16) * kTileK * kSB;
  static constexpr size_t kDsBytes = sizeof(bf16) * kTileQ * kSD;
  static constexpr size_t kBytes = 4 * kTileBytes + kDsBytes + 2 * sizeof(float) * kTileQ;
};

template <int HD>
// Three blocks per SM (at most 168 registers; a few bytes spill at hd 64) measured faster on an
// H200 than two blocks without spills: 0.76 vs 0.84 ms forward + backward at B=128.
__global__ void __launch_bounds__(kThreads, 3) flash_bwd_bf16_kernel(BwdParams<bf16> p) {
  using L = Bf16Bwd<HD>;
  extern __shared__ __align__(128) unsigned char smem[];
  bf16* ks = reinterpret_cast<bf16*>(smem);
  bf16* vs = ks + kTileK * L::kSB;
  bf16* qs = vs + kTileK * L::kSB;
  bf16* dos = qs + kTileQ * L::kSB;
  bf16* ds = dos + kTileQ * L::kSB;
  float* lse_s = reinterpret_cast<float*>(ds + kTileQ * L::kSD);
  float* dvec_s = lse_s + kTileQ;

  const AttnShape& s = p.s;
  const int j0 = blockIdx.x * kTileK, h = blockIdx.y, b = blockIdx.z;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int keys = s.keys();
  const int kv_valid = min(kTileK, keys - j0);
  const int key_lo = warp * kWarpRows + g;  // this lane's tile-local keys: key_lo, key_lo + 8
  const int64_t stat_row0 = (static_cast<int64_t>(b) * s.heads + h) * s.nq;

  auto load_queries = [&](int qt) {
    const int qv = min(kTileQ, s.nq - qt);
    load_tile_async<bf16, HD, kTileQ>(qs, L::kSB, qv, [&](int row) { return query_row(p.q, b, qt + row, h, s); });
    load_tile_async<bf16, HD, kTileQ>(dos, L::kSB, qv, [&](int row) { return query_row(p.dout, b, qt + row, h, s); });
    load_row_stats_async(lse_s, dvec_s, p.lse, p.dvec, stat_row0 + qt, qv);
    cp_async_commit();
  };
  load_tile_async<bf16, HD, kTileK>(ks, L::kSB, kv_valid,
                                    [&](int row) { return attn_seq_row(p.pk, p.k, b, j0 + row, h, s); });
  load_tile_async<bf16, HD, kTileK>(vs, L::kSB, kv_valid,
                                    [&](int row) { return attn_seq_row(p.pv, p.v, b, j0 + row, h, s); });
  const int q_begin = bwd_query_begin(s, j0);
  if (q_begin < s.nq) load_queries(q_begin);  // same group as K, V
  else cp_async_commit();

  float dk[HD / 8][4], dv[HD / 8][4];
#pragma unroll
  for (int n = 0; n < HD / 8; ++n)
#pragma unroll
    for (int e = 0; e < 4; ++e) dk[n][e] = dv[n][e] = 0.f;

  for (int q0 = q_begin; q0 < s.nq; q0 += kTileQ) {
    cp_async_wait<0>();
    __syncthreads();  // this tile's copies are visible; the previous tile's dS is consumed
    const int q_valid = min(kTileQ, s.nq - q0);

    // S^T = K_w Q^T and dP^T = V_w dO^T (rows: keys, columns: queries).
    float st[kTileQ / 8][4], dpt[kTileQ / 8][4];
#pragma unroll
    for (int n = 0; n < kTileQ / 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) st[n][e] = dpt[n][e] = 0.f;
#pragma unroll
    for (int kk = 0; kk < HD / 16; ++kk) {
      uint32_t ka[4], va[4];
      load_a(ka, ks, L::kSB, warp * kWarpRows, kk * 16, lane);
      load_a(va, vs, L::kSB, warp * kWarpRows, kk * 16, lane);
#pragma unroll
      for (int np = 0; np < kTileQ / 16; ++np) {
        if (np * 16 >= q_valid) break;
        uint32_t bq[4], bo[4];
        load_b_nmajor(bq, qs, L::kSB, np * 16, kk * 16, lane);
        load_b_nmajor(bo, dos, L::kSB, np * 16, kk * 16, lane);
        mma_bf16(st[2 * np], ka, bq[0], bq[1]);
        mma_bf16(st[2 * np + 1], ka, bq[2], bq[3]);
        mma_bf16(dpt[2 * np], va, bo[0], bo[1]);
        mma_bf16(dpt[2 * np + 1], va, bo[2], bo[3]);
      }
    }

    // P^T = exp(scale S^T - lse) (masked), dS^T = P^T (dP^T - D); dS also to shared memory.
#pragma unroll
    for (int n = 0; n < kTileQ / 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int qc = n * 8 + 2 * t + (e & 1);
        const int kl = key_lo + (e >> 1) * 8;
        const bool ok = qc < q_valid && attn_visible(q0 + qc, j0 + kl, s);
        const float pv = ok ? exp2f(fmaf(st[n][e], p.scale_log2, -lse_s[qc] * kLog2e)) : 0.f;
        const float dsv = pv * (dpt[n][e] - dvec_s[qc]);
        st[n][e] = pv;
        dpt[n][e] = dsv;
        ds[qc * L::kSD + kl] = __float2bfloat16_rn(dsv);
      }

    // dV += P^T dO, dK += dS^T Q (reduction over this tile's queries).
#pragma unroll
    for (int kq = 0; kq < kTileQ / 16; ++kq) {
      if (kq * 16 >= q_valid) break;
      uint32_t pa[4], da[4];
      c_to_a(pa, st, kq);
      c_to_a(da, dpt, kq);
#pragma unroll
      for (int np = 0; np < HD / 16; ++np) {
        uint32_t bo[4], bq[4];
        load_b_kmajor(bo, dos, L::kSB, kq * 16, np * 16, lane);
        load_b_kmajor(bq, qs, L::kSB, kq * 16, np * 16, lane);
        mma_bf16(dv[2 * np], pa, bo[0], bo[1]);
        mma_bf16(dv[2 * np + 1], pa, bo[2], bo[3]);
        mma_bf16(dk[2 * np], da, bq[0], bq[1]);
        mma_bf16(dk[2 * np + 1], da, bq[2], bq[3]);
      }
    }
    __syncthreads();  // dS complete from all warps; Q, dO, lse, D no longer read

    if (q0 + kTileQ < s.nq) load_queries(q0 + kTileQ);

    // dQ rows 16w..16w+15 of this query tile += scale * dS K.
    if (warp * kWarpRows < q_valid) {
      float dq[HD / 8][4];
#pragma unroll
      for (int n = 0; n < HD / 8; ++n) dq[n][0] = dq[n][1] = dq[n][2] = dq[n][3] = 0.f;
#pragma unroll
      for (int kk = 0; kk < kTileK / 16; ++kk) {
        if (kk * 16 >= kv_valid) break;
        uint32_t a[4];
        load_a(a, ds, L::kSD, warp * kWarpRows, kk * 16, lane);
#pragma unroll
        for (int np = 0; np < HD / 16; ++np) {
          uint32_t kb[4];
          load_b_kmajor(kb, ks, L::kSB, kk * 16, np * 16, lane);
          mma_bf16(dq[2 * np], a, kb[0], kb[1]);
          mma_bf16(dq[2 * np + 1], a, kb[2], kb[3]);
        }
      }
      const float sc = s.scale;
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        const int qi = q0 + warp * kWarpRows + g + r * 8;
        if (qi >= s.nq) continue;
        float* out = p.dq_acc + (static_cast<int64_t>(b) * s.nq + qi) * s.ld() + static_cast<int64_t>(h) * HD;
#pragma unroll
        for (int n = 0; n < HD / 8; ++n)
          atomic_add2(out + n * 8 + 2 * t, dq[n][2 * r] * sc, dq[n][2 * r + 1] * sc);
      }
    }
  }
  cp_async_wait<0>();  // nothing may be in flight at exit (empty query range)

  const float sc = s.scale;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int kl = key_lo + r * 8;
    if (kl >= kv_valid) continue;
    bf16* dkrow = attn_grad_row(p.dpk, p.dk, b, j0 + kl, h, s);
    bf16* dvrow = attn_grad_row(p.dpv, p.dv, b, j0 + kl, h, s);
#pragma unroll
    for (int n = 0; n < HD / 8; ++n) {
      const int col = n * 8 + 2 * t;
      if (dkrow)
        *reinterpret_cast<__nv_bfloat162*>(dkrow + col) =
            __floats2bfloat162_rn(dk[n][2 * r] * sc, dk[n][2 * r + 1] * sc);
      if (dvrow)
        *reinterpret_cast<__nv_bfloat162*>(dvrow + col) =
            __floats2bfloat162_rn(dv[n][2 * r], dv[n][2 * r + 1]);
    }
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

cudaError_t run_forward(int dtype, const AttnFwdArgs& a, const AttnShape& s, cudaStream_t st) {
  const dim3 grid((s.nq + kTileQ - 1) / kTileQ, s.heads, s.batch);
  if (dtype == SP_F32) {
    const FwdParams<float> p = fwd_params<float>(a, s);
    return s.head_dim == 32 ? launch(flash_fwd_f32_kernel<32>, grid, F32Fwd<32>::kBytes, st, p)
                            : launch(flash_fwd_f32_kernel<64>, grid, F32Fwd<64>::kBytes, st, p);
  }
  const FwdParams<bf16> p = fwd_params<bf16>(a, s);
  return s.head_dim == 32 ? launch(flash_fwd_bf16_kernel<32>, grid, Bf16Fwd<32>::kBytes, st, p)
                          : launch(flash_fwd_bf16_kernel<64>, grid, Bf16Fwd<64>::kBytes, st, p);
}

cudaError_t run_backward(int dtype, const AttnBwdArgs& a, const AttnShape& s, const float* dvec,
                         float* dq_acc, cudaStream_t st) {
  const dim3 grid((s.keys() + kTileK - 1) / kTileK, s.heads, s.batch);
  if (dtype == SP_F32) {
    const BwdParams<float> p = bwd_params<float>(a, s, dvec, dq_acc);
    return s.head_dim == 32 ? launch(flash_bwd_f32_kernel<32>, grid, F32Bwd<32>::kBytes, st, p)
                            : launch(flash_bwd_f32_kernel<64>, grid, F32Bwd<64>::kBytes, st, p);
  }
  const BwdParams<bf16> p = bwd_params<bf16>(a, s, dvec, dq_acc);
  return s.head_dim == 32 ? launch(flash_bwd_bf16_kernel<32>, grid, Bf16Bwd<32>::kBytes, st, p)
                          : launch(flash_bwd_bf16_kernel<64>, grid, Bf16Bwd<64>::kBytes, st, p);
}

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
  SP_CUDA_TRY(run_forward(dtype, a, s, sp_stream(stream)));
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
  if (rc == SP_OK && (err = run_backward(dtype, a, s, dvec, dq_acc, st)) != cudaSuccess)
    rc = sp_cuda_error(__func__, err);
  if (rc == SP_OK && dtype != SP_F32)
    rc = attn_launch_from_f32(__func__, dtype, dq_acc, dq, static_cast<int64_t>(q_elems), st);
  if (rc == SP_OK && dr) rc = attn_launch_dr(__func__, dtype, dout, dr, s, st);
  cudaError_t freed = cudaFreeAsync(scratch, st);
  if (rc != SP_OK) return rc;
  SP_CUDA_TRY(freed);
  return SP_OK;
}
