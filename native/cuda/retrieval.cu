// Key-query retrieval (ALGORITHM.md §10.2) for all layers at once.
//
// Fused forward: sigma = softmax(A) per (layer, class) into scratch, then both cosine terms as
// one blocked product over d (numerator <q, sigma*k> and squared norm <q^2, sigma^2> for all
// B x (layers*seen) pairs), then one block per (layer, sample) for argmax, gather and scale.
// Naive forward: per layer, materialises u = q * sigma for every (sample, class) pair.
// Backward (both): only current classes selected by some sample get gradient. With
// alpha_b = 5 g_b / m_b and beta_b = 5 g_b n_b / m_b^3, the sum over samples of g_b ds/dsigma is
// G_c = k_c * sum_b alpha_b q_b - sigma_c * sum_b beta_b q_b^2, so the fused version reduces
// per-sample scalars first and then lets one block per class sum over its samples in a fixed
// order (deterministic, no atomics); the naive version materialises g_b ds/dsigma per sample.
#include "common.cuh"

namespace {

constexpr int kThreads = 256;
constexpr float kCosScale = 5.f;
constexpr float kMinNorm = 1e-12f;

struct RetrievalShape {
  int batch, seen, classes, d, dp, layers;
};

// sig[(l*seen + c), :] = softmax(a[l, c, :]) for c < seen; grid (seen, layers).
__global__ void sigma_kernel(const float* __restrict__ a, float* __restrict__ sig,
                             RetrievalShape s) {
  __shared__ float red[33];
  const int c = blockIdx.x, l = blockIdx.y;
  const float* row = a + (static_cast<int64_t>(l) * s.classes + c) * s.d;
  float* out = sig + (static_cast<int64_t>(l) * s.seen + c) * s.d;
  float m = -INFINITY;
  for (int t = threadIdx.x; t < s.d; t += blockDim.x) m = fmaxf(m, row[t]);
  m = sp_block_max(m, red);
  float sum = 0.f;
  for (int t = threadIdx.x; t < s.d; t += blockDim.x) sum += expf(row[t] - m);
  const float inv = 1.f / sp_block_sum(sum, red);
  for (int t = threadIdx.x; t < s.d; t += blockDim.x) out[t] = expf(row[t] - m) * inv;
}

__device__ __forceinline__ float cosine_from_terms(float num, float sq) {
  return kCosScale * num / fmaxf(sqrtf(sq), kMinNorm);
}

constexpr int kCosTile = 32;  // samples x columns per block, 2x2 outputs per thread
constexpr int kCosK = 32;     // d per stage

// sims[l, b, c] for all layers: column j = l*seen + c pairs q_b with sigma_j and keys[c].
__global__ void cosine_product_kernel(const float* __restrict__ q, const float* __restrict__ keys,
                                      const float* __restrict__ sig, float* __restrict__ sims,
                                      RetrievalShape s) {
  __shared__ float qs[kCosTile][kCosK + 1];
  __shared__ float sks[kCosTile][kCosK + 1];  // sigma * key
  __shared__ float sss[kCosTile][kCosK + 1];  // sigma^2
  const int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
  const int b0 = blockIdx.y * kCosTile, j0 = blockIdx.x * kCosTile;
  const int cols = s.layers * s.seen;
  float num[2][2] = {}, sq[2][2] = {};
  for (int t0 = 0; t0 < s.d; t0 += kCosK) {
    for (int idx = threadIdx.x; idx < kCosTile * kCosK; idx += blockDim.x) {
      const int r = idx / kCosK, x = idx % kCosK, t = t0 + x;
      const int b = b0 + r, j = j0 + r;
      qs[r][x] = (b < s.batch && t < s.d) ? q[static_cast<int64_t>(b) * s.d + t] : 0.f;
      float sg = 0.f, kv = 0.f;
      if (j < cols && t < s.d) {
        sg = sig[static_cast<int64_t>(j) * s.d + t];
        kv = keys[static_cast<int64_t>(j % s.seen) * s.d + t];
      }
      sks[r][x] = sg * kv;
      sss[r][x] = sg * sg;
    }
    __syncthreads();
#pragma unroll 8
    for (int x = 0; x < kCosK; ++x) {
      const float q0 = qs[ty][x], q1 = qs[ty + 16][x];
      const float k0 = sks[tx][x], k1 = sks[tx + 16][x];
      const float s0 = sss[tx][x], s1 = sss[tx + 16][x];
      num[0][0] = fmaf(q0, k0, num[0][0]);
      num[0][1] = fmaf(q0, k1, num[0][1]);
      num[1][0] = fmaf(q1, k0, num[1][0]);
      num[1][1] = fmaf(q1, k1, num[1][1]);
      sq[0][0] = fmaf(q0 * q0, s0, sq[0][0]);
      sq[0][1] = fmaf(q0 * q0, s1, sq[0][1]);
      sq[1][0] = fmaf(q1 * q1, s0, sq[1][0]);
      sq[1][1] = fmaf(q1 * q1, s1, sq[1][1]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int k = 0; k < 2; ++k) {
      const int b = b0 + ty + 16 * i, j = j0 + tx + 16 * k;
      if (b >= s.batch || j >= cols) continue;
      const int l = j / s.seen, c = j % s.seen;
      sims[(static_cast<int64_t>(l) * s.batch + b) * s.seen + c] = cosine_from_terms(num[i][k], sq[i][k]);
    }
}

// Larger value wins; equal values go to the lower index (the argmax contract).
__device__ __forceinline__ void argmax_merge(float& v, int& i, float ov, int oi) {
  if (ov > v || (ov == v && oi < i)) {
    v = ov;
    i = oi;
  }
}

// One block per (sample, layer) = (blockIdx.x, blockIdx.y + layer0): argmax over the seen
// classes, then sp = w * p[sel].
__global__ void select_kernel(const float* __restrict__ sims, const float* __restrict__ p,
                              int32_t* __restrict__ sel, float* __restrict__ sp, int modulate,
                              RetrievalShape s, int layer0) {
  __shared__ float best_v[32];
  __shared__ int best_i[32];
  const int b = blockIdx.x, l = blockIdx.y + layer0;
  const float* row = sims + (static_cast<int64_t>(l) * s.batch + b) * s.seen;
  float v = -INFINITY;
  int idx = 0x7fffffff;
  for (int c = threadIdx.x; c < s.seen; c += blockDim.x) argmax_merge(v, idx, row[c], c);
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    argmax_merge(v, idx, __shfl_xor_sync(0xffffffffu, v, o), __shfl_xor_sync(0xffffffffu, idx, o));
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) {
    best_v[warp] = v;
    best_i[warp] = idx;
  }
  __syncthreads();
  if (warp == 0) {
    const int nw = blockDim.x >> 5;
    v = lane < nw ? best_v[lane] : -INFINITY;
    idx = lane < nw ? best_i[lane] : 0x7fffffff;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
      argmax_merge(v, idx, __shfl_xor_sync(0xffffffffu, v, o), __shfl_xor_sync(0xffffffffu, idx, o));
    if (lane == 0) {
      // A row of NaNs selects nothing above; fall back to class 0 rather than index garbage.
      if (idx >= s.seen) idx = 0;
      best_i[0] = idx;
      best_v[0] = row[idx];
    }
  }
  __syncthreads();
  const int c = best_i[0];
  const float w = modulate ? best_v[0] : 1.f;
  if (threadIdx.x == 0) sel[static_cast<int64_t>(l) * s.batch + b] = c;
  const float* src = p + (static_cast<int64_t>(l) * s.classes + c) * s.dp;
  float* dst = sp + (static_cast<int64_t>(l) * s.batch + b) * s.dp;
  for (int t = threadIdx.x; t < s.dp; t += blockDim.x) dst[t] = w * src[t];
}

// Naive: u[b, c, :] = q[b, :] * sig[c, :] for one layer.
__global__ void modulated_queries_kernel(const float* __restrict__ q, const float* __restrict__ sig,
                                         float* __restrict__ u, RetrievalShape s) {
  const int64_t n = static_cast<int64_t>(s.batch) * s.seen * s.d;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int t = static_cast<int>(i % s.d);
    const int64_t bc = i / s.d;
    const int c = static_cast<int>(bc % s.seen), b = static_cast<int>(bc / s.seen);
    u[i] = q[static_cast<int64_t>(b) * s.d + t] * sig[static_cast<int64_t>(c) * s.d + t];
  }
}

// Naive: one warp per (b, c): sims = 5 <u, k_c> / max(|u|, 1e-12) for one layer.
__global__ void naive_cosine_kernel(const float* __restrict__ u, const float* __restrict__ keys,
                                    float* __restrict__ sims_layer, RetrievalShape s) {
  const int64_t pair = blockIdx.x * 8LL + (threadIdx.x >> 5);
  const int lane = threadIdx.x & 31;
  if (pair >= static_cast<int64_t>(s.batch) * s.seen) return;
  const int c = static_cast<int>(pair % s.seen);
  const float* ur = u + pair * s.d;
  const float* kr = keys + static_cast<int64_t>(c) * s.d;
  float num = 0.f, sq = 0.f;
  for (int t = lane; t < s.d; t += 32) {
    num = fmaf(ur[t], kr[t], num);
    sq = fmaf(ur[t], ur[t], sq);
  }
  num = sp_warp_sum(num);
  sq = sp_warp_sum(sq);
  if (lane == 0) sims_layer[pair] = cosine_from_terms(num, sq);
}

// ------------------------------------------------------------------ backward ----

// Per (sample, layer): g = <dsp, p[sel]>, n = <q sigma, k>, m = |q sigma| and from them
// coef = (alpha, beta) = (5 g / m, 5 g n / m^3); zero when the selected class is frozen or
// modulation is off (no path to A).
__global__ void sample_coef_kernel(const float* __restrict__ q, const float* __restrict__ keys,
                                   const float* __restrict__ p, const float* __restrict__ sig,
                                   const int32_t* __restrict__ sel, const float* __restrict__ dsp,
                                   float2* __restrict__ coef, RetrievalShape s, int past) {
  __shared__ float red[33];
  const int b = blockIdx.x, l = blockIdx.y;
  const int64_t lb = static_cast<int64_t>(l) * s.batch + b;
  const int c = sel[lb];
  if (c < past || c >= s.seen) {
    if (threadIdx.x == 0) coef[lb] = make_float2(0.f, 0.f);
    return;
  }
  const float* dspr = dsp + lb * s.dp;
  const float* pr = p + (static_cast<int64_t>(l) * s.classes + c) * s.dp;
  const float* qr = q + static_cast<int64_t>(b) * s.d;
  const float* sg = sig + (static_cast<int64_t>(l) * s.seen + c) * s.d;
  const float* kr = keys + static_cast<int64_t>(c) * s.d;
  float g = 0.f, n = 0.f, m2 = 0.f;
  for (int t = threadIdx.x; t < s.dp; t += blockDim.x) g = fmaf(dspr[t], pr[t], g);
  for (int t = threadIdx.x; t < s.d; t += blockDim.x) {
    const float u = qr[t] * sg[t];
    n = fmaf(u, kr[t], n);
    m2 = fmaf(u, u, m2);
  }
  g = sp_block_sum(g, red);
  n = sp_block_sum(n, red);
  m2 = sp_block_sum(m2, red);
  if (threadIdx.x == 0) {
    const float m = sqrtf(m2);
    // Below the clamp the norm is a constant: only the numerator term remains.
    const float alpha = kCosScale * g / fmaxf(m, kMinNorm);
    const float beta = m > kMinNorm ? kCosScale * g * n / (m * m * m) : 0.f;
    coef[lb] = make_float2(alpha, beta);
  }
}

// One block per (class, layer): writes the whole da and dp_grad rows (zero unless c is a
// current class selected by some sample). Samples are visited in index order: deterministic.
// g_rows (naive path) replaces coef: rows [b, d] of g_b ds/dsigma already materialised.
__global__ void class_grad_kernel(const float* __restrict__ q, const float* __restrict__ keys,
                                  const float* __restrict__ sig, const float* __restrict__ sims,
                                  const int32_t* __restrict__ sel, const float* __restrict__ dsp,
                                  const float2* __restrict__ coef, const float* __restrict__ g_rows,
                                  float* __restrict__ da, float* __restrict__ dp_grad,
                                  RetrievalShape s, int past, int modulate, int layer0) {
  extern __shared__ float gvec[];  // G_c, d floats
  __shared__ float red[33];
  const int c = blockIdx.x, l = blockIdx.y + layer0;
  const int32_t* sel_l = sel + static_cast<int64_t>(l) * s.batch;
  float* da_row = da + (static_cast<int64_t>(l) * s.classes + c) * s.d;
  float* dp_row = dp_grad + (static_cast<int64_t>(l) * s.classes + c) * s.dp;
  const bool trainable = c >= past && c < s.seen;
  int hits = 0;
  if (trainable)
    for (int b = 0; b < s.batch; ++b) hits += sel_l[b] == c;
  if (hits == 0) {
    for (int t = threadIdx.x; t < s.d; t += blockDim.x) da_row[t] = 0.f;
    for (int t = threadIdx.x; t < s.dp; t += blockDim.x) dp_row[t] = 0.f;
    return;
  }
  // dP_c = sum_b w_b dsp_b
  const float* sims_l = sims + static_cast<int64_t>(l) * s.batch * s.seen;
  const float* dsp_l = dsp + static_cast<int64_t>(l) * s.batch * s.dp;
  for (int t = threadIdx.x; t < s.dp; t += blockDim.x) {
    float acc = 0.f;
    for (int b = 0; b < s.batch; ++b)
      if (sel_l[b] == c) {
        const float w = modulate ? sims_l[static_cast<int64_t>(b) * s.seen + c] : 1.f;
        acc = fmaf(w, dsp_l[static_cast<int64_t>(b) * s.dp + t], acc);
      }
    dp_row[t] = acc;
  }
  if (!modulate) {
    for (int t = threadIdx.x; t < s.d; t += blockDim.x) da_row[t] = 0.f;
    return;
  }
  // G_c, then the softmax Jacobian: da = sigma * (G - <G, sigma>).
  const float* sg = sig + (static_cast<int64_t>(l) * s.seen + c) * s.d;
  const float* kr = keys + static_cast<int64_t>(c) * s.d;
  float dot = 0.f;
  for (int t = threadIdx.x; t < s.d; t += blockDim.x) {
    float gt = 0.f;
    if (g_rows) {
      for (int b = 0; b < s.batch; ++b)
        if (sel_l[b] == c) gt += g_rows[static_cast<int64_t>(b) * s.d + t];
    } else {
      const float2* coef_l = coef + static_cast<int64_t>(l) * s.batch;
      float x = 0.f, y = 0.f;
      for (int b = 0; b < s.batch; ++b)
        if (sel_l[b] == c) {
          const float qv = q[static_cast<int64_t>(b) * s.d + t];
          x = fmaf(coef_l[b].x, qv, x);
          y = fmaf(coef_l[b].y, qv * qv, y);
        }
      gt = kr[t] * x - sg[t] * y;
    }
    gvec[t] = gt;
    dot = fmaf(gt, sg[t], dot);
  }
  dot = sp_block_sum(dot, red);
  for (int t = threadIdx.x; t < s.d; t += blockDim.x) da_row[t] = sg[t] * (gvec[t] - dot);
}

// Naive: g_rows[b, :] = g_b * 5 q_b (k/m - n u/m^3) for one layer, one block per sample
// (zero rows for samples whose class is frozen).
__global__ void naive_sample_grad_kernel(const float* __restrict__ q, const float* __restrict__ keys,
                                         const float* __restrict__ p, const float* __restrict__ sig,
                                         const int32_t* __restrict__ sel,
                                         const float* __restrict__ dsp, float* __restrict__ g_rows,
                                         RetrievalShape s, int past, int l) {
  __shared__ float red[33];
  const int b = blockIdx.x;
  const int64_t lb = static_cast<int64_t>(l) * s.batch + b;
  const int c = sel[lb];
  float* out = g_rows + static_cast<int64_t>(b) * s.d;
  if (c < past || c >= s.seen) {
    for (int t = threadIdx.x; t < s.d; t += blockDim.x) out[t] = 0.f;
    return;
  }
  const float* qr = q + static_cast<int64_t>(b) * s.d;
  const float* sg = sig + (static_cast<int64_t>(l) * s.seen + c) * s.d;
  const float* kr = keys + static_cast<int64_t>(c) * s.d;
  const float* pr = p + (static_cast<int64_t>(l) * s.classes + c) * s.dp;
  float g = 0.f, n = 0.f, m2 = 0.f;
  for (int t = threadIdx.x; t < s.dp; t += blockDim.x) g = fmaf(dsp[lb * s.dp + t], pr[t], g);
  for (int t = threadIdx.x; t < s.d; t += blockDim.x) {
    const float u = qr[t] * sg[t];
    n = fmaf(u, kr[t], n);
    m2 = fmaf(u, u, m2);
  }
  g = sp_block_sum(g, red);
  n = sp_block_sum(n, red);
  m2 = sp_block_sum(m2, red);
  const float m = sqrtf(m2);
  const float mc = fmaxf(m, kMinNorm);
  const float n_term = m > kMinNorm ? n / (m * m * m) : 0.f;
  for (int t = threadIdx.x; t < s.d; t += blockDim.x) {
    const float u = qr[t] * sg[t];
    out[t] = g * kCosScale * qr[t] * (kr[t] / mc - n_term * u);
  }
}

// ------------------------------------------------------------------ host side ----

// Same leniency as the CPU version: empty batches, layers or prompt widths are no-ops, and a
// pointer may be NULL when it addresses nothing.
int check_shape(const char* fn, const RetrievalShape& s) {
  SP_CHECK_FN(fn, s.batch >= 0 && s.batch <= 65535);
  SP_CHECK_FN(fn, s.seen > 0 && s.seen <= s.classes);
  SP_CHECK_FN(fn, s.d > 0 && s.dp >= 0);
  SP_CHECK_FN(fn, s.layers >= 0 && s.layers <= 65535);
  SP_CHECK_FN(fn, s.d <= 12 * 1024);  // G_c of one class sits in shared memory (48 KiB)
  return SP_OK;
}

int check_fwd(const char* fn, const float* q, const float* keys, const float* a, const float* p,
              const float* sims, const int32_t* sel, const float* sp, const RetrievalShape& s) {
  if (int rc = check_shape(fn, s)) return rc;
  if (s.batch == 0 || s.layers == 0) return SP_OK;
  SP_CHECK_FN(fn, q && keys && a && sims && sel);
  SP_CHECK_FN(fn, s.dp == 0 || (p && sp));
  return SP_OK;
}

int check_bwd(const char* fn, const float* q, const float* keys, const float* a, const float* p,
              const float* sims, const int32_t* sel, const float* dsp, const float* da,
              const float* dp_grad, const RetrievalShape& s, int past, int modulate) {
  if (int rc = check_shape(fn, s)) return rc;
  SP_CHECK_FN(fn, past >= 0 && past <= s.seen);
  if (s.layers == 0) return SP_OK;
  SP_CHECK_FN(fn, da != nullptr && (s.dp == 0 || dp_grad != nullptr));
  if (s.batch == 0) return SP_OK;
  SP_CHECK_FN(fn, q && keys && a && sel);
  SP_CHECK_FN(fn, !modulate || sims != nullptr);  // sims supplies the weights w
  SP_CHECK_FN(fn, s.dp == 0 || (p && dsp));
  return SP_OK;
}

// Frees the scratch on the stream whatever happened, reporting the first error.
int finish(const char* fn, cudaError_t err, void* scratch, cudaStream_t st) {
  cudaError_t freed = scratch ? cudaFreeAsync(scratch, st) : cudaSuccess;
  if (err != cudaSuccess) return sp_cuda_error(fn, err);
  if (freed != cudaSuccess) return sp_cuda_error(fn, freed);
  return SP_OK;
}

}  // namespace

SP_EXPORT int sp_cuda_retrieval_fwd_naive(const float* q, const float* keys, const float* a,
                                          const float* p, int batch, int seen, int classes, int d,
                                          int dp, int layers, int modulate, float* sims,
                                          int32_t* sel, float* sp, void* stream) {
  const RetrievalShape s{batch, seen, classes, d, dp, layers};
  if (int rc = check_fwd(__func__, q, keys, a, p, sims, sel, sp, s)) return rc;
  if (batch == 0 || layers == 0) return SP_OK;
  cudaStream_t st = sp_stream(stream);
  const size_t sig_elems = static_cast<size_t>(layers) * seen * d;
  const size_t u_elems = static_cast<size_t>(batch) * seen * d;
  float* scratch = nullptr;
  SP_CUDA_TRY(sp_scratch_alloc(&scratch, sig_elems + u_elems, st));
  float* sig = scratch;
  float* u = scratch + sig_elems;
  sigma_kernel<<<dim3(seen, layers), kThreads, 0, st>>>(a, sig, s);
  RetrievalShape one = s;
  one.layers = 1;
  for (int l = 0; l < layers; ++l) {
    modulated_queries_kernel<<<sp_grid_for(static_cast<int64_t>(u_elems), kThreads), kThreads, 0, st>>>(
        q, sig + static_cast<size_t>(l) * seen * d, u, one);
    const int64_t pairs = static_cast<int64_t>(batch) * seen;
    naive_cosine_kernel<<<static_cast<unsigned>((pairs + 7) / 8), kThreads, 0, st>>>(
        u, keys, sims + static_cast<size_t>(l) * batch * seen, one);
    select_kernel<<<dim3(batch, 1), kThreads, 0, st>>>(sims, p, sel, sp, modulate, s, l);
  }
  return finish(__func__, cudaGetLastError(), scratch, st);
}

SP_EXPORT int sp_cuda_retrieval_fwd_fused(const float* q, const float* keys, const float* a,
                                          const float* p, int batch, int seen, int classes, int d,
                                          int dp, int layers, int modulate, float* sims,
                                          int32_t* sel, float* sp, void* stream) {
  const RetrievalShape s{batch, seen, classes, d, dp, layers};
  if (int rc = check_fwd(__func__, q, keys, a, p, sims, sel, sp, s)) return rc;
  if (batch == 0 || layers == 0) return SP_OK;
  cudaStream_t st = sp_stream(stream);
  float* sig = nullptr;
  SP_CUDA_TRY(sp_scratch_alloc(&sig, static_cast<size_t>(layers) * seen * d, st));
  sigma_kernel<<<dim3(seen, layers), kThreads, 0, st>>>(a, sig, s);
  const int cols = layers * seen;
  const dim3 grid((cols + kCosTile - 1) / kCosTile, (batch + kCosTile - 1) / kCosTile);
  cosine_product_kernel<<<grid, kThreads, 0, st>>>(q, keys, sig, sims, s);
  select_kernel<<<dim3(batch, layers), kThreads, 0, st>>>(sims, p, sel, sp, modulate, s, 0);
  return finish(__func__, cudaGetLastError(), sig, st);
}

SP_EXPORT int sp_cuda_retrieval_bwd_naive(const float* q, const float* keys, const float* a,
                                          const float* p, const float* sims, const int32_t* sel,
                                          const float* dsp, int batch, int seen, int classes,
                                          int past, int d, int dp, int layers, int modulate,
                                          float* da, float* dp_grad, void* stream) {
  const RetrievalShape s{batch, seen, classes, d, dp, layers};
  if (int rc = check_bwd(__func__, q, keys, a, p, sims, sel, dsp, da, dp_grad, s, past, modulate))
    return rc;
  if (layers == 0) return SP_OK;
  cudaStream_t st = sp_stream(stream);
  const size_t sig_elems = static_cast<size_t>(layers) * seen * d;
  const size_t g_elems = static_cast<size_t>(batch) * d;
  float* scratch = nullptr;
  SP_CUDA_TRY(sp_scratch_alloc(&scratch, sig_elems + g_elems, st));
  float* sig = scratch;
  float* g_rows = scratch + sig_elems;
  if (modulate && batch > 0) sigma_kernel<<<dim3(seen, layers), kThreads, 0, st>>>(a, sig, s);
  const size_t gsmem = static_cast<size_t>(d) * sizeof(float);
  for (int l = 0; l < layers; ++l) {
    if (modulate && batch > 0)
      naive_sample_grad_kernel<<<batch, kThreads, 0, st>>>(q, keys, p, sig, sel, dsp, g_rows, s,
                                                          past, l);
    class_grad_kernel<<<dim3(classes, 1), kThreads, gsmem, st>>>(
        q, keys, sig, sims, sel, dsp, nullptr, g_rows, da, dp_grad, s, past, modulate, l);
  }
  return finish(__func__, cudaGetLastError(), scratch, st);
}

SP_EXPORT int sp_cuda_retrieval_bwd_fused(const float* q, const float* keys, const float* a,
                                          const float* p, const float* sims, const int32_t* sel,
                                          const float* dsp, int batch, int seen, int classes,
                                          int past, int d, int dp, int layers, int modulate,
                                          float* da, float* dp_grad, void* stream) {
  const RetrievalShape s{batch, seen, classes, d, dp, layers};
  if (int rc = check_bwd(__func__, q, keys, a, p, sims, sel, dsp, da, dp_grad, s, past, modulate))
    return rc;
  if (layers == 0) return SP_OK;
  cudaStream_t st = sp_stream(stream);
  const size_t sig_elems = modulate ? static_cast<size_t>(layers) * seen * d : 0;
  const size_t coef_elems = static_cast<size_t>(layers) * batch;
  float* scratch = nullptr;
  // float2 coefficients first: the allocation's alignment covers them.
  SP_CUDA_TRY(sp_scratch_alloc(&scratch, 2 * coef_elems + sig_elems, st));
  float2* coef = reinterpret_cast<float2*>(scratch);
  float* sig = scratch + 2 * coef_elems;
  if (modulate && batch > 0) {
    sigma_kernel<<<dim3(seen, layers), kThreads, 0, st>>>(a, sig, s);
    sample_coef_kernel<<<dim3(batch, layers), kThreads, 0, st>>>(q, keys, p, sig, sel, dsp, coef,
                                                                 s, past);
  }
  class_grad_kernel<<<dim3(classes, layers), kThreads, static_cast<size_t>(d) * sizeof(float), st>>>(
      q, keys, sig, sims, sel, dsp, coef, nullptr, da, dp_grad, s, past, modulate, 0);
  return finish(__func__, cudaGetLastError(), scratch, st);
}
