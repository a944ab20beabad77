// The CPU component weighting's argument checks (a bad call returns SP_ERR_ARG and writes
// nothing) and its gradient against central differences of the forward in the C API alone;
// values against the float64 Java reference are checked by the op-parity tests.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "starprompt.h"

namespace {

using Vec = std::vector<float>;
int g_passed = 0, g_failed = 0;

void report(bool ok, const std::string& name) {
  (ok ? g_passed : g_failed)++;
  std::printf("%s %s\n", ok ? "PASS" : "FAIL", name.c_str());
}

Vec random_vec(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  Vec v(n);
  for (float& x : v) x = u(rng);
  return v;
}

// Sizes: batch 3, 5 components (4 used, 2..4 trained), width 6, rows of 8, 2 layers.
constexpr int kB = 3, kM = 5, kUsed = 4, kFrom = 2, kD = 6, kR = 8, kL = 2;

struct Inputs {
  Vec q, keys, attn, comps;
};

Inputs make_inputs() {
  std::mt19937 rng(7);
  return {random_vec(kB * kD, rng), random_vec(kL * kM * kD, rng), random_vec(kL * kM * kD, rng),
          random_vec(kL * kM * kR, rng)};
}

// <w, out> for the forward's out: the scalar whose gradient the backward gives with dout = w.
double weighted_out(const Inputs& in, const Vec& w) {
  Vec alpha(kL * kB * kUsed), out(kL * kB * kR);
  sp_cpu_component_weighting_fwd(in.q.data(), in.keys.data(), in.attn.data(), in.comps.data(), kB,
                                 kM, kUsed, kD, kR, kL, alpha.data(), out.data());
  double s = 0.0;
  for (size_t i = 0; i < out.size(); ++i) s += double(w[i]) * out[i];
  return s;
}

void test_rejects_bad_arguments() {
  Inputs in = make_inputs();
  Vec alpha(kL * kB * kM, 9.f), out(kL * kB * kR, 9.f);
  int rc = sp_cpu_component_weighting_fwd(in.q.data(), in.keys.data(), in.attn.data(),
                                          in.comps.data(), kB, kM, kM + 1, kD, kR, kL,
                                          alpha.data(), out.data());
  report(rc == SP_ERR_ARG && out[0] == 9.f && std::strlen(sp_last_error()) > 0,
         "component_weighting rejects used > components, writes nothing");
  rc = sp_cpu_component_weighting_fwd(in.q.data(), in.keys.data(), in.attn.data(), in.comps.data(),
                                      kB, kM, 0, kD, kR, kL, alpha.data(), out.data());
  report(rc == SP_ERR_ARG, "component_weighting rejects used = 0");
  rc = sp_cpu_component_weighting_fwd(in.q.data(), in.keys.data(), in.attn.data(), in.comps.data(),
                                      kB, kM, kUsed, kD, kR, kL, nullptr, out.data());
  report(rc == SP_ERR_ARG && out[0] == 9.f, "component_weighting rejects a missing alpha");
  Vec dk(kL * kM * kD, 9.f), da(kL * kM * kD, 9.f), dp(kL * kM * kR, 9.f), dout(kL * kB * kR);
  rc = sp_cpu_component_weighting_bwd(in.q.data(), in.keys.data(), in.attn.data(), in.comps.data(),
                                      dout.data(), kB, kM, kUsed, kUsed + 1, kD, kR, kL, dk.data(),
                                      da.data(), dp.data());
  report(rc == SP_ERR_ARG && dk[0] == 9.f, "component_weighting_bwd rejects from > used");
  rc = sp_cpu_component_weighting_bwd(in.q.data(), in.keys.data(), in.attn.data(), in.comps.data(),
                                      nullptr, kB, kM, kUsed, kFrom, kD, kR, kL, dk.data(),
                                      da.data(), dp.data());
  report(rc == SP_ERR_ARG && dk[0] == 9.f, "component_weighting_bwd rejects a missing dout");
}

// Central differences of <w, out> in every trained entry; untrained entries must be exactly 0.
void check_gradient(const char* name, Vec& param, const Vec& grad, int width, const Inputs& in,
                    const Vec& w) {
  int bad = 0;
  for (size_t i = 0; i < param.size(); ++i) {
    const int k = int(i / width) % kM;
    if (k < kFrom || k >= kUsed) {
      if (grad[i] != 0.f) ++bad;
      continue;
    }
    const float keep = param[i], h = 1e-2f;
    param[i] = keep + h;
    const double up = weighted_out(in, w);
    param[i] = keep - h;
    const double down = weighted_out(in, w);
    param[i] = keep;
    const double fd = (up - down) / (2.0 * h);
    if (std::fabs(fd - grad[i]) > 2e-3 + 2e-2 * std::fabs(fd)) ++bad;
  }
  report(bad == 0, std::string("component_weighting_bwd ") + name + " (central differences)");
}

void test_gradient() {
  Inputs in = make_inputs();
  std::mt19937 rng(11);
  Vec w = random_vec(kL * kB * kR, rng);
  Vec dk(kL * kM * kD), da(kL * kM * kD), dp(kL * kM * kR);
  int rc = sp_cpu_component_weighting_bwd(in.q.data(), in.keys.data(), in.attn.data(),
                                          in.comps.data(), w.data(), kB, kM, kUsed, kFrom, kD, kR,
                                          kL, dk.data(), da.data(), dp.data());
  report(rc == SP_OK, "component_weighting_bwd runs");
  check_gradient("dkeys", in.keys, dk, kD, in, w);
  check_gradient("dattn", in.attn, da, kD, in, w);
  check_gradient("dcomps", in.comps, dp, kR, in, w);
}

}  // namespace

int main() {
  test_rejects_bad_arguments();
  test_gradient();
  std::printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
