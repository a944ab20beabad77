// Row softmax over the last dim and its backward; one block per row.
#include "common.cuh"

namespace {

constexpr int kThreads = 128;

// y may alias x: every read of x for the row statistics happens before the barrier inside
// the second block reduction, and each element is then read and written by the same thread.
__global__ void softmax_fwd_kernel(const float* x, float* y, int64_t rows, int64_t cols) {
  __shared__ float red[33];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * cols;
    float m = -INFINITY;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) m = fmaxf(m, xr[c]);
    m = sp_block_max(m, red);
    // A row of all -inf has no finite maximum; shifting by 0 keeps exp() at 0 rather than
    // exp(-inf + inf) = NaN, so such a row yields 0/0 only in the final division.
    const float shift = (m == -INFINITY) ? 0.f : m;
    float s = 0.f;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) s += expf(xr[c] - shift);
    const float inv = 1.f / sp_block_sum(s, red);
    float* yr = y + r * cols;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) yr[c] = expf(xr[c] - shift) * inv;
  }
}

// dx = y * (dy - <dy, y>); dx may alias dy for the same reason as above.
__global__ void softmax_bwd_kernel(const float* y, const float* dy, float* dx, int64_t rows,
                                   int64_t cols) {
  __shared__ float red[33];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* yr = y + r * cols;
    const float* dyr = dy + r * cols;
    float s = 0.f;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) s = fmaf(yr[c], dyr[c], s);
    const float dot = sp_block_sum(s, red);
    float* dxr = dx + r * cols;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) dxr[c] = yr[c] * (dyr[c] - dot);
  }
}

unsigned row_grid(int64_t rows) { return static_cast<unsigned>(rows < 65535 * 8 ? rows : 65535 * 8); }

}  // namespace

SP_EXPORT int sp_cuda_softmax_fwd(const float* x, float* y, int64_t rows, int64_t cols,
                                  void* stream) {
  SP_CHECK(rows >= 0 && cols >= 0);
  if (rows == 0 || cols == 0) return SP_OK;
  SP_CHECK(x != nullptr && y != nullptr);
  softmax_fwd_kernel<<<row_grid(rows), kThreads, 0, sp_stream(stream)>>>(x, y, rows, cols);
  SP_LAUNCH_CHECK();
  return SP_OK;
}

SP_EXPORT int sp_cuda_softmax_bwd(const float* y, const float* dy, float* dx, int64_t rows,
                                  int64_t cols, void* stream) {
  SP_CHECK(rows >= 0 && cols >= 0);
  if (rows == 0 || cols == 0) return SP_OK;
  SP_CHECK(y != nullptr && dy != nullptr && dx != nullptr);
  softmax_bwd_kernel<<<row_grid(rows), kThreads, 0, sp_stream(stream)>>>(y, dy, dx, rows, cols);
  SP_LAUNCH_CHECK();
  return SP_OK;
}
