// Flash attention, bf16: mma.sync tensor-core products (see attention_flash.cuh).
#include "attention_flash.cuh"

namespace {

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

}  // namespace

cudaError_t flash_forward_bf16(const AttnFwdArgs& a, const AttnShape& s, cudaStream_t st) {
  const FwdParams<bf16> p = fwd_params<bf16>(a, s);
  return s.head_dim == 32 ? launch(flash_fwd_bf16_kernel<32>, flash_fwd_grid(s), Bf16Fwd<32>::kBytes, st, p)
                          : launch(flash_fwd_bf16_kernel<64>, flash_fwd_grid(s), Bf16Fwd<64>::kBytes, st, p);
}

cudaError_t flash_backward_bf16(const AttnBwdArgs& a, const AttnShape& s, const float* dvec,
                               float* dq_acc, cudaStream_t st) {
  const BwdParams<bf16> p = bwd_params<bf16>(a, s, dvec, dq_acc);
  return s.head_dim == 32 ? launch(flash_bwd_bf16_kernel<32>, flash_bwd_grid(s), Bf16Bwd<32>::kBytes, st, p)
                          : launch(flash_bwd_bf16_kernel<64>, flash_bwd_grid(s), Bf16Bwd<64>::kBytes, st, p);
}
