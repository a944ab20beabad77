// Shared helpers of the CUDA kernels: error mapping (never abort, always sp_fail), launch
// geometry, bf16 load/store and warp/block reductions.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "internal.h"

// A failed runtime call becomes SP_ERR_CUDA (SP_ERR_ALLOC for out-of-memory) naming the
// exported function. The runtime also remembers the error for cudaGetLastError, which the next
// op's launch check would then report as its own: clear it here.
inline int sp_cuda_error(const char* func, cudaError_t err) {
  cudaGetLastError();
  int code = (err == cudaErrorMemoryAllocation) ? SP_ERR_ALLOC : SP_ERR_CUDA;
  return sp_fail(code, "%s: %s", func, cudaGetErrorString(err));
}

#define SP_CUDA_TRY(call)                                                    \
  do {                                                                       \
    cudaError_t sp_err_ = (call);                                            \
    if (sp_err_ != cudaSuccess) return sp_cuda_error(__func__, sp_err_);     \
  } while (0)

// Checks the launch(es) just issued; asynchronous faults surface at the next sync.
#define SP_LAUNCH_CHECK() SP_CUDA_TRY(cudaGetLastError())
// The same inside a helper that reports on behalf of the exported function `fn`.
#define SP_LAUNCH_CHECK_FN(fn)                                                   \
  do {                                                                           \
    cudaError_t sp_err_ = cudaGetLastError();                                    \
    if (sp_err_ != cudaSuccess) return sp_cuda_error(fn, sp_err_);               \
  } while (0)

// Argument check inside a helper that reports on behalf of the exported function `fn`.
#define SP_CHECK_FN(fn, cond)                                                       \
  do {                                                                              \
    if (!(cond)) return sp_fail(SP_ERR_ARG, "%s: check failed: %s", fn, #cond);     \
  } while (0)

inline cudaStream_t sp_stream(void* s) { return static_cast<cudaStream_t>(s); }

// Blocks for a grid-stride loop over n items: enough to fill the device, never more than
// the 1-D grid limit (kernels loop over the rest).
inline unsigned sp_grid_for(int64_t n, int threads) {
  int64_t blocks = (n + threads - 1) / threads;
  const int64_t cap = 1 << 20;
  if (blocks < 1) blocks = 1;
  return static_cast<unsigned>(blocks < cap ? blocks : cap);
}

// Scratch memory ordered on the stream (pool allocator: no device-wide sync). Never empty, so
// callers can free unconditionally.
template <typename T>
inline cudaError_t sp_scratch_alloc(T** ptr, size_t count, cudaStream_t stream) {
  return cudaMallocAsync(reinterpret_cast<void**>(ptr), (count ? count : 1) * sizeof(T), stream);
}

__device__ __forceinline__ float sp_load(const float* p) { return *p; }
__device__ __forceinline__ float sp_load(const __nv_bfloat16* p) { return __bfloat162float(*p); }
__device__ __forceinline__ void sp_store(float* p, float v) { *p = v; }
__device__ __forceinline__ void sp_store(__nv_bfloat16* p, float v) {
  *p = __float2bfloat16_rn(v);
}

// A float operand whose storage dtype (SP_F32 or SP_BF16) is known only at run time. The
// pointwise, normalisation and gather kernels take these instead of float*, so one kernel body
// serves every storage form, mixed ones included (bf16 activations saved by the forward beside
// f32 gradients in the backward): a compile-time type per operand would need 2^n instantiations
// of every kernel. The dtype is the same for the whole launch, so the test is a uniform branch,
// not divergence; the conversion itself is sp_load/sp_store above.
struct SpIn {
  const void* p;
  int bf16;
  __device__ __forceinline__ float operator[](int64_t i) const {
    return bf16 ? sp_load(static_cast<const __nv_bfloat16*>(p) + i)
                : sp_load(static_cast<const float*>(p) + i);
  }
  __host__ __device__ bool null() const { return p == nullptr; }
};

struct SpOut {
  void* p;
  int bf16;
  __device__ __forceinline__ float load(int64_t i) const { return in()[i]; }
  __device__ __forceinline__ void store(int64_t i, float v) const {
    if (bf16) sp_store(static_cast<__nv_bfloat16*>(p) + i, v);
    else sp_store(static_cast<float*>(p) + i, v);
  }
  __host__ __device__ bool null() const { return p == nullptr; }
  __host__ __device__ SpIn in() const { return SpIn{p, bf16}; }
};

inline SpIn sp_in(const float* p) { return SpIn{p, 0}; }
inline SpOut sp_out(float* p) { return SpOut{p, 0}; }

// Operands of the dtype-coded entry points: NULL passes (optional operands), any dtype other
// than SP_F32 / SP_BF16 is refused naming the exported function and the operand.
inline int sp_view_dtype(const char* fn, const char* name, int dtype) {
  if (dtype == SP_F32 || dtype == SP_BF16) return SP_OK;
  return sp_fail(SP_ERR_ARG, "%s: %s has dtype code %d (expected SP_F32 or SP_BF16)", fn, name, dtype);
}
#define SP_VIEW_IN(fn, ptr, dt)                                                 \
  SpIn ptr##_v{ptr, (dt) == SP_BF16};                                            \
  if (int sp_rc_ = sp_view_dtype(fn, #ptr, dt)) return sp_rc_
#define SP_VIEW_OUT(fn, ptr, dt)                                                \
  SpOut ptr##_v{ptr, (dt) == SP_BF16};                                           \
  if (int sp_rc_ = sp_view_dtype(fn, #ptr, dt)) return sp_rc_

__device__ __forceinline__ float sp_warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float sp_warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Block-wide sum/max, result returned to every thread. blockDim.x must be a multiple of 32;
// scratch holds 33 floats. Back-to-back calls may share scratch: a call only overwrites
// slots after a barrier that every reader of the previous call has passed.
__device__ __forceinline__ float sp_block_sum(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = sp_warp_sum(v);
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  if (warp == 0) {
    float t = (lane < static_cast<int>(blockDim.x >> 5)) ? scratch[lane] : 0.f;
    t = sp_warp_sum(t);
    if (lane == 0) scratch[32] = t;
  }
  __syncthreads();
  return scratch[32];
}

__device__ __forceinline__ float sp_block_max(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = sp_warp_max(v);
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  if (warp == 0) {
    float t = (lane < static_cast<int>(blockDim.x >> 5)) ? scratch[lane] : -INFINITY;
    t = sp_warp_max(t);
    if (lane == 0) scratch[32] = t;
  }
  __syncthreads();
  return scratch[32];
}
