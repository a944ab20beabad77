// Device timings of the fused kernels at the reference sizes (ALGORITHM.md §10): attention at
// B=128, H=12, N=197, hd=64 (flash f32/bf16 with 8 prefix keys and with a residual; naive f32
// for comparison) and key-query retrieval for 12 layers at C=200, d=dp=768 (fused vs naive,
// reported per layer). CUDA events, 3 warm-up runs, median of 20. Prints a markdown table;
// exits 77 without a device.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "starprompt.h"

namespace {

void* g_stream = nullptr;

void must(int rc, const char* what) {
  if (rc == SP_OK) return;
  std::printf("%s failed (%d): %s\n", what, rc, sp_last_error());
  std::exit(1);
}

// Device buffer filled with uniform random f32 values, optionally converted to bf16 on device.
struct Buf {
  void* ptr = nullptr;
  Buf(size_t n, int dtype, float lo, float hi, std::mt19937& rng) {
    if (n == 0) return;
    std::vector<float> host(n);
    std::uniform_real_distribution<float> u(lo, hi);
    for (auto& x : host) x = u(rng);
    void* f32 = nullptr;
    must(sp_cuda_malloc(n * sizeof(float), &f32), "malloc");
    must(sp_cuda_memcpy_h2d(f32, host.data(), n * sizeof(float), g_stream), "h2d");
    if (dtype == SP_F32) {
      ptr = f32;
    } else {
      must(sp_cuda_malloc(n * 2, &ptr), "malloc");
      must(sp_cuda_convert(f32, SP_F32, ptr, SP_BF16, static_cast<int64_t>(n), g_stream), "convert");
      must(sp_cuda_stream_synchronize(g_stream), "sync");
      sp_cuda_free(f32);
    }
  }
  Buf(const Buf&) = delete;
  Buf& operator=(const Buf&) = delete;
  ~Buf() { sp_cuda_free(ptr); }
  template <typename T = void>
  T* get() const { return static_cast<T*>(ptr); }
};

// Median over 20 timed runs after 3 warm-ups, in milliseconds.
float median_ms(const std::function<int()>& run, const char* what) {
  void *start = nullptr, *stop = nullptr;
  must(sp_cuda_event_create(&start), "event");
  must(sp_cuda_event_create(&stop), "event");
  for (int i = 0; i < 3; ++i) must(run(), what);
  must(sp_cuda_stream_synchronize(g_stream), what);
  std::vector<float> times;
  for (int i = 0; i < 20; ++i) {
    must(sp_cuda_event_record(start, g_stream), "record");
    must(run(), what);
    must(sp_cuda_event_record(stop, g_stream), "record");
    float ms = 0.f;
    must(sp_cuda_event_elapsed_ms(start, stop, &ms), "elapsed");
    times.push_back(ms);
  }
  sp_cuda_event_destroy(start);
  sp_cuda_event_destroy(stop);
  std::sort(times.begin(), times.end());
  return 0.5f * (times[9] + times[10]);
}

void row(const std::string& work, const char* dtype, float ms, double flops) {
  if (flops > 0)
    std::printf("| %s | %s | %.3f | %.1f |\n", work.c_str(), dtype, ms, flops / (ms * 1e-3) / 1e12);
  else
    std::printf("| %s | %s | %.3f | - |\n", work.c_str(), dtype, ms);
}

enum class Variant { kFlash, kNaive };

void bench_attention(Variant variant, int dtype, int lp, bool residual, bool with_bwd) {
  const int B = 128, H = 12, N = 197, hd = 64;
  const int64_t D = int64_t(H) * hd;
  const float scale = 1.f / std::sqrt(float(hd));
  std::mt19937 rng(7);
  const size_t seq = size_t(B) * N * D, pre = size_t(B) * lp * D;
  Buf q(seq, dtype, -1.5f, 1.5f, rng), k(seq, dtype, -1.5f, 1.5f, rng), v(seq, dtype, -1, 1, rng);
  Buf pk(pre, dtype, -1.5f, 1.5f, rng), pv(pre, dtype, -1, 1, rng);
  Buf r(residual ? size_t(B) * D : 0, dtype, -1, 1, rng);
  Buf out(seq, dtype, 0, 0, rng), lse(size_t(B) * H * N, SP_F32, 0, 0, rng);
  Buf dout(seq, dtype, -1, 1, rng), dq(seq, dtype, 0, 0, rng), dk(seq, dtype, 0, 0, rng),
      dv(seq, dtype, 0, 0, rng), dpk(pre, dtype, 0, 0, rng), dpv(pre, dtype, 0, 0, rng),
      dr(residual ? size_t(B) * D : 0, dtype, 0, 0, rng);
  const auto fwd = variant == Variant::kFlash ? sp_cuda_attention_fwd_flash : sp_cuda_attention_fwd_naive;
  const auto bwd = variant == Variant::kFlash ? sp_cuda_attention_bwd_flash : sp_cuda_attention_bwd_naive;
  auto run_fwd = [&] {
    return fwd(dtype, q.get(), k.get(), v.get(), pk.get(), pv.get(), r.get(), out.get(),
               lse.get<float>(), B, N, N, lp, H, hd, scale, 0, g_stream);
  };
  auto run_both = [&] {
    int rc = run_fwd();
    if (rc != SP_OK) return rc;
    return bwd(dtype, q.get(), k.get(), v.get(), pk.get(), pv.get(), r.get(), out.get(),
               lse.get<float>(), dout.get(), dq.get(), dk.get(), dv.get(), pk.get() ? dpk.get() : nullptr,
               pv.get() ? dpv.get() : nullptr, dr.get(), B, N, N, lp, H, hd, scale, 0, g_stream);
  };
  const double fwd_flops = 4.0 * B * N * double(N + lp) * D;
  const std::string what = std::string("attention ") +
                           (variant == Variant::kFlash ? "flash" : "naive") +
                           (lp ? " prefix Lp=" + std::to_string(lp) : std::string()) +
                           (residual ? " residual" : "") + (with_bwd ? " fwd+bwd" : " fwd");
  const char* dt = dtype == SP_F32 ? "f32" : "bf16";
  if (with_bwd) row(what, dt, median_ms(run_both, what.c_str()), 3.5 * fwd_flops);
  else row(what, dt, median_ms(run_fwd, what.c_str()), fwd_flops);
}

void bench_retrieval(bool fused) {
  const int B = 128, C = 200, d = 768, dp = 768, layers = 12, past = 100;
  std::mt19937 rng(11);
  Buf q(size_t(B) * d, SP_F32, -1, 1, rng), keys(size_t(C) * d, SP_F32, -0.036f, 0.036f, rng);
  Buf a(size_t(layers) * C * d, SP_F32, -0.04f, 0.04f, rng), p(size_t(layers) * C * dp, SP_F32, -1, 1, rng);
  Buf sims(size_t(layers) * B * C, SP_F32, 0, 0, rng), sp(size_t(layers) * B * dp, SP_F32, 0, 0, rng);
  Buf sel(size_t(layers) * B, SP_F32, 0, 0, rng);  // int32 payload, same size as f32
  Buf dsp(size_t(layers) * B * dp, SP_F32, -1, 1, rng);
  Buf da(size_t(layers) * C * d, SP_F32, 0, 0, rng), dpg(size_t(layers) * C * dp, SP_F32, 0, 0, rng);
  const auto fwd = fused ? sp_cuda_retrieval_fwd_fused : sp_cuda_retrieval_fwd_naive;
  const auto bwd = fused ? sp_cuda_retrieval_bwd_fused : sp_cuda_retrieval_bwd_naive;
  auto run_fwd = [&] {
    return fwd(q.get<float>(), keys.get<float>(), a.get<float>(), p.get<float>(), B, C, C, d, dp,
               layers, 1, sims.get<float>(), sel.get<int32_t>(), sp.get<float>(), g_stream);
  };
  auto run_both = [&] {
    int rc = run_fwd();
    if (rc != SP_OK) return rc;
    return bwd(q.get<float>(), keys.get<float>(), a.get<float>(), p.get<float>(), sims.get<float>(),
               sel.get<int32_t>(), dsp.get<float>(), B, C, C, past, d, dp, layers, 1,
               da.get<float>(), dpg.get<float>(), g_stream);
  };
  const std::string name = std::string("retrieval ") + (fused ? "fused" : "naive") + ", per layer (12 batched)";
  row(name + " fwd", "f32", median_ms(run_fwd, name.c_str()) / layers, 0);
  row(name + " fwd+bwd", "f32", median_ms(run_both, name.c_str()) / layers, 0);
}

}  // namespace

int main() {
  if (sp_cuda_device_count() == 0) {
    std::printf("no CUDA device: skipped\n");
    return 77;
  }
  must(sp_cuda_stream_create(&g_stream), "stream_create");
  std::printf("B=128, H=12, N=197, hd=64 (attention); B=128, C=200, d=dp=768 (retrieval)\n\n");
  std::printf("| work | dtype | ms | TFLOP/s |\n|---|---|---|---|\n");
  for (int dtype : {SP_F32, SP_BF16}) {
    for (bool with_bwd : {false, true}) {
      bench_attention(Variant::kFlash, dtype, 8, false, with_bwd);
      bench_attention(Variant::kFlash, dtype, 0, true, with_bwd);
    }
  }
  bench_attention(Variant::kNaive, SP_F32, 8, false, true);
  bench_attention(Variant::kNaive, SP_F32, 0, true, true);
  bench_retrieval(true);
  bench_retrieval(false);
  sp_cuda_stream_destroy(g_stream);
  return 0;
}
