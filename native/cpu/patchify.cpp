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

int check_geometry(const char* fn, const void* a, const void* b, int batch, int channels, int size,
                   int patch) {
  if (a == nullptr || b == nullptr || batch < 0 || channels <= 0 || patch <= 0 || size <= 0 ||
      size % patch != 0) {
    return sp_fail(SP_ERR_ARG, "%s: bad geometry batch=%d channels=%d size=%d patch=%d", fn, batch,
                   channels, size, patch);
  }
  return SP_OK;
}

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

}  // namespace

SP_EXPORT int sp_cpu_patchify(const float* images, float* patches, int batch, int channels,
                              int size, int patch) {
  if (int rc = check_geometry(__func__, images, patches, batch, channels, size, patch)) return rc;
  const PatchGeometry g{channels, size, patch, size / patch};
  return sp::parallel_for(batch, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      float* rows = patches + b * g.tokens() * g.patch_dim();
      std::memset(rows, 0, sizeof(float) * g.patch_dim());  // the class-token slot
      permute_image(g, const_cast<float*>(images) + b * g.image_elems(), rows, false);
    }
  });
}

SP_EXPORT int sp_cpu_unpatchify(const float* patches, float* images, int batch, int channels,
                                int size, int patch) {
  if (int rc = check_geometry(__func__, patches, images, batch, channels, size, patch)) return rc;
  const PatchGeometry g{channels, size, patch, size / patch};
  return sp::parallel_for(batch, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      permute_image(g, images + b * g.image_elems(),
                    const_cast<float*>(patches) + b * g.tokens() * g.patch_dim(), true);
    }
  });
}
