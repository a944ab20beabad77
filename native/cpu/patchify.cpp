// Patch extraction for the ViT/CLIP patch embedding: a pure permutation of the image (patches do
// not overlap), so the embedding becomes one GEMM with the conv weight.
#include <cstring>

#include "internal.h"
#include "parallel.h"

namespace {

struct PatchGeometry {
  int channels, size, patch, grid;
  int64_t tokens() const { return 1 + static_cast<int64_t>(grid) * grid; }
  int64_t patch_dim() const { return static_cast<int64_t>(channels) * patch * patch; }
  int64_t image_elems() const { return static_cast<int64_t>(channels) * size * size; }
};

// Copies (or, when to_image, scatters back) the patch rows of one image, one kernel row (patch
// floats, contiguous on both sides) at a time.
void permute_image(const PatchGeometry& g, float* image, float* rows, bool to_image) {
  const int p = g.patch;
  for (int gy = 0; gy < g.grid; ++gy) {
    for (int gx = 0; gx < g.grid; ++gx) {
      float* row = rows + (1 + static_cast<int64_t>(gy) * g.grid + gx) * g.patch_dim();
      for (int c = 0; c < g.channels; ++c) {
        for (int ky = 0; ky < p; ++ky) {
          float* col = row + (static_cast<int64_t>(c) * p + ky) * p;
          float* pix = image + (static_cast<int64_t>(c) * g.size + gy * p + ky) * g.size + gx * p;
          if (to_image) {
            std::memcpy(pix, col, sizeof(float) * p);
          } else {
            std::memcpy(col, pix, sizeof(float) * p);
          }
        }
      }
    }
  }
}

// Copies every image of the batch into its patch rows (zeroing the class-token slot), or with
// to_images scatters the patch rows back into the images.
int permute_batch(float* images, float* patches, int batch, const PatchGeometry& g, bool to_images) {
  return sp::parallel_for(batch, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      float* rows = patches + b * g.tokens() * g.patch_dim();
      if (!to_images) std::memset(rows, 0, sizeof(float) * g.patch_dim());
      permute_image(g, images + b * g.image_elems(), rows, to_images);
    }
  });
}

}  // namespace

SP_EXPORT int sp_cpu_patchify(const float* images, float* patches, int batch, int channels,
                              int size, int patch) {
  if (int rc = sp_check_patch_geometry(__func__, images, patches, batch, channels, size, patch)) return rc;
  // The images are only read on this path.
  return permute_batch(const_cast<float*>(images), patches, batch,
                       PatchGeometry{channels, size, patch, size / patch}, false);
}

SP_EXPORT int sp_cpu_unpatchify(const float* patches, float* images, int batch, int channels,
                                int size, int patch) {
  if (int rc = sp_check_patch_geometry(__func__, patches, images, batch, channels, size, patch)) return rc;
  // The patches are only read on this path.
  return permute_batch(images, const_cast<float*>(patches), batch,
                       PatchGeometry{channels, size, patch, size / patch}, true);
}
