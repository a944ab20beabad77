// Mean cross-entropy over a class window [lo, hi). Per-row losses go to scratch and are
// summed by one block in a fixed order, so the loss is bit-identical from run to run.
#include "common.cuh"

namespace {

constexpr int kThreads = 128;

__global__ void cross_entropy_rows_kernel(const float* __restrict__ logits,
                                          const int32_t* __restrict__ labels, int classes,
                                          int lo, int hi, float inv_batch,
                                          float* __restrict__ row_loss,
                                          float* __restrict__ dlogits) {
  __shared__ float red[33];
  const int b = blockIdx.x;
  const float* z = logits + static_cast<int64_t>(b) * classes;
  float m = -INFINITY;
  for (int c = lo + threadIdx.x; c < hi; c += blockDim.x) m = fmaxf(m, z[c]);
  m = sp_block_max(m, red);
  float s = 0.f;
  for (int c = lo + threadIdx.x; c < hi; c += blockDim.x) s += expf(z[c] - m);
  s = sp_block_sum(s, red);
  const int label = labels[b];
  const bool label_ok = label >= lo && label < hi;
  if (threadIdx.x == 0) row_loss[b] = label_ok ? (m + logf(s)) - z[label] : NAN;
  if (dlogits == nullptr) return;
  float* g = dlogits + static_cast<int64_t>(b) * classes;
  const float inv_s = 1.f / s;
  for (int c = threadIdx.x; c < classes; c += blockDim.x) {
    float v = 0.f;
    if (c >= lo && c < hi) v = (expf(z[c] - m) * inv_s - (c == label ? 1.f : 0.f)) * inv_batch;
    g[c] = v;
  }
}

__global__ void mean_kernel(const float* __restrict__ x, int n, float* __restrict__ out) {
  __shared__ float red[33];
  float s = 0.f;
  for (int i = threadIdx.x; i < n; i += blockDim.x) s += x[i];
  s = sp_block_sum(s, red);
  if (threadIdx.x == 0) *out = s / static_cast<float>(n);
}

}  // namespace

SP_EXPORT int sp_cuda_cross_entropy(const float* logits, const int32_t* labels, int batch,
                                    int classes, int lo, int hi, float* loss, float* dlogits,
                                    void* stream) {
  SP_CHECK(batch > 0 && classes > 0);
  SP_CHECK(lo >= 0 && lo < hi && hi <= classes);
  SP_CHECK(logits != nullptr && labels != nullptr && loss != nullptr);
  cudaStream_t s = sp_stream(stream);
  float* row_loss = nullptr;
  SP_CUDA_TRY(sp_scratch_alloc(&row_loss, batch, s));
  cross_entropy_rows_kernel<<<batch, kThreads, 0, s>>>(logits, labels, classes, lo, hi,
                                                       1.f / static_cast<float>(batch),
                                                       row_loss, dlogits);
  mean_kernel<<<1, 256, 0, s>>>(row_loss, batch, loss);
  cudaError_t launch = cudaGetLastError();
  cudaError_t freed = cudaFreeAsync(row_loss, s);
  if (launch != cudaSuccess) return sp_cuda_error(__func__, launch);
  SP_CUDA_TRY(freed);
  return SP_OK;
}
