#include <initializer_list>

#include "attention_common.cuh"

namespace {

bool pointers_aligned(std::initializer_list<const void*> ptrs, size_t bytes) {
  for (const void* p : ptrs)
    if (p && reinterpret_cast<uintptr_t>(p) % bytes != 0) return false;
  return true;
}

int check_common(const char* fn, int dtype, const AttnShape& s, const void* pk, const void* pv) {
  SP_CHECK_FN(fn, dtype == SP_F32 || dtype == SP_BF16);
  SP_CHECK_FN(fn, s.batch >= 0 && s.batch <= 65535);
  SP_CHECK_FN(fn, s.heads > 0 && s.heads <= 65535);
  SP_CHECK_FN(fn, s.nq >= 0 && s.nk >= 0 && s.lp >= 0);
  SP_CHECK_FN(fn, s.head_dim > 0 && s.head_dim <= 128);
  SP_CHECK_FN(fn, s.scale == s.scale);
  // A softmax over no keys is undefined.
  SP_CHECK_FN(fn, s.batch == 0 || s.nq == 0 || s.nk + s.lp > 0);
  SP_CHECK_FN(fn, s.lp == 0 || s.batch == 0 || (pk != nullptr && pv != nullptr));
  // Element offsets are computed in 64 bits but indices per sample in 32.
  SP_CHECK_FN(fn, static_cast<int64_t>(s.nq) * s.ld() < (int64_t(1) << 31));
  SP_CHECK_FN(fn, static_cast<int64_t>(s.nk + s.lp) * s.ld() < (int64_t(1) << 31));
  return SP_OK;
}

}  // namespace

bool attn_empty(const AttnShape& s) { return s.batch == 0 || s.nq == 0; }

int attn_check_fwd(const char* fn, int dtype, const AttnFwdArgs& a, const AttnShape& s,
                   bool vector_io) {
  if (int rc = check_common(fn, dtype, s, a.pk, a.pv)) return rc;
  if (attn_empty(s)) return SP_OK;
  SP_CHECK_FN(fn, a.q != nullptr && a.out != nullptr && a.lse != nullptr);
  SP_CHECK_FN(fn, s.nk == 0 || (a.k != nullptr && a.v != nullptr));
  SP_CHECK_FN(fn, !vector_io || pointers_aligned({a.q, a.k, a.v, a.pk, a.pv, a.r, a.out}, 16));
  return SP_OK;
}

int attn_check_bwd(const char* fn, int dtype, const AttnBwdArgs& a, const AttnShape& s,
                   bool vector_io) {
  if (int rc = check_common(fn, dtype, s, a.pk, a.pv)) return rc;
  SP_CHECK_FN(fn, a.dpk == nullptr || a.pk != nullptr);
  SP_CHECK_FN(fn, a.dpv == nullptr || a.pv != nullptr);
  SP_CHECK_FN(fn, a.dr == nullptr || a.r != nullptr);
  if (s.batch == 0) return SP_OK;
  SP_CHECK_FN(fn, s.nk == 0 || (a.dk != nullptr && a.dv != nullptr));
  if (s.nq == 0) return SP_OK;
  SP_CHECK_FN(fn, a.q != nullptr && a.out != nullptr && a.lse != nullptr);
  SP_CHECK_FN(fn, s.nk == 0 || (a.k != nullptr && a.v != nullptr));
  SP_CHECK_FN(fn, a.dout != nullptr && a.dq != nullptr);
  SP_CHECK_FN(fn, !vector_io || pointers_aligned({a.q, a.k, a.v, a.pk, a.pv, a.r, a.out, a.dout,
                                                  a.dq, a.dk, a.dv, a.dpk, a.dpv},
                                                 16));
  return SP_OK;
}

int attn_bwd_no_queries(const char* fn, int dtype, const AttnBwdArgs& a, const AttnShape& s,
                        cudaStream_t stream) {
  const size_t elt = dtype == SP_BF16 ? 2 : 4;
  const size_t row = static_cast<size_t>(s.ld()) * elt;
  const size_t b = static_cast<size_t>(s.batch);
  const struct {
    void* p;
    size_t bytes;
  } outs[] = {{a.dk, b * s.nk * row}, {a.dv, b * s.nk * row}, {a.dpk, b * s.lp * row},
              {a.dpv, b * s.lp * row}, {a.dr, b * row}};
  for (const auto& o : outs) {
    if (o.p == nullptr || o.bytes == 0) continue;
    cudaError_t err = cudaMemsetAsync(o.p, 0, o.bytes, stream);
    if (err != cudaSuccess) return sp_cuda_error(fn, err);
  }
  return SP_OK;
}

namespace {

constexpr int kWarps = 8;

// One warp per (b, h, i) row.
template <typename T>
__global__ void dvec_kernel(const T* __restrict__ out, const T* __restrict__ dout,
                            const T* __restrict__ r, float* __restrict__ dvec, AttnShape s) {
  const int64_t rows = static_cast<int64_t>(s.batch) * s.heads * s.nq;
  const int64_t row = blockIdx.x * static_cast<int64_t>(kWarps) + (threadIdx.x >> 5);
  const int lane = threadIdx.x & 31;
  if (row >= rows) return;
  const int i = static_cast<int>(row % s.nq);
  const int64_t bh = row / s.nq;
  const int h = static_cast<int>(bh % s.heads);
  const int b = static_cast<int>(bh / s.heads);
  const int64_t off = (static_cast<int64_t>(b) * s.nq + i) * s.ld() + static_cast<int64_t>(h) * s.head_dim;
  const T* rr = r ? r + static_cast<int64_t>(b) * s.ld() + static_cast<int64_t>(h) * s.head_dim : nullptr;
  float acc = 0.f;
  for (int c = lane; c < s.head_dim; c += 32) {
    const float o = sp_load(out + off + c) - (rr ? sp_load(rr + c) : 0.f);
    acc = fmaf(sp_load(dout + off + c), o, acc);
  }
  acc = sp_warp_sum(acc);
  if (lane == 0) dvec[row] = acc;
}

template <typename T>
__global__ void dr_kernel(const T* __restrict__ dout, T* __restrict__ dr, AttnShape s) {
  const int b = blockIdx.y;
  const int64_t ld = s.ld();
  const T* src = dout + static_cast<int64_t>(b) * s.nq * ld;
  for (int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; c < ld;
       c += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float acc = 0.f;
    for (int n = 0; n < s.nq; ++n) acc += sp_load(src + n * ld + c);
    sp_store(dr + b * ld + c, acc);
  }
}

__global__ void f32_to_bf16_kernel(const float* __restrict__ src, __nv_bfloat16* __restrict__ dst,
                                   int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    dst[i] = __float2bfloat16_rn(src[i]);
}

}  // namespace

int attn_launch_dvec(const char* fn, int dtype, const void* out, const void* dout, const void* r,
                     float* dvec, const AttnShape& s, cudaStream_t stream) {
  const int64_t rows = static_cast<int64_t>(s.batch) * s.heads * s.nq;
  const unsigned blocks = static_cast<unsigned>((rows + kWarps - 1) / kWarps);
  if (dtype == SP_F32)
    dvec_kernel<<<blocks, kWarps * 32, 0, stream>>>(static_cast<const float*>(out),
                                                    static_cast<const float*>(dout),
                                                    static_cast<const float*>(r), dvec, s);
  else
    dvec_kernel<<<blocks, kWarps * 32, 0, stream>>>(static_cast<const __nv_bfloat16*>(out),
                                                    static_cast<const __nv_bfloat16*>(dout),
                                                    static_cast<const __nv_bfloat16*>(r), dvec, s);
  cudaError_t err = cudaGetLastError();
  return err == cudaSuccess ? SP_OK : sp_cuda_error(fn, err);
}

int attn_launch_dr(const char* fn, int dtype, const void* dout, void* dr, const AttnShape& s,
                   cudaStream_t stream) {
  const int threads = 128;
  const dim3 grid(static_cast<unsigned>((s.ld() + threads - 1) / threads), s.batch);
  if (dtype == SP_F32)
    dr_kernel<<<grid, threads, 0, stream>>>(static_cast<const float*>(dout),
                                            static_cast<float*>(dr), s);
  else
    dr_kernel<<<grid, threads, 0, stream>>>(static_cast<const __nv_bfloat16*>(dout),
                                            static_cast<__nv_bfloat16*>(dr), s);
  cudaError_t err = cudaGetLastError();
  return err == cudaSuccess ? SP_OK : sp_cuda_error(fn, err);
}

int attn_launch_from_f32(const char* fn, int dtype, const float* src, void* dst, int64_t n,
                         cudaStream_t stream) {
  cudaError_t err;
  if (dtype == SP_F32) {
    err = cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToDevice, stream);
  } else {
    f32_to_bf16_kernel<<<sp_grid_for(n, 256), 256, 0, stream>>>(
        src, static_cast<__nv_bfloat16*>(dst), n);
    err = cudaGetLastError();
  }
  return err == cudaSuccess ? SP_OK : sp_cuda_error(fn, err);
}
