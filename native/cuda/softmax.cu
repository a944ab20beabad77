// Row softmax over the last dim and its backward; one block per row. f32 or bf16 storage
// through SpIn/SpOut (common.cuh), f32 math.
#include "common.cuh"

namespace {

constexpr int kThreads = 128;

// y may alias x: every read of x for the row statistics happens before the barrier inside
// the second block reduction, and each element is then read and written by the same thread.
__global__ void softmax_fwd_kernel(SpIn x, SpOut y, int64_t rows, int64_t cols) {
  __shared__ float red[33];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t row = r * cols;
    float m = -INFINITY;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) m = fmaxf(m, x[row + c]);
    m = sp_block_max(m, red);
    // A row of all -inf has no finite maximum; shifting by 0 keeps exp() at 0 rather than
    // exp(-inf + inf) = NaN, so such a row yields 0/0 only in the final division.
    const float shift = (m == -INFINITY) ? 0.f : m;
    float s = 0.f;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) s += expf(x[row + c] - shift);
    const float inv = 1.f / sp_block_sum(s, red);
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x)
      y.store(row + c, expf(x[row + c] - shift) * inv);
  }
}

// dx = y * (dy - <dy, y>); dx may alias dy for the same reason as above.
__global__ void softmax_bwd_kernel(SpIn y, SpIn dy, SpOut dx, int64_t rows, int64_t cols) {
  __shared__ float red[33];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t row = r * cols;
    float s = 0.f;
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) s = fmaf(y[row + c], dy[row + c], s);
    const float dot = sp_block_sum(s, red);
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x)
      dx.store(row + c, y[row + c] * (dy[row + c] - dot));
  }
}

unsigned row_grid(int64_t rows) { return static_cast<unsigned>(rows < 65535 * 8 ? rows : 65535 * 8); }

int launch_fwd(const char* fn, SpIn x, SpOut y, int64_t rows, int64_t cols, void* stream) {
  SP_CHECK_FN(fn, rows >= 0 && cols >= 0);
  if (rows == 0 || cols == 0) return SP_OK;
  SP_CHECK_FN(fn, !x.null() && !y.null());
  softmax_fwd_kernel<<<row_grid(rows), kThreads, 0, sp_stream(stream)>>>(x, y, rows, cols);
  SP_LAUNCH_CHECK_FN(fn);
  return SP_OK;
}

int launch_bwd(const char* fn, SpIn y, SpIn dy, SpOut dx, int64_t rows, int64_t cols,
               void* stream) {
  SP_CHECK_FN(fn, rows >= 0 && cols >= 0);
  if (rows == 0 || cols == 0) return SP_OK;
  SP_CHECK_FN(fn, !y.null() && !dy.null() && !dx.null());
  softmax_bwd_kernel<<<row_grid(rows), kThreads, 0, sp_stream(stream)>>>(y, dy, dx, rows, cols);
  SP_LAUNCH_CHECK_FN(fn);
  return SP_OK;
}

}  // namespace

SP_EXPORT int sp_cuda_softmax_fwd(const float* x, float* y, int64_t rows, int64_t cols,
                                  void* stream) {
  return launch_fwd(__func__, sp_in(x), sp_out(y), rows, cols, stream);
}

SP_EXPORT int sp_cuda_softmax_bwd(const float* y, const float* dy, float* dx, int64_t rows,
                                  int64_t cols, void* stream) {
  return launch_bwd(__func__, sp_in(y), sp_in(dy), sp_out(dx), rows, cols, stream);
}

SP_EXPORT int sp_cuda_softmax_fwd_dt(const void* x, int x_dtype, void* y, int y_dtype,
                                     int64_t rows, int64_t cols, void* stream) {
  SP_VIEW_IN(__func__, x, x_dtype);
  SP_VIEW_OUT(__func__, y, y_dtype);
  return launch_fwd(__func__, x_v, y_v, rows, cols, stream);
}

SP_EXPORT int sp_cuda_softmax_bwd_dt(const void* y, int y_dtype, const void* dy, int dy_dtype,
                                     void* dx, int dx_dtype, int64_t rows, int64_t cols,
                                     void* stream) {
  SP_VIEW_IN(__func__, y, y_dtype);
  SP_VIEW_IN(__func__, dy, dy_dtype);
  SP_VIEW_OUT(__func__, dx, dx_dtype);
  return launch_bwd(__func__, y_v, dy_v, dx_v, rows, cols, stream);
}
