// Patch extraction for the patch embedding (see sp_cpu_patchify), f32 or bf16 storage: one
// thread per patch-row element, so both the image reads (kx fastest) and the patch writes are
// coalesced.
#include "common.cuh"

namespace {

struct PatchGeometry {
  int channels, size, patch, grid;
  __host__ __device__ int64_t tokens() const { return 1 + static_cast<int64_t>(grid) * grid; }
  __host__ __device__ int64_t patch_dim() const {
    return static_cast<int64_t>(channels) * patch * patch;
  }
};

// Index in the image of element `col` of patch row `row` (row >= 1) of image b.
__device__ int64_t pixel_index(const PatchGeometry& g, int64_t b, int64_t row, int64_t col) {
  const int64_t cell = row - 1, gy = cell / g.grid, gx = cell % g.grid;
  const int64_t c = col / (g.patch * g.patch), ky = (col / g.patch) % g.patch, kx = col % g.patch;
  return ((b * g.channels + c) * g.size + gy * g.patch + ky) * g.size + gx * g.patch + kx;
}

__global__ void patchify_kernel(SpIn images, SpOut patches, PatchGeometry g, int64_t total) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t col = i % g.patch_dim(), row = (i / g.patch_dim()) % g.tokens();
    const int64_t b = i / (g.patch_dim() * g.tokens());
    patches.store(i, row == 0 ? 0.f : images[pixel_index(g, b, row, col)]);
  }
}

__global__ void unpatchify_kernel(SpIn patches, SpOut images, PatchGeometry g, int64_t total) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t col = i % g.patch_dim(), row = (i / g.patch_dim()) % g.tokens();
    const int64_t b = i / (g.patch_dim() * g.tokens());
    if (row != 0) images.store(pixel_index(g, b, row, col), patches[i]);
  }
}

// The two directions share their checks and geometry; `forward` picks the kernel.
int launch(const char* fn, bool forward, SpIn src, SpOut dst, int batch, int channels, int size,
           int patch, void* stream) {
  if (int rc = sp_check_patch_geometry(fn, src.p, dst.p, batch, channels, size, patch)) return rc;
  const PatchGeometry g{channels, size, patch, size / patch};
  const int64_t total = batch * g.tokens() * g.patch_dim();
  if (total == 0) return SP_OK;
  if (forward)
    patchify_kernel<<<sp_grid_for(total, 256), 256, 0, sp_stream(stream)>>>(src, dst, g, total);
  else
    unpatchify_kernel<<<sp_grid_for(total, 256), 256, 0, sp_stream(stream)>>>(src, dst, g, total);
  SP_LAUNCH_CHECK_FN(fn);
  return SP_OK;
}

}  // namespace

SP_EXPORT int sp_cuda_patchify(const float* images, float* patches, int batch, int channels,
                               int size, int patch, void* stream) {
  return launch(__func__, true, sp_in(images), sp_out(patches), batch, channels, size, patch,
                stream);
}

SP_EXPORT int sp_cuda_unpatchify(const float* patches, float* images, int batch, int channels,
                                 int size, int patch, void* stream) {
  return launch(__func__, false, sp_in(patches), sp_out(images), batch, channels, size, patch,
                stream);
}

SP_EXPORT int sp_cuda_patchify_dt(const void* images, int images_dtype, void* patches,
                                  int patches_dtype, int batch, int channels, int size, int patch,
                                  void* stream) {
  SP_VIEW_IN(__func__, images, images_dtype);
  SP_VIEW_OUT(__func__, patches, patches_dtype);
  return launch(__func__, true, images_v, patches_v, batch, channels, size, patch, stream);
}

SP_EXPORT int sp_cuda_unpatchify_dt(const void* patches, int patches_dtype, void* images,
                                    int images_dtype, int batch, int channels, int size,
                                    int patch, void* stream) {
  SP_VIEW_IN(__func__, patches, patches_dtype);
  SP_VIEW_OUT(__func__, images, images_dtype);
  return launch(__func__, false, patches_v, images_v, batch, channels, size, patch, stream);
}
