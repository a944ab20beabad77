// Flash attention, f32: true fp32 FMAs with register tiling (see attention_flash.cuh).
#include "attention_flash.cuh"

namespace {

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

}  // namespace

cudaError_t flash_forward_f32(const AttnFwdArgs& a, const AttnShape& s, cudaStream_t st) {
  const FwdParams<float> p = fwd_params<float>(a, s);
  return s.head_dim == 32 ? launch(flash_fwd_f32_kernel<32>, flash_fwd_grid(s), F32Fwd<32>::kBytes, st, p)
                          : launch(flash_fwd_f32_kernel<64>, flash_fwd_grid(s), F32Fwd<64>::kBytes, st, p);
}

cudaError_t flash_backward_f32(const AttnBwdArgs& a, const AttnShape& s, const float* dvec,
                               float* dq_acc, cudaStream_t st) {
  const BwdParams<float> p = bwd_params<float>(a, s, dvec, dq_acc);
  return s.head_dim == 32 ? launch(flash_bwd_f32_kernel<32>, flash_bwd_grid(s), F32Bwd<32>::kBytes, st, p)
                          : launch(flash_bwd_f32_kernel<64>, flash_bwd_grid(s), F32Bwd<64>::kBytes, st, p);
}
