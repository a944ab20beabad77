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
// f32 runs true fp32 FMAs with register tiling (parity at 1e-4 rules out TF32); bf16 uses
// WMMA 16x16x16 bf16 -> f32 tensor-core products, with scores, softmax and the O accumulator
// staged in f32 shared memory (the fragment element layout is unspecified, so row-wise
// rescaling goes through memory).
#include <mma.h>

#include "attention_common.cuh"

namespace {

using bf16 = __nv_bfloat16;
namespace wmma = nvcuda::wmma;

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

// Copies ROWS rows of HD elements into shared memory (row stride `stride` elements) in 16-byte
// vectors; rows >= valid are zero-filled so that padded tiles contribute nothing.
template <typename T, int HD, int ROWS, typename RowPtr>
__device__ __forceinline__ void load_tile(T* dst, int stride, int valid, RowPtr row_ptr) {
  constexpr int kVec = 16 / sizeof(T);
  constexpr int kChunks = HD / kVec;
  for (int idx = threadIdx.x; idx < ROWS * kChunks; idx += kThreads) {
    const int row = idx / kChunks, ch = idx % kChunks;
    uint4 val = make_uint4(0u, 0u, 0u, 0u);
    if (row < valid) val = __ldg(reinterpret_cast<const uint4*>(row_ptr(row)) + ch);
    *reinterpret_cast<uint4*>(dst + row * stride + ch * kVec) = val;
  }
}

template <typename T>
__device__ __forceinline__ const T* query_row(const T* base, int b, int i, int h,
                                              const AttnShape& s) {
  return base + (static_cast<int64_t>(b) * s.nq + i) * s.ld() + static_cast<int64_t>(h) * s.head_dim;
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

  load_tile<float, HD, kTileQ>(qs, L::kSQK, q_valid,
                               [&](int row) { return query_row(p.q, b, q0 + row, h, s); });

  float o[4][L::kOC];
  float m[4], l[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    m[i] = -INFINITY;
    l[i] = 0.f;
#pragma unroll
    for (int u = 0; u < L::kOC; ++u) o[i][u] = 0.f;
  }

  for (int j0 = 0; j0 < key_end; j0 += kTileK) {
    __syncthreads();  // the previous tile is consumed by every warp
    const int kv_valid = min(kTileK, keys - j0);
    load_tile<float, HD, kTileK>(ks, L::kSQK, kv_valid,
                                 [&](int row) { return attn_seq_row(p.pk, p.k, b, j0 + row, h, s); });
    load_tile<float, HD, kTileK>(vs, L::kSV, kv_valid,
                                 [&](int row) { return attn_seq_row(p.pv, p.v, b, j0 + row, h, s); });
    __syncthreads();
    if (!active) continue;

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

    // Online softmax; the 8 lanes sharing rg hold one row between them (xor 1, 2, 4).
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
    __syncwarp();

    // O += P V over the keys that can be visible (P is 0 and V zero-filled beyond).
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
  }

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

  load_tile<float, HD, kTileK>(ks, L::kS, kv_valid,
                               [&](int row) { return attn_seq_row(p.pk, p.k, b, j0 + row, h, s); });
  load_tile<float, HD, kTileK>(vs, L::kS, kv_valid,
                               [&](int row) { return attn_seq_row(p.pv, p.v, b, j0 + row, h, s); });

  float dk[4][L::kOC], dv[4][L::kOC];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int u = 0; u < L::kOC; ++u) dk[i][u] = dv[i][u] = 0.f;

  for (int q0 = bwd_query_begin(s, j0); q0 < s.nq; q0 += kTileQ) {
    __syncthreads();  // previous query tile fully consumed (first pass: nothing pending)
    const int q_valid = min(kTileQ, s.nq - q0);
    load_tile<float, HD, kTileQ>(qs, L::kS, q_valid,
                                 [&](int row) { return query_row(p.q, b, q0 + row, h, s); });
    load_tile<float, HD, kTileQ>(dos, L::kS, q_valid,
                                 [&](int row) { return query_row(p.dout, b, q0 + row, h, s); });
    for (int i = threadIdx.x; i < kTileQ; i += kThreads) {
      const int64_t row = (static_cast<int64_t>(b) * s.heads + h) * s.nq + q0 + i;
      lse_s[i] = i < q_valid ? p.lse[row] * kLog2e : 0.f;
      dvec_s[i] = i < q_valid ? p.dvec[row] : 0.f;
    }
    __syncthreads();

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
        xs[(key0 + 4 * i) * L::kSX + qc] = ok ? exp2f(acc[i][c] * p.scale_log2 - lse_s[qc]) : 0.f;
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
    __syncthreads();  // dS complete from all warps

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
        const float sc = p.s.scale;
#pragma unroll
        for (int u = 0; u < HD / 32; ++u)
          atomic_add4(dst + u * 32 + cg * 4,
                      make_float4(dq[i][u * 4 + 0] * sc, dq[i][u * 4 + 1] * sc,
                                  dq[i][u * 4 + 2] * sc, dq[i][u * 4 + 3] * sc));
      }
    }
  }

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

// ---------------------------------------------------------------- bf16 forward ----

using FragA = wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major>;
using FragBRow = wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major>;
using FragBCol = wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major>;
using FragC = wmma::fragment<wmma::accumulator, 16, 16, 16, float>;

// Strides keep every WMMA pointer 32-byte aligned and ldm a multiple of 8 (bf16) / 4 (f32);
// the padding also staggers rows across banks.
template <int HD>
struct Bf16Fwd {
  static constexpr int kSB = HD + 8;       // bf16 Q, K, V rows
  static constexpr int kSS = kTileK + 4;   // f32 scores (per warp, 16 rows)
  static constexpr int kSP = kTileK + 8;   // bf16 probabilities (per warp)
  static constexpr int kSO = HD + 4;       // f32 output accumulator (per warp)
  static constexpr size_t kTileBytes = sizeof(bf16) * kTileQ * kSB;
  static constexpr size_t kWarpBytes =
      sizeof(float) * kWarpRows * kSS + sizeof(bf16) * kWarpRows * kSP + sizeof(float) * kWarpRows * kSO;
  static constexpr size_t kBytes = 3 * kTileBytes + kWarps * kWarpBytes;
};

template <int HD>
__global__ void __launch_bounds__(kThreads) flash_fwd_bf16_kernel(FwdParams<bf16> p) {
  using L = Bf16Fwd<HD>;
  extern __shared__ __align__(128) unsigned char smem[];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  bf16* qs = reinterpret_cast<bf16*>(smem);
  bf16* ks = qs + kTileQ * L::kSB;
  bf16* vs = ks + kTileK * L::kSB;
  unsigned char* wbase = smem + 3 * L::kTileBytes + warp * L::kWarpBytes;
  float* ss = reinterpret_cast<float*>(wbase);
  bf16* pb = reinterpret_cast<bf16*>(ss + kWarpRows * L::kSS);
  float* os = reinterpret_cast<float*>(pb + kWarpRows * L::kSP);

  const AttnShape& s = p.s;
  const int q0 = blockIdx.x * kTileQ, h = blockIdx.y, b = blockIdx.z;
  const int q_valid = min(kTileQ, s.nq - q0);
  const int keys = s.keys();
  const int key_end = fwd_key_end(s, q0, q_valid);
  const bool active = warp * kWarpRows < q_valid;
  // Softmax/epilogue layout: lane owns row lr of the warp, columns half + 2*cc.
  const int lr = lane >> 1, half = lane & 1;
  const int qi = q0 + warp * kWarpRows + lr;

  load_tile<bf16, HD, kTileQ>(qs, L::kSB, q_valid,
                              [&](int row) { return query_row(p.q, b, q0 + row, h, s); });
  for (int idx = lane; idx < kWarpRows * L::kSO; idx += 32) os[idx] = 0.f;
  __syncthreads();
  FragA qa[HD / 16];
#pragma unroll
  for (int kk = 0; kk < HD / 16; ++kk)
    wmma::load_matrix_sync(qa[kk], qs + warp * kWarpRows * L::kSB + kk * 16, L::kSB);

  float m = -INFINITY, l = 0.f;
  for (int j0 = 0; j0 < key_end; j0 += kTileK) {
    __syncthreads();
    const int kv_valid = min(kTileK, keys - j0);
    load_tile<bf16, HD, kTileK>(ks, L::kSB, kv_valid,
                                [&](int row) { return attn_seq_row(p.pk, p.k, b, j0 + row, h, s); });
    load_tile<bf16, HD, kTileK>(vs, L::kSB, kv_valid,
                                [&](int row) { return attn_seq_row(p.pv, p.v, b, j0 + row, h, s); });
    __syncthreads();
    if (!active) continue;

    const int n_sub = min(kTileK / 16, (key_end - j0 + 15) / 16);  // 16-key slices in use
    for (int n = 0; n < n_sub; ++n) {
      FragC acc;
      wmma::fill_fragment(acc, 0.f);
#pragma unroll
      for (int kk = 0; kk < HD / 16; ++kk) {
        FragBCol kb;  // K^T: element (t, key) sits at ks[key * kSB + t]
        wmma::load_matrix_sync(kb, ks + n * 16 * L::kSB + kk * 16, L::kSB);
        wmma::mma_sync(acc, qa[kk], kb, acc);
      }
      wmma::store_matrix_sync(ss + n * 16, acc, L::kSS, wmma::mem_row_major);
    }
    __syncwarp();

    float sv[kTileK / 2];
    float mx = -INFINITY;
#pragma unroll
    for (int cc = 0; cc < kTileK / 2; ++cc) {
      const int col = half + 2 * cc;
      const bool ok = col < n_sub * 16 && attn_visible(qi, j0 + col, s);
      sv[cc] = ok ? ss[lr * L::kSS + col] * p.scale_log2 : -INFINITY;
      mx = fmaxf(mx, sv[cc]);
    }
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
    const float m_new = fmaxf(m, mx);
    const float m_use = (m_new == -INFINITY) ? 0.f : m_new;
    const float alpha = exp2f(m - m_use);
    float sum = 0.f;
#pragma unroll
    for (int cc = 0; cc < kTileK / 2; ++cc) {
      // l sums the bf16-rounded probabilities that the PV product actually uses.
      const bf16 e = __float2bfloat16_rn(exp2f(sv[cc] - m_use));
      pb[lr * L::kSP + half + 2 * cc] = e;
      sum += __bfloat162float(e);
    }
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    l = l * alpha + sum;
    m = m_new;
#pragma unroll
    for (int c = half * (HD / 2); c < (half + 1) * (HD / 2); ++c) os[lr * L::kSO + c] *= alpha;
    __syncwarp();

#pragma unroll
    for (int u = 0; u < HD / 16; ++u) {
      FragC acc;
      wmma::load_matrix_sync(acc, os + u * 16, L::kSO, wmma::mem_row_major);
      for (int kk = 0; kk < n_sub; ++kk) {
        FragA pa;
        FragBRow vb;
        wmma::load_matrix_sync(pa, pb + kk * 16, L::kSP);
        wmma::load_matrix_sync(vb, vs + kk * 16 * L::kSB + u * 16, L::kSB);
        wmma::mma_sync(acc, pa, vb, acc);
      }
      wmma::store_matrix_sync(os + u * 16, acc, L::kSO, wmma::mem_row_major);
    }
    __syncwarp();
  }

  if (!active || qi >= s.nq) return;
  const float inv = 1.f / l;
  const bf16* rr = p.r ? p.r + static_cast<int64_t>(b) * s.ld() + static_cast<int64_t>(h) * HD : nullptr;
  bf16* dst = const_cast<bf16*>(query_row<bf16>(p.out, b, qi, h, s));
#pragma unroll
  for (int c = half * (HD / 2); c < (half + 1) * (HD / 2); c += 2) {
    float x0 = os[lr * L::kSO + c] * inv, x1 = os[lr * L::kSO + c + 1] * inv;
    if (rr) {
      x0 += __bfloat162float(rr[c]);
      x1 += __bfloat162float(rr[c + 1]);
    }
    *reinterpret_cast<__nv_bfloat162*>(dst + c) = __floats2bfloat162_rn(x0, x1);
  }
  if (half == 0) p.lse[(static_cast<int64_t>(b) * s.heads + h) * s.nq + qi] = (m + log2f(l)) * kLn2;
}

// --------------------------------------------------------------- bf16 backward ----

template <int HD>
struct Bf16Bwd {
  static constexpr int kSB = HD + 8;       // bf16 K, V, Q, dO rows
  static constexpr int kSF = kTileQ + 4;   // f32 per-warp S^T / dP^T (later dQ, dK, dV staging)
  static constexpr int kSP = kTileQ + 8;   // bf16 per-warp P^T, dS^T and block dS
  static constexpr size_t kTileBytes = sizeof(bf16) * kTileK * kSB;
  static constexpr size_t kWarpBytes = 2 * sizeof(float) * kWarpRows * kSF + 2 * sizeof(bf16) * kWarpRows * kSP;
  static constexpr size_t kDsBytes = sizeof(bf16) * kTileQ * kSP;
  static constexpr size_t kBytes = 4 * kTileBytes + kWarps * kWarpBytes + kDsBytes + 2 * sizeof(float) * kTileQ;
  static_assert(HD <= kSF, "dQ/dK/dV staging reuses the f32 score slabs");
};

template <int HD>
__global__ void __launch_bounds__(kThreads) flash_bwd_bf16_kernel(BwdParams<bf16> p) {
  using L = Bf16Bwd<HD>;
  extern __shared__ __align__(128) unsigned char smem[];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  bf16* ks = reinterpret_cast<bf16*>(smem);
  bf16* vs = ks + kTileK * L::kSB;
  bf16* qs = vs + kTileK * L::kSB;
  bf16* dos = qs + kTileQ * L::kSB;
  unsigned char* wbase = smem + 4 * L::kTileBytes + warp * L::kWarpBytes;
  float* sf = reinterpret_cast<float*>(wbase);        // S^T, later dQ / dK staging
  float* dpf = sf + kWarpRows * L::kSF;                // dP^T, later dV staging
  bf16* pt = reinterpret_cast<bf16*>(dpf + kWarpRows * L::kSF);
  bf16* dst = pt + kWarpRows * L::kSP;
  bf16* ds = reinterpret_cast<bf16*>(smem + 4 * L::kTileBytes + kWarps * L::kWarpBytes);
  float* lse_s = reinterpret_cast<float*>(reinterpret_cast<unsigned char*>(ds) + L::kDsBytes);
  float* dvec_s = lse_s + kTileQ;

  const AttnShape& s = p.s;
  const int j0 = blockIdx.x * kTileK, h = blockIdx.y, b = blockIdx.z;
  const int keys = s.keys();
  const int kv_valid = min(kTileK, keys - j0);
  const int k_sub = (kv_valid + 15) / 16;
  const int lr = lane >> 1, half = lane & 1;  // element-wise layout: key row lr, columns half + 2cc
  const int j = j0 + warp * kWarpRows + lr;   // this lane's logical key

  load_tile<bf16, HD, kTileK>(ks, L::kSB, kv_valid,
                              [&](int row) { return attn_seq_row(p.pk, p.k, b, j0 + row, h, s); });
  load_tile<bf16, HD, kTileK>(vs, L::kSB, kv_valid,
                              [&](int row) { return attn_seq_row(p.pv, p.v, b, j0 + row, h, s); });

  FragC dk[HD / 16], dv[HD / 16];
#pragma unroll
  for (int u = 0; u < HD / 16; ++u) {
    wmma::fill_fragment(dk[u], 0.f);
    wmma::fill_fragment(dv[u], 0.f);
  }

  for (int q0 = bwd_query_begin(s, j0); q0 < s.nq; q0 += kTileQ) {
    __syncthreads();
    const int q_valid = min(kTileQ, s.nq - q0);
    const int q_sub = (q_valid + 15) / 16;
    load_tile<bf16, HD, kTileQ>(qs, L::kSB, q_valid,
                                [&](int row) { return query_row(p.q, b, q0 + row, h, s); });
    load_tile<bf16, HD, kTileQ>(dos, L::kSB, q_valid,
                                [&](int row) { return query_row(p.dout, b, q0 + row, h, s); });
    for (int i = threadIdx.x; i < kTileQ; i += kThreads) {
      const int64_t row = (static_cast<int64_t>(b) * s.heads + h) * s.nq + q0 + i;
      lse_s[i] = i < q_valid ? p.lse[row] * kLog2e : 0.f;
      dvec_s[i] = i < q_valid ? p.dvec[row] : 0.f;
    }
    __syncthreads();

    // S^T = K_w Q^T and dP^T = V_w dO^T for this warp's 16 keys.
    for (int n = 0; n < q_sub; ++n) {
      FragC acc_s, acc_p;
      wmma::fill_fragment(acc_s, 0.f);
      wmma::fill_fragment(acc_p, 0.f);
#pragma unroll
      for (int kk = 0; kk < HD / 16; ++kk) {
        FragA a;
        FragBCol bt;
        wmma::load_matrix_sync(a, ks + warp * kWarpRows * L::kSB + kk * 16, L::kSB);
        wmma::load_matrix_sync(bt, qs + n * 16 * L::kSB + kk * 16, L::kSB);
        wmma::mma_sync(acc_s, a, bt, acc_s);
        wmma::load_matrix_sync(a, vs + warp * kWarpRows * L::kSB + kk * 16, L::kSB);
        wmma::load_matrix_sync(bt, dos + n * 16 * L::kSB + kk * 16, L::kSB);
        wmma::mma_sync(acc_p, a, bt, acc_p);
      }
      wmma::store_matrix_sync(sf + n * 16, acc_s, L::kSF, wmma::mem_row_major);
      wmma::store_matrix_sync(dpf + n * 16, acc_p, L::kSF, wmma::mem_row_major);
    }
    __syncwarp();

#pragma unroll 4
    for (int cc = 0; cc < kTileQ / 2; ++cc) {
      const int qc = half + 2 * cc;
      const bool ok = qc < q_valid && attn_visible(q0 + qc, j, s);
      float pv = 0.f, dsv = 0.f;
      if (ok) {
        pv = exp2f(sf[lr * L::kSF + qc] * p.scale_log2 - lse_s[qc]);
        dsv = pv * (dpf[lr * L::kSF + qc] - dvec_s[qc]);
      }
      const bf16 dsb = __float2bfloat16_rn(dsv);
      pt[lr * L::kSP + qc] = __float2bfloat16_rn(pv);
      dst[lr * L::kSP + qc] = dsb;
      ds[qc * L::kSP + warp * kWarpRows + lr] = dsb;
    }
    __syncwarp();

    // dV += P^T dO, dK += dS^T Q (reduction over this tile's queries).
#pragma unroll
    for (int u = 0; u < HD / 16; ++u) {
      for (int kk = 0; kk < q_sub; ++kk) {
        FragA a;
        FragBRow bm;
        wmma::load_matrix_sync(a, pt + kk * 16, L::kSP);
        wmma::load_matrix_sync(bm, dos + kk * 16 * L::kSB + u * 16, L::kSB);
        wmma::mma_sync(dv[u], a, bm, dv[u]);
        wmma::load_matrix_sync(a, dst + kk * 16, L::kSP);
        wmma::load_matrix_sync(bm, qs + kk * 16 * L::kSB + u * 16, L::kSB);
        wmma::mma_sync(dk[u], a, bm, dk[u]);
      }
    }
    __syncthreads();  // dS complete from all warps

    // dQ for this warp's 16 query rows: dS[rows, :] K, staged in sf then added atomically.
    if (warp * kWarpRows < q_valid) {
#pragma unroll
      for (int u = 0; u < HD / 16; ++u) {
        FragC acc;
        wmma::fill_fragment(acc, 0.f);
        for (int kk = 0; kk < k_sub; ++kk) {
          FragA a;
          FragBRow bm;
          wmma::load_matrix_sync(a, ds + warp * kWarpRows * L::kSP + kk * 16, L::kSP);
          wmma::load_matrix_sync(bm, ks + kk * 16 * L::kSB + u * 16, L::kSB);
          wmma::mma_sync(acc, a, bm, acc);
        }
        wmma::store_matrix_sync(sf + u * 16, acc, L::kSF, wmma::mem_row_major);
      }
      __syncwarp();
      const int qi = q0 + warp * kWarpRows + lr;
      if (qi < s.nq) {
        float* out = p.dq_acc + (static_cast<int64_t>(b) * s.nq + qi) * s.ld() + static_cast<int64_t>(h) * HD;
        const float sc = s.scale;
#pragma unroll
        for (int c = half * (HD / 2); c < (half + 1) * (HD / 2); c += 4) {
          const float* src = sf + lr * L::kSF + c;
          atomic_add4(out + c, make_float4(src[0] * sc, src[1] * sc, src[2] * sc, src[3] * sc));
        }
      }
    }
  }

  // Stage dK, dV through the (now free) f32 slabs to write them row-wise in bf16.
#pragma unroll
  for (int u = 0; u < HD / 16; ++u) {
    wmma::store_matrix_sync(sf + u * 16, dk[u], L::kSF, wmma::mem_row_major);
    wmma::store_matrix_sync(dpf + u * 16, dv[u], L::kSF, wmma::mem_row_major);
  }
  __syncwarp();
  if (warp * kWarpRows + lr >= kv_valid) return;
  bf16* dkrow = attn_grad_row(p.dpk, p.dk, b, j, h, s);
  bf16* dvrow = attn_grad_row(p.dpv, p.dv, b, j, h, s);
  const float sc = s.scale;
#pragma unroll
  for (int c = half * (HD / 2); c < (half + 1) * (HD / 2); c += 2) {
    if (dkrow)
      *reinterpret_cast<__nv_bfloat162*>(dkrow + c) =
          __floats2bfloat162_rn(sf[lr * L::kSF + c] * sc, sf[lr * L::kSF + c + 1] * sc);
    if (dvrow)
      *reinterpret_cast<__nv_bfloat162*>(dvrow + c) =
          __floats2bfloat162_rn(dpf[lr * L::kSF + c], dpf[lr * L::kSF + c + 1]);
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
