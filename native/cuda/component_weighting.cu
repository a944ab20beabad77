// CODA-Prompt component weighting (methods/coda-prompt.md §3, §6) on the device; the same
// function as native/cpu/component_weighting.cpp.
//
// Forward: one warp per (layer, used component, image) forms the cosine of q_b * A_k to K_k
// (numerator and both squared norms in one pass over D), then a grid over (row, image, layer)
// sums alpha * P over the used components in a fixed order.
// Backward: one warp per (layer, image, trained component) reduces g = <dout_b, P_k> and the
// cosine terms into per-pair coefficients; one block per (layer, trained component) then sums
// them over the images in a fixed order (deterministic, no atomics):
//   dA_k = Khat_k * sum_b c1 q_b - A_k * sum_b c2 q_b^2,  c1 = g/max(m,eps), c2 = g alpha/m^2
//   dK_k = (A_k * sum_b c1 q_b - [n > eps] (sum_b g alpha) K_k / n) / max(n, eps)
//   dP_k = sum_b alpha_bk dout_b
// Rows of frozen (k < from) and unused (k >= used) components are zeroed.
#include "common.cuh"

namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr float kMinNorm = 1e-12f;

struct Shape {
  int batch, components, used, d, row, layers;

  __host__ __device__ int64_t vec(int l, int k) const {
    return (static_cast<int64_t>(l) * components + k) * d;
  }
  __host__ __device__ int64_t comp(int l, int k) const {
    return (static_cast<int64_t>(l) * components + k) * row;
  }
  __host__ __device__ int64_t out(int l, int b) const {
    return (static_cast<int64_t>(l) * batch + b) * row;
  }
};

struct CosineTerms {
  float alpha, m;
};

// The cosine of q_b * A_k to K_k, reduced over the warp; every lane gets the result.
__device__ CosineTerms warp_cosine(const float* __restrict__ qb, const float* __restrict__ ak,
                                   const float* __restrict__ kk, int d) {
  float dot = 0.f, uu = 0.f, nn = 0.f;
  for (int j = threadIdx.x & 31; j < d; j += 32) {
    const float u = qb[j] * ak[j];
    dot = fmaf(u, kk[j], dot);
    uu = fmaf(u, u, uu);
    nn = fmaf(kk[j], kk[j], nn);
  }
  dot = sp_warp_sum(dot);
  const float m = sqrtf(sp_warp_sum(uu)), n = sqrtf(sp_warp_sum(nn));
  return {dot / (fmaxf(m, kMinNorm) * fmaxf(n, kMinNorm)), m};
}

// Warp w of the grid handles (layer, component k < used, image) = w in row-major order.
__global__ void alpha_kernel(const float* __restrict__ q, const float* __restrict__ keys,
                             const float* __restrict__ attn, float* __restrict__ alpha, Shape s) {
  const int64_t w = static_cast<int64_t>(blockIdx.x) * kWarps + (threadIdx.x >> 5);
  const int64_t pairs = static_cast<int64_t>(s.layers) * s.used * s.batch;
  if (w >= pairs) return;
  const int b = static_cast<int>(w % s.batch);
  const int k = static_cast<int>((w / s.batch) % s.used);
  const int l = static_cast<int>(w / (static_cast<int64_t>(s.batch) * s.used));
  const CosineTerms c = warp_cosine(q + static_cast<int64_t>(b) * s.d, attn + s.vec(l, k),
                                    keys + s.vec(l, k), s.d);
  if ((threadIdx.x & 31) == 0) alpha[(static_cast<int64_t>(l) * s.batch + b) * s.used + k] = c.alpha;
}

// out[l, b, j] for j = blockIdx.x * kThreads + threadIdx.x; grid (row blocks, batch, layers).
__global__ void sum_kernel(const float* __restrict__ comps, const float* __restrict__ alpha,
                           float* __restrict__ out, Shape s) {
  const int j = blockIdx.x * kThreads + threadIdx.x, b = blockIdx.y, l = blockIdx.z;
  if (j >= s.row) return;
  const float* a = alpha + (static_cast<int64_t>(l) * s.batch + b) * s.used;
  float acc = 0.f;
  for (int k = 0; k < s.used; ++k) acc = fmaf(a[k], comps[s.comp(l, k) + j], acc);
  out[s.out(l, b) + j] = acc;
}

// Per (layer, image, trained component): coef = {c1, c2, g * alpha, alpha}, [layers, batch, trained].
__global__ void coef_kernel(const float* __restrict__ q, const float* __restrict__ keys,
                            const float* __restrict__ attn, const float* __restrict__ comps,
                            const float* __restrict__ dout, float4* __restrict__ coef, Shape s,
                            int from) {
  const int trained = s.used - from;
  const int64_t w = static_cast<int64_t>(blockIdx.x) * kWarps + (threadIdx.x >> 5);
  if (w >= static_cast<int64_t>(s.layers) * s.batch * trained) return;
  const int t = static_cast<int>(w % trained), k = from + t;
  const int b = static_cast<int>((w / trained) % s.batch);
  const int l = static_cast<int>(w / (static_cast<int64_t>(trained) * s.batch));
  const CosineTerms c = warp_cosine(q + static_cast<int64_t>(b) * s.d, attn + s.vec(l, k),
                                    keys + s.vec(l, k), s.d);
  const float* db = dout + s.out(l, b);
  const float* pk = comps + s.comp(l, k);
  float g = 0.f;
  for (int j = threadIdx.x & 31; j < s.row; j += 32) g = fmaf(db[j], pk[j], g);
  g = sp_warp_sum(g);
  if ((threadIdx.x & 31) != 0) return;
  const float c1 = g / fmaxf(c.m, kMinNorm);
  const float c2 = c.m > kMinNorm ? g * c.alpha / (c.m * c.m) : 0.f;
  coef[w] = make_float4(c1, c2, g * c.alpha, c.alpha);
}

// dA and dK of one trained component; grid (trained, layers).
__global__ void key_attention_grad_kernel(const float* __restrict__ q,
                                          const float* __restrict__ keys,
                                          const float* __restrict__ attn,
                                          const float4* __restrict__ coef,
                                          float* __restrict__ dkeys, float* __restrict__ dattn,
                                          Shape s, int from) {
  __shared__ float red[33];
  const int trained = s.used - from, t = blockIdx.x, l = blockIdx.y, k = from + t;
  const float *ak = attn + s.vec(l, k), *kk = keys + s.vec(l, k);
  float nn = 0.f;
  for (int j = threadIdx.x; j < s.d; j += blockDim.x) nn = fmaf(kk[j], kk[j], nn);
  const float n = sqrtf(sp_block_sum(nn, red)), nc = fmaxf(n, kMinNorm);
  const float4* cl = coef + static_cast<int64_t>(l) * s.batch * trained + t;
  float g_alpha = 0.f;
  for (int b = 0; b < s.batch; ++b) g_alpha += cl[static_cast<int64_t>(b) * trained].z;
  const float pull = n > kMinNorm ? g_alpha / n : 0.f;
  for (int j = threadIdx.x; j < s.d; j += blockDim.x) {
    float w1 = 0.f, w2 = 0.f;
    for (int b = 0; b < s.batch; ++b) {
      const float4 c = cl[static_cast<int64_t>(b) * trained];
      const float qj = q[static_cast<int64_t>(b) * s.d + j];
      w1 = fmaf(c.x, qj, w1);
      w2 = fmaf(c.y, qj * qj, w2);
    }
    dattn[s.vec(l, k) + j] = kk[j] / nc * w1 - ak[j] * w2;
    dkeys[s.vec(l, k) + j] = (ak[j] * w1 - pull * kk[j]) / nc;
  }
}

// dP of one trained component; grid (row blocks, trained, layers).
__global__ void component_grad_kernel(const float* __restrict__ dout,
                                      const float4* __restrict__ coef,
                                      float* __restrict__ dcomps, Shape s, int from) {
  const int trained = s.used - from;
  const int j = blockIdx.x * kThreads + threadIdx.x, t = blockIdx.y, l = blockIdx.z;
  if (j >= s.row) return;
  const float4* cl = coef + static_cast<int64_t>(l) * s.batch * trained + t;
  float acc = 0.f;
  for (int b = 0; b < s.batch; ++b) {
    acc = fmaf(cl[static_cast<int64_t>(b) * trained].w, dout[s.out(l, b) + j], acc);
  }
  dcomps[s.comp(l, from + t) + j] = acc;
}

// Zeroes the rows of components outside [from, used) of a [layers, components, width] tensor.
__global__ void zero_untrained_kernel(float* __restrict__ x, int64_t total, int components,
                                      int width, int from, int used) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int k = static_cast<int>((i / width) % components);
    if (k < from || k >= used) x[i] = 0.f;
  }
}

int check_shape(const char* fn, const Shape& s) {
  SP_CHECK_FN(fn, s.batch >= 0 && s.batch <= 65535 && s.layers >= 0 && s.layers <= 65535);
  SP_CHECK_FN(fn, s.d >= 1 && s.row >= 0);
  SP_CHECK_FN(fn, s.used >= 1 && s.used <= s.components && s.components <= 65535);
  return SP_OK;
}

unsigned warp_blocks(int64_t warps) { return sp_grid_for(warps * 32, kThreads); }

bool fits_warp_grid(int64_t warps) { return warps <= (int64_t(1) << 20) * kWarps; }

}  // namespace

SP_EXPORT int sp_cuda_component_weighting_fwd(const float* q, const float* keys,
                                              const float* attn, const float* comps, int batch,
                                              int components, int used, int d, int row,
                                              int layers, float* alpha, float* out,
                                              void* stream) {
  const Shape s{batch, components, used, d, row, layers};
  if (int rc = check_shape(__func__, s)) return rc;
  if (batch == 0 || layers == 0) return SP_OK;
  SP_CHECK(q && keys && attn && alpha && (row == 0 || (comps && out)));
  const int64_t warps = static_cast<int64_t>(layers) * used * batch;
  SP_CHECK(fits_warp_grid(warps));
  cudaStream_t st = sp_stream(stream);
  alpha_kernel<<<warp_blocks(warps), kThreads, 0, st>>>(q, keys, attn, alpha, s);
  if (row > 0) {
    sum_kernel<<<dim3((row + kThreads - 1) / kThreads, batch, layers), kThreads, 0, st>>>(
        comps, alpha, out, s);
  }
  SP_LAUNCH_CHECK();
  return SP_OK;
}

SP_EXPORT int sp_cuda_component_weighting_bwd(const float* q, const float* keys,
                                              const float* attn, const float* comps,
                                              const float* dout, int batch, int components,
                                              int used, int from, int d, int row, int layers,
                                              float* dkeys, float* dattn, float* dcomps,
                                              void* stream) {
  const Shape s{batch, components, used, d, row, layers};
  if (int rc = check_shape(__func__, s)) return rc;
  SP_CHECK(from >= 0 && from <= used);
  if (layers == 0) return SP_OK;
  SP_CHECK(keys && attn && dkeys && dattn && (row == 0 || dcomps));
  SP_CHECK(batch == 0 || (q && (row == 0 || (comps && dout))));
  const int trained = used - from;
  const int64_t warps = static_cast<int64_t>(layers) * batch * trained;
  SP_CHECK(fits_warp_grid(warps));
  cudaStream_t st = sp_stream(stream);
  const int64_t vecs = static_cast<int64_t>(layers) * components * d;
  const int64_t rows = static_cast<int64_t>(layers) * components * row;
  zero_untrained_kernel<<<sp_grid_for(vecs, kThreads), kThreads, 0, st>>>(dkeys, vecs, components,
                                                                          d, from, used);
  zero_untrained_kernel<<<sp_grid_for(vecs, kThreads), kThreads, 0, st>>>(dattn, vecs, components,
                                                                          d, from, used);
  if (rows > 0) {
    zero_untrained_kernel<<<sp_grid_for(rows, kThreads), kThreads, 0, st>>>(dcomps, rows,
                                                                            components, row, from,
                                                                            used);
  }
  SP_LAUNCH_CHECK();
  if (trained == 0) return SP_OK;
  float4* coef = nullptr;
  SP_CUDA_TRY(sp_scratch_alloc(&coef, static_cast<size_t>(warps), st));
  if (batch > 0) {
    coef_kernel<<<warp_blocks(warps), kThreads, 0, st>>>(q, keys, attn, comps, dout, coef, s, from);
  }
  key_attention_grad_kernel<<<dim3(trained, layers), kThreads, 0, st>>>(q, keys, attn, coef, dkeys,
                                                                        dattn, s, from);
  if (row > 0) {
    component_grad_kernel<<<dim3((row + kThreads - 1) / kThreads, trained, layers), kThreads, 0,
                            st>>>(dout, coef, dcomps, s, from);
  }
  const cudaError_t launched = cudaGetLastError();
  const cudaError_t freed = cudaFreeAsync(coef, st);
  if (launched != cudaSuccess) return sp_cuda_error(__func__, launched);
  if (freed != cudaSuccess) return sp_cuda_error(__func__, freed);
  return SP_OK;
}
