// Device parity of the component weighting: sp_cuda_component_weighting_* against the
// sp_cpu_* functions of the same name on random inputs, including a zero query and a zero
// trained key (norms at the floor). Outputs on the device are poisoned with NaN first, so an
// unwritten element fails. Exits 77 (ctest "skipped") without a device.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "starprompt.h"

namespace {

using Vec = std::vector<float>;
int g_passed = 0, g_failed = 0;

struct Case {
  int batch, components, used, from, d, row, layers;
  bool zero_norms;
};

Vec random_vec(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  Vec v(n);
  for (float& x : v) x = u(rng);
  return v;
}

float* upload(const Vec& v) {
  float* p = nullptr;
  cudaMalloc(&p, (v.empty() ? 1 : v.size()) * sizeof(float));
  cudaMemcpy(p, v.data(), v.size() * sizeof(float), cudaMemcpyHostToDevice);
  return p;
}

float* poisoned(size_t n) { return upload(Vec(n, NAN)); }

Vec download(const float* p, size_t n) {
  Vec v(n);
  cudaMemcpy(v.data(), p, n * sizeof(float), cudaMemcpyDeviceToHost);
  return v;
}

void compare(const std::string& name, const Vec& cpu, const Vec& gpu) {
  size_t bad = cpu.size();
  for (size_t i = 0; i < cpu.size(); ++i) {
    const float tol = 1e-4f + 1e-3f * std::fabs(cpu[i]);
    if (!(std::fabs(cpu[i] - gpu[i]) <= tol)) {
      bad = i;
      break;
    }
  }
  const bool ok = bad == cpu.size();
  (ok ? g_passed : g_failed)++;
  if (ok) {
    std::printf("PASS %s\n", name.c_str());
  } else {
    std::printf("FAIL %s [%zu]: cpu %g, cuda %g\n", name.c_str(), bad, cpu[bad], gpu[bad]);
  }
}

void run(const Case& c) {
  std::mt19937 rng(c.batch * 131 + c.used);
  const size_t nq = size_t(c.batch) * c.d, nv = size_t(c.layers) * c.components * c.d;
  const size_t np = size_t(c.layers) * c.components * c.row, na = size_t(c.layers) * c.batch * c.used;
  const size_t no = size_t(c.layers) * c.batch * c.row;
  Vec q = random_vec(nq, rng), keys = random_vec(nv, rng), attn = random_vec(nv, rng);
  Vec comps = random_vec(np, rng), dout = random_vec(no, rng);
  if (c.zero_norms) {
    for (int j = 0; j < c.d; ++j) q[j] = 0.f, keys[size_t(c.from) * c.d + j] = 0.f;
  }
  Vec alpha(na), out(no), dk(nv), da(nv), dp(np);
  sp_cpu_component_weighting_fwd(q.data(), keys.data(), attn.data(), comps.data(), c.batch,
                                 c.components, c.used, c.d, c.row, c.layers, alpha.data(),
                                 out.data());
  sp_cpu_component_weighting_bwd(q.data(), keys.data(), attn.data(), comps.data(), dout.data(),
                                 c.batch, c.components, c.used, c.from, c.d, c.row, c.layers,
                                 dk.data(), da.data(), dp.data());
  float *gq = upload(q), *gk = upload(keys), *ga = upload(attn), *gp = upload(comps);
  float *gdout = upload(dout), *galpha = poisoned(na), *gout = poisoned(no);
  float *gdk = poisoned(nv), *gda = poisoned(nv), *gdp = poisoned(np);
  const int rf = sp_cuda_component_weighting_fwd(gq, gk, ga, gp, c.batch, c.components, c.used,
                                                 c.d, c.row, c.layers, galpha, gout, nullptr);
  const int rb = sp_cuda_component_weighting_bwd(gq, gk, ga, gp, gdout, c.batch, c.components,
                                                 c.used, c.from, c.d, c.row, c.layers, gdk, gda,
                                                 gdp, nullptr);
  cudaDeviceSynchronize();
  char tag[160];
  std::snprintf(tag, sizeof tag, "component_weighting[B=%d M=%d used=%d from=%d D=%d R=%d L=%d%s]",
                c.batch, c.components, c.used, c.from, c.d, c.row, c.layers,
                c.zero_norms ? " zero norms" : "");
  const std::string name(tag);
  if (rf != SP_OK || rb != SP_OK) {
    g_failed++;
    std::printf("FAIL %s: %s\n", name.c_str(), sp_last_error());
  } else {
    compare(name + " alpha", alpha, download(galpha, na));
    compare(name + " out", out, download(gout, no));
    compare(name + " dkeys", dk, download(gdk, nv));
    compare(name + " dattn", da, download(gda, nv));
    compare(name + " dcomps", dp, download(gdp, np));
  }
  for (float* p : {gq, gk, ga, gp, gdout, galpha, gout, gdk, gda, gdp}) cudaFree(p);
}

}  // namespace

int main() {
  if (sp_cuda_device_count() == 0) {
    std::printf("no CUDA device: skipped\n");
    return 77;
  }
  const Case cases[] = {
      {5, 6, 4, 2, 16, 24, 3, false}, {1, 1, 1, 0, 8, 8, 1, false},
      {7, 12, 9, 9, 24, 48, 2, false}, {4, 6, 6, 3, 16, 24, 2, true},
      {128, 100, 30, 20, 768, 6144, 5, false},
  };
  for (const Case& c : cases) run(c);
  std::printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
