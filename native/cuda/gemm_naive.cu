// Plain shared-memory tiled SGEMM with transposes and batch strides (0 broadcasts an
// operand). A reference and fallback, not a cuBLAS competitor.
#include "common.cuh"

namespace {

constexpr int kTile = 32;
constexpr int kRowsPerPass = 8;  // block is kTile x kRowsPerPass threads, 4 outputs each

// Tiles are read along the operand's contiguous dimension whatever the transpose, so global
// loads stay coalesced; the +1 pad keeps the transposed smem stores conflict-free.
__device__ __forceinline__ void load_a_tile(float (*tile)[kTile + 1], const float* a, bool trans,
                                            int m, int k, int row0, int k0) {
  const int tx = threadIdx.x, ty = threadIdx.y;
  for (int r = ty; r < kTile; r += kRowsPerPass) {
    if (!trans) {  // A[i][kk] = a[i*k + kk]
      const int i = row0 + r, kk = k0 + tx;
      tile[r][tx] = (i < m && kk < k) ? a[static_cast<int64_t>(i) * k + kk] : 0.f;
    } else {  // A[i][kk] = a[kk*m + i]
      const int i = row0 + tx, kk = k0 + r;
      tile[tx][r] = (i < m && kk < k) ? a[static_cast<int64_t>(kk) * m + i] : 0.f;
    }
  }
}

__device__ __forceinline__ void load_b_tile(float (*tile)[kTile + 1], const float* b, bool trans,
                                            int n, int k, int col0, int k0) {
  const int tx = threadIdx.x, ty = threadIdx.y;
  for (int r = ty; r < kTile; r += kRowsPerPass) {
    if (!trans) {  // B[kk][j] = b[kk*n + j]
      const int kk = k0 + r, j = col0 + tx;
      tile[r][tx] = (kk < k && j < n) ? b[static_cast<int64_t>(kk) * n + j] : 0.f;
    } else {  // B[kk][j] = b[j*k + kk]
      const int kk = k0 + tx, j = col0 + r;
      tile[tx][r] = (kk < k && j < n) ? b[static_cast<int64_t>(j) * k + kk] : 0.f;
    }
  }
}

__global__ void gemm_kernel(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                            const float* __restrict__ a, int64_t stride_a,
                            const float* __restrict__ b, int64_t stride_b, float beta,
                            float* __restrict__ c, int64_t stride_c, int batch) {
  __shared__ float as[kTile][kTile + 1];
  __shared__ float bs[kTile][kTile + 1];
  const int row0 = blockIdx.y * kTile, col0 = blockIdx.x * kTile;
  const int tx = threadIdx.x, ty = threadIdx.y;
  for (int z = blockIdx.z; z < batch; z += gridDim.z) {
    const float* az = a + z * stride_a;
    const float* bz = b + z * stride_b;
    float acc[kTile / kRowsPerPass] = {};
    for (int k0 = 0; k0 < k; k0 += kTile) {
      load_a_tile(as, az, trans_a, m, k, row0, k0);
      load_b_tile(bs, bz, trans_b, n, k, col0, k0);
      __syncthreads();
#pragma unroll 8
      for (int kk = 0; kk < kTile; ++kk) {
        const float bv = bs[kk][tx];
#pragma unroll
        for (int i = 0; i < kTile / kRowsPerPass; ++i)
          acc[i] = fmaf(as[ty + i * kRowsPerPass][kk], bv, acc[i]);
      }
      __syncthreads();
    }
    float* cz = c + z * stride_c;
    const int j = col0 + tx;
#pragma unroll
    for (int i = 0; i < kTile / kRowsPerPass; ++i) {
      const int r = row0 + ty + i * kRowsPerPass;
      if (r < m && j < n) {
        float* dst = cz + static_cast<int64_t>(r) * n + j;
        // beta == 0 must not read C (it may hold garbage or NaN), as in BLAS.
        *dst = (beta == 0.f) ? alpha * acc[i] : fmaf(alpha, acc[i], beta * *dst);
      }
    }
  }
}

}  // namespace

SP_EXPORT int sp_cuda_gemm_naive(int trans_a, int trans_b, int m, int n, int k, float alpha,
                                 const float* a, int64_t stride_a, const float* b,
                                 int64_t stride_b, float beta, float* c, int64_t stride_c,
                                 int batch, void* stream) {
  SP_CHECK(m >= 0 && n >= 0 && k >= 0 && batch >= 0);
  SP_CHECK(stride_a >= 0 && stride_b >= 0 && stride_c >= 0);
  if (m == 0 || n == 0 || batch == 0) return SP_OK;
  SP_CHECK(c != nullptr);
  SP_CHECK(k == 0 || (a != nullptr && b != nullptr));
  const dim3 grid((n + kTile - 1) / kTile, (m + kTile - 1) / kTile,
                  static_cast<unsigned>(batch < 65535 ? batch : 65535));
  SP_CHECK(grid.y <= 65535);
  gemm_kernel<<<grid, dim3(kTile, kRowsPerPass), 0, sp_stream(stream)>>>(
      trans_a != 0, trans_b != 0, m, n, k, alpha, a, stride_a, b, stride_b, beta, c, stride_c,
      batch);
  SP_LAUNCH_CHECK();
  return SP_OK;
}
