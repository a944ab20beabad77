// Fused CPU attention: key/value blocks streamed through an online softmax (forward) and a
// flash-attention-2 style recomputation from lse (backward).
//
// Scores are kept transposed, S^T[key][query]: the keys can then be the broadcast operand of
// the register-blocked product and be read in place from k or pk (no per-block transpose),
// and the softmax statistics of a vector of queries at a time are plain vector operations down
// the key rows. Only the query block is packed (transposed, scaled) once per tile.
#include <cmath>
#include <vector>

#include "attention_common.h"
#include "microkernel.h"
#include "parallel.h"

namespace sp::attn {
namespace {

using mk::AView;
using mk::kNR;

constexpr int kBQ = 64;  // queries per tile (the vector dimension of S^T)
constexpr int kBK = 64;  // keys per streamed block

// A run of consecutive logical keys read from one source (pk or k): rows `count` long at
// stride width(). Blocks never straddle the prefix/main boundary.
struct KeyBlock {
  int t0, count;
  const float* k;
  const float* v;
};

int key_block_count(const Args& a) { return int((a.lp + kBK - 1) / kBK + (a.nk + kBK - 1) / kBK); }

KeyBlock key_block(const Args& a, int b, int h, int index) {
  const int prefix_blocks = (a.lp + kBK - 1) / kBK;
  int t0, count;
  if (index < prefix_blocks) {
    t0 = index * kBK;
    count = std::min(kBK, a.lp - t0);
  } else {
    t0 = a.lp + (index - prefix_blocks) * kBK;
    count = std::min(kBK, a.lp + a.nk - t0);
  }
  return KeyBlock{t0, count, a.key(b, h, t0), a.value(b, h, t0)};
}

// Sets S^T[j][i] = -inf where logical key t0 + j is hidden from query i0 + i (causal only);
// i runs over the ld (padded) columns of the tile.
SP_INLINE void mask_causal(const Args& a, int t0, int kb, int i0, float* st, int ld) {
  for (int j = 0; j < kb; ++j) {
    const int t = t0 + j;
    if (t < a.lp) continue;
    const int first_seen = std::min(ld, std::max(0, t - a.lp - i0));  // earlier queries: hidden
    for (int i = 0; i < first_seen; ++i) st[int64_t(j) * ld + i] = -INFINITY;
  }
}

// True when some key of [t0, t0 + kb) is hidden from some query of the tile starting at i0
// (the first query sees the fewest keys).
SP_INLINE bool needs_mask(const Args& a, int t0, int kb, int i0) {
  return a.causal && t0 + kb - 1 - a.lp > i0;
}

// Returns a B operand for rows of hd values at `stride`: the rows themselves when hd is a
// multiple of kNR, else a zero-padded copy in buf (rows x hdp).
SP_INLINE const float* padded_rows(const float* src, int64_t stride, int rows, int hd, int hdp,
                                   float* buf, int64_t* ld) {
  if (hd == hdp) {
    *ld = stride;
    return src;
  }
  for (int j = 0; j < rows; ++j) {
    for (int d = 0; d < hd; ++d) buf[int64_t(j) * hdp + d] = src[j * stride + d];
    for (int d = hd; d < hdp; ++d) buf[int64_t(j) * hdp + d] = 0.0f;
  }
  *ld = hdp;
  return buf;
}

// dst[d * ld + i] = scale * src row i, for i < rows; zero for i in [rows, cols).
SP_INLINE void pack_transposed(const float* src, int64_t stride, int rows, int cols, int hd,
                               float scale, float* dst, int64_t ld) {
  for (int d = 0; d < hd; ++d) {
    float* row = dst + int64_t(d) * ld;
    for (int i = 0; i < rows; ++i) row[i] = scale * src[int64_t(i) * stride + d];
    for (int i = rows; i < cols; ++i) row[i] = 0.0f;
  }
}

// ------------------------------------------------------------------------------ forward --

struct FwdTile {
  float* qt;     // hd x bw: scale * Q^T of the tile's queries
  float* st;     // kBK x bw: scores, then probabilities, transposed
  float* o;      // kBQ x hdp: unnormalised output
  float* vbuf;   // kBK x hdp: padded V block when hd % kNR != 0
  float* m;      // bw: running row max
  float* l;      // bw: running row sum
  float* alpha;  // bw: rescale factor of the current block
};

size_t fwd_scratch_floats(int hd) {
  const int hdp = int(round_up(hd, kNR));
  return size_t(hd) * kBQ + size_t(kBK) * kBQ + size_t(kBQ) * hdp + size_t(kBK) * hdp + 3 * kBQ;
}

FwdTile fwd_tile_buffers(float* s, int hd) {
  const int hdp = int(round_up(hd, kNR));
  FwdTile t;
  t.qt = s;
  t.st = t.qt + size_t(hd) * kBQ;
  t.o = t.st + size_t(kBK) * kBQ;
  t.vbuf = t.o + size_t(kBQ) * hdp;
  t.m = t.vbuf + size_t(kBK) * hdp;
  t.l = t.m + kBQ;
  t.alpha = t.l + kBQ;
  return t;
}

// Folds a block of kb score rows into the running max/sum of every query column and turns
// the scores into exp(s - new max). The reference point of a column that has seen only masked
// keys stays at 0 so that exp(-inf - ref) is 0 rather than NaN.
template <class V>
SP_INLINE void online_softmax_block(float* st, int kb, int bw, float* m, float* l, float* alpha) {
  for (int i = 0; i < bw; i += lanes<V>) {
    V m_old = loadv<V>(m + i);
    V m_new = m_old;
    for (int j = 0; j < kb; ++j) m_new = vmax(m_new, loadv<V>(st + int64_t(j) * bw + i));
    V ref = m_new == splat<V>(-INFINITY) ? V{} : m_new;
    V sum{};
    for (int j = 0; j < kb; ++j) {
      float* row = st + int64_t(j) * bw + i;
      V e = vexp(loadv<V>(row) - ref);
      storev(row, e);
      sum += e;
    }
    V al = vexp(m_old - ref);
    storev(alpha + i, al);
    storev(l + i, loadv<V>(l + i) * al + sum);
    storev(m + i, m_new);
  }
}

template <class V>
SP_INLINE void scale_rows(float* o, int rows, int hdp, const float* alpha) {
  for (int i = 0; i < rows; ++i) {
    if (alpha[i] == 1.0f) continue;
    V s = splat<V>(alpha[i]);
    float* row = o + int64_t(i) * hdp;
    for (int d = 0; d < hdp; d += lanes<V>) storev(row + d, loadv<V>(row + d) * s);
  }
}

template <class V>
SP_INLINE void forward_tile_impl(const Args& a, int b, int h, int i0, float* out, float* lse,
                                 float* scratch) {
  const int mq = std::min(kBQ, a.nq - i0);
  const int bw = int(round_up(mq, kNR));
  const int hd = a.hd, hdp = int(round_up(hd, kNR));
  const int64_t w = a.width();
  FwdTile t = fwd_tile_buffers(scratch, hd);

  pack_transposed(a.query(b, h, i0), w, mq, bw, hd, a.scale, t.qt, bw);
  for (int64_t x = 0; x < int64_t(mq) * hdp; ++x) t.o[x] = 0.0f;
  for (int i = 0; i < bw; ++i) {
    t.m[i] = -INFINITY;
    t.l[i] = 0.0f;
  }

  const int t_end = a.key_end(i0 + mq - 1);
  const int blocks = key_block_count(a);
  for (int bi = 0; bi < blocks; ++bi) {
    KeyBlock kblk = key_block(a, b, h, bi);
    if (kblk.t0 >= t_end) break;
    const int kb = std::min(kblk.count, t_end - kblk.t0);
    mk::tile_gemm<V, false>(kb, bw, hd, AView{kblk.k, w, 1}, t.qt, bw, t.st, bw);
    if (needs_mask(a, kblk.t0, kb, i0)) mask_causal(a, kblk.t0, kb, i0, t.st, bw);
    online_softmax_block<V>(t.st, kb, bw, t.m, t.l, t.alpha);
    scale_rows<V>(t.o, mq, hdp, t.alpha);
    int64_t ldv;
    const float* vb = padded_rows(kblk.v, w, kb, hd, hdp, t.vbuf, &ldv);
    mk::tile_gemm<V, true>(mq, hdp, kb, AView{t.st, 1, bw}, vb, ldv, t.o, hdp);
  }

  const float* r = a.residual(b, h);
  for (int i = 0; i < mq; ++i) {
    const float inv = 1.0f / t.l[i];
    const float* oi = t.o + int64_t(i) * hdp;
    float* dst = out + a.qoff(b, h, i0 + i);
    for (int d = 0; d < hd; ++d) dst[d] = oi[d] * inv + (r ? r[d] : 0.0f);
    if (lse) lse[a.lse_off(b, h) + i0 + i] = t.m[i] + std::log(t.l[i]);
  }
}

SP_DISPATCH(forward_tile,
            (const Args& a, int b, int h, int i0, float* out, float* lse, float* scratch),
            (a, b, h, i0, out, lse, scratch))

// ----------------------------------------------------------------------------- backward --

// Per-(batch, head) buffers of the backward: the whole head's Q^T and dO^T are packed once
// and reused by every key block.
struct BwdHead {
  float* qt;     // hd x nqp: scale * Q^T
  float* dot;    // hd x nqp: dO^T
  float* qrow;   // nq x hdp: Q, padded (only when hd % kNR != 0)
  float* dorow;  // nq x hdp: dO, padded (only when hd % kNR != 0)
  float* lse;    // nqp
  float* drow;   // nqp: D_i = <dO_i, O_i - r>
  float* dq;     // nq x hdp: dQ / scale
  float* st;     // kBK x kBQ: P^T of the current (key block, query block)
  float* dst;    // kBK x kBQ: dP^T, then dS^T
  float* dk;     // kBK x hdp: dK / scale of the current key block
  float* dv;     // kBK x hdp
  float* kbuf;   // kBK x hdp: padded K block (only when hd % kNR != 0)
};

size_t bwd_scratch_floats(int nq, int hd) {
  const size_t nqp = size_t(round_up(nq, kNR)), hdp = size_t(round_up(hd, kNR));
  return 2 * hd * nqp + 3 * size_t(nq) * hdp + 2 * nqp + 2 * size_t(kBK) * kBQ +
         3 * size_t(kBK) * hdp;
}

BwdHead bwd_head_buffers(float* s, int nq, int hd) {
  const size_t nqp = size_t(round_up(nq, kNR)), hdp = size_t(round_up(hd, kNR));
  BwdHead t;
  t.qt = s;
  t.dot = t.qt + hd * nqp;
  t.qrow = t.dot + hd * nqp;
  t.dorow = t.qrow + nq * hdp;
  t.lse = t.dorow + nq * hdp;
  t.drow = t.lse + nqp;
  t.dq = t.drow + nqp;
  t.st = t.dq + nq * hdp;
  t.dst = t.st + size_t(kBK) * kBQ;
  t.dk = t.dst + size_t(kBK) * kBQ;
  t.dv = t.dk + size_t(kBK) * hdp;
  t.kbuf = t.dv + size_t(kBK) * hdp;
  return t;
}

// P^T = exp(S^T - lse) and dS^T = P^T (dP^T - D), one query column vector at a time.
template <class V>
SP_INLINE void probs_and_dscores(float* st, float* dst, int kb, int bw, const float* lse,
                                 const float* drow) {
  for (int i = 0; i < bw; i += lanes<V>) {
    V l = loadv<V>(lse + i), dd = loadv<V>(drow + i);
    for (int j = 0; j < kb; ++j) {
      float* sp = st + int64_t(j) * bw + i;
      float* dp = dst + int64_t(j) * bw + i;
      V p = vexp(loadv<V>(sp) - l);
      storev(sp, p);
      storev(dp, p * (loadv<V>(dp) - dd));
    }
  }
}

SP_INLINE void prepare_head(const Args& a, int b, int h, const float* out, const float* lse,
                            const float* dout, BwdHead& t) {
  const int nq = a.nq, hd = a.hd, nqp = int(round_up(nq, kNR)), hdp = int(round_up(hd, kNR));
  const int64_t w = a.width();
  pack_transposed(a.query(b, h, 0), w, nq, nqp, hd, a.scale, t.qt, nqp);
  pack_transposed(dout + a.qoff(b, h, 0), w, nq, nqp, hd, 1.0f, t.dot, nqp);
  int64_t ld;
  padded_rows(a.query(b, h, 0), w, nq, hd, hdp, t.qrow, &ld);
  padded_rows(dout + a.qoff(b, h, 0), w, nq, hd, hdp, t.dorow, &ld);
  const float* r = a.residual(b, h);
  for (int i = 0; i < nqp; ++i) {
    if (i >= nq) {
      t.lse[i] = 0.0f;
      t.drow[i] = 0.0f;
      continue;
    }
    t.lse[i] = lse[a.lse_off(b, h) + i];
    const float* oi = out + a.qoff(b, h, i);
    const float* doi = dout + a.qoff(b, h, i);
    float di = 0.0f;
    for (int d = 0; d < hd; ++d) di += doi[d] * (oi[d] - (r ? r[d] : 0.0f));
    t.drow[i] = di;
  }
  for (int64_t x = 0; x < int64_t(nq) * hdp; ++x) t.dq[x] = 0.0f;
}

// Writes scale * acc (rows x hd, stride hdp) to rows of a strided gradient tensor.
SP_INLINE void store_scaled(const float* acc, int rows, int hd, int hdp, float scale, float* dst,
                            int64_t stride) {
  for (int j = 0; j < rows; ++j)
    for (int d = 0; d < hd; ++d) dst[int64_t(j) * stride + d] = scale * acc[int64_t(j) * hdp + d];
}

// All gradients of one key block against every query block that sees it.
template <class V>
SP_INLINE void backward_key_block(const Args& a, int b, int h, const KeyBlock& kblk,
                                  const float* dout, const Grads& g, BwdHead& t) {
  const int hd = a.hd, hdp = int(round_up(hd, kNR)), nqp = int(round_up(a.nq, kNR));
  const int64_t w = a.width();
  const int kb = kblk.count;
  for (int64_t x = 0; x < int64_t(kb) * hdp; ++x) t.dk[x] = t.dv[x] = 0.0f;
  int64_t ldk;
  const float* kB = padded_rows(kblk.k, w, kb, hd, hdp, t.kbuf, &ldk);
  const bool padded = hd != hdp;
  const int64_t ldrow = padded ? hdp : w;

  // With a causal mask, queries before the block's first main key cannot see any of it.
  const int first_query = a.causal && kblk.t0 >= a.lp ? kblk.t0 - a.lp : 0;
  for (int i0 = first_query / kBQ * kBQ; i0 < a.nq; i0 += kBQ) {
    const int mq = std::min(kBQ, a.nq - i0), bw = int(round_up(mq, kNR));
    mk::tile_gemm<V, false>(kb, bw, hd, AView{kblk.k, w, 1}, t.qt + i0, nqp, t.st, bw);
    if (needs_mask(a, kblk.t0, kb, i0)) mask_causal(a, kblk.t0, kb, i0, t.st, bw);
    mk::tile_gemm<V, false>(kb, bw, hd, AView{kblk.v, w, 1}, t.dot + i0, nqp, t.dst, bw);
    probs_and_dscores<V>(t.st, t.dst, kb, bw, t.lse + i0, t.drow + i0);

    const float* qI = padded ? t.qrow + int64_t(i0) * hdp : a.query(b, h, i0);
    const float* doI = padded ? t.dorow + int64_t(i0) * hdp : dout + a.qoff(b, h, i0);
    mk::tile_gemm<V, true>(kb, hdp, mq, AView{t.st, bw, 1}, doI, ldrow, t.dv, hdp);
    mk::tile_gemm<V, true>(kb, hdp, mq, AView{t.dst, bw, 1}, qI, ldrow, t.dk, hdp);
    float* dqI = t.dq + int64_t(i0) * hdp;
    mk::tile_gemm<V, true>(mq, hdp, kb, AView{t.dst, 1, bw}, kB, ldk, dqI, hdp);
  }
  store_scaled(t.dk, kb, hd, hdp, a.scale, key_grad_row(a, g.dpk, g.dk, b, h, kblk.t0), w);
  store_scaled(t.dv, kb, hd, hdp, 1.0f, key_grad_row(a, g.dpv, g.dv, b, h, kblk.t0), w);
}

template <class V>
SP_INLINE void backward_head_impl(const Args& a, int b, int h, const float* out, const float* lse,
                                  const float* dout, const Grads& g, float* scratch) {
  const int hd = a.hd, hdp = int(round_up(hd, kNR));
  BwdHead t = bwd_head_buffers(scratch, a.nq, hd);
  prepare_head(a, b, h, out, lse, dout, t);
  const int blocks = key_block_count(a);
  for (int bi = 0; bi < blocks; ++bi)
    backward_key_block<V>(a, b, h, key_block(a, b, h, bi), dout, g, t);
  store_scaled(t.dq, a.nq, hd, hdp, a.scale, g.dq + a.qoff(b, h, 0), a.width());
  if (g.dr) {
    // The residual is added to every output row, so its gradient is the column sum of dO.
    float* drh = g.dr + int64_t(b) * a.width() + int64_t(h) * hd;
    for (int d = 0; d < hd; ++d) drh[d] = 0.0f;
    for (int i = 0; i < a.nq; ++i) {
      const float* doi = dout + a.qoff(b, h, i);
      for (int d = 0; d < hd; ++d) drh[d] += doi[d];
    }
  }
}

SP_DISPATCH(backward_head,
            (const Args& a, int b, int h, const float* out, const float* lse, const float* dout,
             const Grads& g, float* scratch),
            (a, b, h, out, lse, dout, g, scratch))

// Scratch of the calling thread, grown on demand and kept for later calls.
float* thread_scratch(size_t floats) {
  thread_local std::vector<float> buf;
  if (buf.size() < floats) buf.resize(floats);
  return buf.data();
}


}  // namespace
}  // namespace sp::attn

using sp::attn::Args;
using sp::attn::Grads;

SP_EXPORT int sp_cpu_attention_fwd_tiled(const float* q, const float* k, const float* v,
                                         const float* pk, const float* pv, const float* r,
                                         float* out, float* lse, int batch, int nq, int nk, int lp,
                                         int heads, int head_dim, float scale, int causal) {
  Args a{q, k, v, pk, pv, r, batch, nq, nk, lp, heads, head_dim, scale, causal != 0};
  int status = sp::attn::check_forward(__func__, a, out);
  if (status != SP_OK) return status;
  const int64_t qblocks = (nq + sp::attn::kBQ - 1) / sp::attn::kBQ;
  const int64_t tiles = int64_t(batch) * heads * qblocks;
  const size_t floats = sp::attn::fwd_scratch_floats(head_dim);
  status = sp::parallel_for(tiles, 1, [&](int64_t begin, int64_t end) {
    float* scratch = sp::attn::thread_scratch(floats);
    for (int64_t x = begin; x < end; ++x) {
      const int64_t bh = x / qblocks;
      const int i0 = int(x % qblocks) * sp::attn::kBQ;
      sp::attn::forward_tile(a, int(bh / heads), int(bh % heads), i0, out, lse, scratch);
    }
  });
  return sp::finish(__func__, status);
}

SP_EXPORT int sp_cpu_attention_bwd_tiled(const float* q, const float* k, const float* v,
                                         const float* pk, const float* pv, const float* r,
                                         const float* out, const float* lse, const float* dout,
                                         float* dq, float* dk, float* dv, float* dpk, float* dpv,
                                         float* dr, int batch, int nq, int nk, int lp, int heads,
                                         int head_dim, float scale, int causal) {
  Args a{q, k, v, pk, pv, r, batch, nq, nk, lp, heads, head_dim, scale, causal != 0};
  Grads g{dq, dk, dv, dpk, dpv, dr};
  int status = sp::attn::check_backward(__func__, a, out, lse, dout, g);
  if (status != SP_OK) return status;
  // One task per (batch, head): every gradient row a task writes belongs to its head's
  // columns, so the accumulations need no synchronisation.
  const size_t floats = sp::attn::bwd_scratch_floats(nq, head_dim);
  status = sp::parallel_for(int64_t(batch) * heads, 1, [&](int64_t begin, int64_t end) {
    float* scratch = sp::attn::thread_scratch(floats);
    for (int64_t bh = begin; bh < end; ++bh)
      sp::attn::backward_head(a, int(bh / heads), int(bh % heads), out, lse, dout, g, scratch);
  });
  return sp::finish(__func__, status);
}
