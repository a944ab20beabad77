// Mean cross-entropy over a window [lo, hi) of the classes (the others act as logit -inf:
// the class-incremental training masks past classes out this way).
#include <cmath>

#include "check.h"

namespace sp {
namespace {

bool labels_in_window(const int32_t* labels, int batch, int lo, int hi) {
  for (int b = 0; b < batch; ++b)
    if (labels[b] < lo || labels[b] >= hi) return false;
  return true;
}

// log sum_{c in [lo, hi)} exp(z_c), shifted by the window max.
double window_lse(const float* z, int lo, int hi) {
  float m = z[lo];
  for (int c = lo + 1; c < hi; ++c) m = z[c] > m ? z[c] : m;
  double sum = 0.0;
  for (int c = lo; c < hi; ++c) sum += std::exp(double(z[c]) - m);
  return double(m) + std::log(sum);
}

}  // namespace
}  // namespace sp

SP_EXPORT int sp_cpu_cross_entropy(const float* logits, const int32_t* labels, int batch,
                                   int classes, int lo, int hi, float* loss, float* dlogits) {
  SP_CHECK(logits != nullptr && labels != nullptr && loss != nullptr);
  SP_CHECK(batch >= 1 && classes >= 1);
  SP_CHECK(0 <= lo && lo < hi && hi <= classes);
  SP_CHECK(sp::labels_in_window(labels, batch, lo, hi));
  double total = 0.0;
  const double inv_batch = 1.0 / batch;
  for (int b = 0; b < batch; ++b) {
    const float* z = logits + int64_t(b) * classes;
    const double lse = sp::window_lse(z, lo, hi);
    total += lse - z[labels[b]];
    if (!dlogits) continue;
    float* g = dlogits + int64_t(b) * classes;
    for (int c = 0; c < classes; ++c) {
      if (c < lo || c >= hi) {
        g[c] = 0.0f;
        continue;
      }
      const double p = std::exp(double(z[c]) - lse);
      g[c] = float(((c == labels[b] ? p - 1.0 : p)) * inv_batch);
    }
  }
  *loss = float(total * inv_batch);
  return SP_OK;
}
