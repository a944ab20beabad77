// Device parity: every sp_cuda_* op against the sp_cpu_* function of the same name on random
// inputs of awkward sizes. f32 results must match elementwise within atol + rtol |ref|; bf16
// attention within a relative L2 error of 2e-2 against the f32 CPU result on the bf16-rounded
// inputs; the other f32 / bf16 storage forms (_dt) elementwise within one bf16 rounding step. GPU outputs are poisoned with NaN first, so unwritten elements fail.
// Prints one line per case and "N passed, M failed"; exits 77 (skipped) without a device.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "starprompt.h"

namespace {

using Vec = std::vector<float>;
using Bits = std::vector<uint16_t>;  // bf16 payloads on the host

int g_passed = 0, g_failed = 0;
void* g_stream = nullptr;
std::mt19937 g_rng(20240611);

void report(bool ok, const std::string& name, const std::string& detail) {
  (ok ? g_passed : g_failed)++;
  std::printf("%s %s %s\n", ok ? "PASS" : "FAIL", name.c_str(), detail.c_str());
}

// An API call that must succeed; a failure is reported as its own failed case.
bool api_ok(int rc, const std::string& what) {
  if (rc == SP_OK) return true;
  report(false, what, std::string("returned ") + std::to_string(rc) + ": " + sp_last_error());
  return false;
}

Vec random_vec(size_t n, float lo = -1.f, float hi = 1.f) {
  std::uniform_real_distribution<float> u(lo, hi);
  Vec v(n);
  for (auto& x : v) x = u(g_rng);
  return v;
}

uint16_t to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0;  // NaN
  u += 0x7fffu + ((u >> 16) & 1u);                     // round to nearest even
  return static_cast<uint16_t>(u >> 16);
}

float from_bf16(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

Bits to_bits(const Vec& v) {
  Bits b(v.size());
  for (size_t i = 0; i < v.size(); ++i) b[i] = to_bf16(v[i]);
  return b;
}

Vec from_bits(const Bits& b) {
  Vec v(b.size());
  for (size_t i = 0; i < b.size(); ++i) v[i] = from_bf16(b[i]);
  return v;
}

Vec round_bf16(const Vec& v) { return from_bits(to_bits(v)); }

// Device buffer of n elements (none when n == 0: pointer NULL, as absent inputs are passed).
template <typename T>
class Dev {
 public:
  explicit Dev(size_t n) : n_(n) {
    if (n_ && sp_cuda_malloc(n_ * sizeof(T), reinterpret_cast<void**>(&ptr_)) != SP_OK) {
      std::printf("allocation of %zu bytes failed: %s\n", n_ * sizeof(T), sp_last_error());
      std::exit(1);
    }
  }
  explicit Dev(const std::vector<T>& host) : Dev(host.size()) { upload(host); }
  Dev(const Dev&) = delete;
  Dev& operator=(const Dev&) = delete;
  ~Dev() { sp_cuda_free(ptr_); }

  T* get() const { return ptr_; }
  size_t size() const { return n_; }
  void upload(const std::vector<T>& host) {
    if (n_) sp_cuda_memcpy_h2d(ptr_, host.data(), n_ * sizeof(T), g_stream);
  }
  std::vector<T> download() const {
    std::vector<T> host(n_);
    if (n_) sp_cuda_memcpy_d2h(host.data(), ptr_, n_ * sizeof(T), g_stream);
    sp_cuda_stream_synchronize(g_stream);
    return host;
  }
  // All-ones bits: NaN as f32 and as bf16, -1 as int32.
  void poison() { upload(std::vector<T>(n_, all_ones())); }

 private:
  static T all_ones() {
    T t;
    std::memset(&t, 0xff, sizeof t);
    return t;
  }
  T* ptr_ = nullptr;
  size_t n_;
};

// Elementwise |got - ref| <= atol + rtol |ref| (NaN fails); detail names the worst element.
bool close(const Vec& got, const Vec& ref, double atol, double rtol, std::string* detail) {
  if (got.size() != ref.size()) {
    *detail = "size mismatch";
    return false;
  }
  bool ok = true;
  size_t worst = 0;
  double worst_excess = -1e300, max_err = 0.0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double err = std::fabs(double(got[i]) - double(ref[i]));
    const double excess = err - (atol + rtol * std::fabs(double(ref[i])));
    if (std::isnan(err) || excess > 0.0) ok = false;
    if (std::isnan(err) || excess > worst_excess) {
      worst_excess = std::isnan(err) ? 1e300 : excess;
      worst = i;
    }
    if (!std::isnan(err)) max_err = std::max(max_err, err);
  }
  char buf[200];
  if (ref.empty())
    std::snprintf(buf, sizeof buf, "(empty)");
  else
    std::snprintf(buf, sizeof buf, "max_abs_err=%.3g worst[%zu] got=%.7g ref=%.7g", max_err, worst,
                  got[worst], ref[worst]);
  *detail = buf;
  return ok;
}

double rel_l2(const Vec& got, const Vec& ref) {
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double d = double(got[i]) - double(ref[i]);
    num += d * d;
    den += double(ref[i]) * double(ref[i]);
  }
  if (std::isnan(num)) return INFINITY;
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

void check_close(const std::string& name, const Vec& got, const Vec& ref, double atol = 1e-4,
                 double rtol = 1e-4) {
  std::string detail;
  const bool ok = close(got, ref, atol, rtol, &detail);
  report(ok, name, detail);
}

void check_rel_l2(const std::string& name, const Vec& got, const Vec& ref, double limit = 2e-2) {
  const double e = rel_l2(got, ref);
  char buf[96];
  std::snprintf(buf, sizeof buf, "rel_l2=%.3g (limit %.1g)", e, limit);
  report(e <= limit, name, buf);
}

// ------------------------------------------------------------------- pointwise ops ----

void test_pointwise() {
  const int64_t n = 100003;
  const Vec x = random_vec(n, -5.f, 5.f), dy = random_vec(n);
  Dev<float> dx_in(x), ddy(dy), dout(n);
  struct Unary {
    const char* name;
    int (*cpu)(const float*, float*, int64_t);
    int (*gpu)(const float*, float*, int64_t, void*);
  } fwd[] = {{"gelu_fwd", sp_cpu_gelu_fwd, sp_cuda_gelu_fwd},
             {"quickgelu_fwd", sp_cpu_quickgelu_fwd, sp_cuda_quickgelu_fwd}};
  for (const auto& op : fwd) {
    Vec ref(n);
    op.cpu(x.data(), ref.data(), n);
    dout.poison();
    if (api_ok(op.gpu(dx_in.get(), dout.get(), n, g_stream), op.name))
      check_close(op.name, dout.download(), ref);
  }
  struct Binary {
    const char* name;
    int (*cpu)(const float*, const float*, float*, int64_t);
    int (*gpu)(const float*, const float*, float*, int64_t, void*);
  } bwd[] = {{"gelu_bwd", sp_cpu_gelu_bwd, sp_cuda_gelu_bwd},
             {"quickgelu_bwd", sp_cpu_quickgelu_bwd, sp_cuda_quickgelu_bwd}};
  for (const auto& op : bwd) {
    Vec ref(n);
    op.cpu(x.data(), dy.data(), ref.data(), n);
    dout.poison();
    if (api_ok(op.gpu(dx_in.get(), ddy.get(), dout.get(), n, g_stream), op.name))
      check_close(op.name, dout.download(), ref);
  }

  {  // axpy
    Vec y = random_vec(n), ref = y;
    sp_cpu_axpy(ref.data(), x.data(), -0.75f, n);
    Dev<float> dyv(y);
    if (api_ok(sp_cuda_axpy(dyv.get(), dx_in.get(), -0.75f, n, g_stream), "axpy"))
      check_close("axpy", dyv.download(), ref);
  }
  {  // add_bias
    const int64_t rows = 37, cols = 129;
    Vec m = random_vec(rows * cols), bias = random_vec(cols), ref = m;
    sp_cpu_add_bias(ref.data(), bias.data(), rows, cols);
    Dev<float> dm(m), db(bias);
    if (api_ok(sp_cuda_add_bias(dm.get(), db.get(), rows, cols, g_stream), "add_bias"))
      check_close("add_bias", dm.download(), ref);
  }
  {  // convert f32 -> bf16 -> f32 against host rounding
    const Vec v = random_vec(4099, -100.f, 100.f);
    Dev<float> src(v), back(v.size());
    Dev<uint16_t> mid(v.size());
    back.poison();
    if (api_ok(sp_cuda_convert(src.get(), SP_F32, mid.get(), SP_BF16, v.size(), g_stream), "convert") &&
        api_ok(sp_cuda_convert(mid.get(), SP_BF16, back.get(), SP_F32, v.size(), g_stream), "convert")) {
      const Bits bits = mid.download();
      report(bits == to_bits(v), "convert_f32_to_bf16", "bitwise vs host round-to-nearest-even");
      check_close("convert_bf16_to_f32", back.download(), round_bf16(v), 0.0, 0.0);
    }
  }
}

// ------------------------------------------------------------- softmax, layernorm ----

void test_softmax(int64_t rows, int64_t cols) {
  const std::string tag = "[" + std::to_string(rows) + "x" + std::to_string(cols) + "]";
  const Vec x = random_vec(rows * cols, -6.f, 6.f), dy = random_vec(rows * cols);
  Vec y(rows * cols), dx(rows * cols);
  sp_cpu_softmax_fwd(x.data(), y.data(), rows, cols);
  sp_cpu_softmax_bwd(y.data(), dy.data(), dx.data(), rows, cols);
  Dev<float> dxv(x), dyv(rows * cols), ddy(dy), ddx(rows * cols);
  dyv.poison();
  ddx.poison();
  if (api_ok(sp_cuda_softmax_fwd(dxv.get(), dyv.get(), rows, cols, g_stream), "softmax_fwd" + tag))
    check_close("softmax_fwd" + tag, dyv.download(), y);
  Dev<float> dyref(y);
  if (api_ok(sp_cuda_softmax_bwd(dyref.get(), ddy.get(), ddx.get(), rows, cols, g_stream), "softmax_bwd" + tag))
    check_close("softmax_bwd" + tag, ddx.download(), dx);
  // In place (y aliases x).
  Dev<float> inplace(x);
  if (api_ok(sp_cuda_softmax_fwd(inplace.get(), inplace.get(), rows, cols, g_stream), "softmax_inplace" + tag))
    check_close("softmax_fwd_inplace" + tag, inplace.download(), y);
}

void test_layernorm(int64_t rows, int64_t cols) {
  const std::string tag = "[" + std::to_string(rows) + "x" + std::to_string(cols) + "]";
  Vec x = random_vec(rows * cols, -2.f, 2.f);
  for (int64_t r = 0; r < rows; ++r)  // offset rows: the variance must not cancel
    for (int64_t c = 0; c < cols; ++c) x[r * cols + c] += 3.f * (r % 3);
  const Vec gamma = random_vec(cols, 0.5f, 1.5f), beta = random_vec(cols);
  const Vec dy = random_vec(rows * cols);
  const float eps = 1e-5f;
  Vec y(rows * cols), mean(rows), rstd(rows), dx(rows * cols);
  Vec dgamma = random_vec(cols), dbeta = random_vec(cols);  // accumulated into
  Dev<float> ddg(dgamma), ddb(dbeta);
  sp_cpu_layernorm_fwd(x.data(), gamma.data(), beta.data(), eps, y.data(), mean.data(), rstd.data(),
                       rows, cols);
  sp_cpu_layernorm_bwd(dy.data(), x.data(), gamma.data(), mean.data(), rstd.data(), dx.data(),
                       dgamma.data(), dbeta.data(), rows, cols);
  Dev<float> dxv(x), dgm(gamma), dbt(beta), dyv(rows * cols), dmean(rows), drstd(rows);
  dyv.poison();
  dmean.poison();
  drstd.poison();
  if (api_ok(sp_cuda_layernorm_fwd(dxv.get(), dgm.get(), dbt.get(), eps, dyv.get(), dmean.get(),
                                   drstd.get(), rows, cols, g_stream),
             "layernorm_fwd" + tag)) {
    check_close("layernorm_fwd.y" + tag, dyv.download(), y);
    check_close("layernorm_fwd.mean" + tag, dmean.download(), mean);
    check_close("layernorm_fwd.rstd" + tag, drstd.download(), rstd);
  }
  Dev<float> ddy(dy), ddx(rows * cols), cmean(mean), crstd(rstd);
  ddx.poison();
  if (api_ok(sp_cuda_layernorm_bwd(ddy.get(), dxv.get(), dgm.get(), cmean.get(), crstd.get(),
                                   ddx.get(), ddg.get(), ddb.get(), rows, cols, g_stream),
             "layernorm_bwd" + tag)) {
    check_close("layernorm_bwd.dx" + tag, ddx.download(), dx);
    check_close("layernorm_bwd.dgamma" + tag, ddg.download(), dgamma);
    check_close("layernorm_bwd.dbeta" + tag, ddb.download(), dbeta);
  }
}

// ----------------------------------------------------------------- gemm ----

void test_gemm(int ta, int tb, int m, int n, int k, float beta, int batch, bool broadcast_b) {
  char tag[96];
  std::snprintf(tag, sizeof tag, "gemm[ta=%d tb=%d %dx%dx%d beta=%g batch=%d%s]", ta, tb, m, n, k,
                beta, batch, broadcast_b ? " b-broadcast" : "");
  const int64_t sa = int64_t(m) * k, sb = broadcast_b ? 0 : int64_t(k) * n, sc = int64_t(m) * n;
  const Vec a = random_vec(sa * batch), b = random_vec(broadcast_b ? int64_t(k) * n : sb * batch);
  Vec c = random_vec(sc * batch), ref = c;
  sp_cpu_gemm_naive(ta, tb, m, n, k, 1.25f, a.data(), sa, b.data(), sb, beta, ref.data(), sc, batch);
  Dev<float> da(a), db(b), dc(c);
  if (beta == 0.f) dc.poison();  // beta 0 must not read C
  if (api_ok(sp_cuda_gemm_naive(ta, tb, m, n, k, 1.25f, da.get(), sa, db.get(), sb, beta, dc.get(),
                                sc, batch, g_stream),
             tag))
    check_close(tag, dc.download(), ref);
}

// ------------------------------------------------------- embedding and token ops ----

void test_embedding() {
  const int64_t vocab = 50, dim = 77, n = 300;
  const Vec table = random_vec(vocab * dim), dout = random_vec(n * dim);
  std::vector<int32_t> ids(n);
  std::uniform_int_distribution<int> pick(0, int(vocab) - 1);
  for (auto& i : ids) i = pick(g_rng);  // repeats: scatter must accumulate
  Vec out(n * dim), dtable = random_vec(vocab * dim), dtable_ref = dtable;
  sp_cpu_embedding_gather(table.data(), ids.data(), out.data(), n, dim, vocab);
  sp_cpu_embedding_scatter_add(dout.data(), ids.data(), dtable_ref.data(), n, dim, vocab);
  Dev<float> dtab(table), dout_v(n * dim), ddout(dout), ddtab(dtable);
  Dev<int32_t> dids(ids);
  dout_v.poison();
  if (api_ok(sp_cuda_embedding_gather(dtab.get(), dids.get(), dout_v.get(), n, dim, vocab, g_stream),
             "embedding_gather"))
    check_close("embedding_gather", dout_v.download(), out, 0.0, 0.0);
  if (api_ok(sp_cuda_embedding_scatter_add(ddout.get(), dids.get(), ddtab.get(), n, dim, vocab, g_stream),
             "embedding_scatter_add"))
    check_close("embedding_scatter_add", ddtab.download(), dtable_ref);

  // An out-of-range id: SP_ERR_ARG and nothing written.
  std::vector<int32_t> bad = ids;
  bad[n / 2] = int32_t(vocab);
  Dev<int32_t> dbad(bad);
  Vec sentinel(n * dim, 7.f);
  Dev<float> untouched(sentinel);
  const int rc = sp_cuda_embedding_gather(dtab.get(), dbad.get(), untouched.get(), n, dim, vocab, g_stream);
  report(rc == SP_ERR_ARG && untouched.download() == sentinel, "embedding_gather_bad_id",
         "rc=" + std::to_string(rc));
}

void test_token_ops() {
  const int batch = 5, tokens = 197;
  const int64_t dim = 130;
  const Vec x = random_vec(int64_t(batch) * tokens * dim), dout = random_vec(batch * dim);
  std::vector<int32_t> idx = {0, 196, 5, 5, 100};
  Vec sum(batch * dim), gath(batch * dim), dx = random_vec(x.size()), dx_ref = dx;
  sp_cpu_token_sum(x.data(), sum.data(), batch, tokens, dim);
  sp_cpu_token_gather(x.data(), idx.data(), gath.data(), batch, tokens, dim);
  sp_cpu_token_scatter_add(dout.data(), idx.data(), dx_ref.data(), batch, tokens, dim);
  Dev<float> dxv(x), dsum(batch * dim), dg(batch * dim), ddout(dout), ddx(dx);
  Dev<int32_t> didx(idx);
  dsum.poison();
  dg.poison();
  if (api_ok(sp_cuda_token_sum(dxv.get(), dsum.get(), batch, tokens, dim, g_stream), "token_sum"))
    check_close("token_sum", dsum.download(), sum);
  if (api_ok(sp_cuda_token_gather(dxv.get(), didx.get(), dg.get(), batch, tokens, dim, g_stream), "token_gather"))
    check_close("token_gather", dg.download(), gath, 0.0, 0.0);
  if (api_ok(sp_cuda_token_scatter_add(ddout.get(), didx.get(), ddx.get(), batch, tokens, dim, g_stream),
             "token_scatter_add"))
    check_close("token_scatter_add", ddx.download(), dx_ref);
}

// ------------------------------------------------------------- loss, optimisers ----

void test_cross_entropy(bool with_grad) {
  const int batch = 13, classes = 50, lo = 10, hi = 40;
  const Vec logits = random_vec(batch * classes, -4.f, 4.f);
  std::vector<int32_t> labels(batch);
  std::uniform_int_distribution<int> pick(lo, hi - 1);
  for (auto& l : labels) l = pick(g_rng);
  float loss = 0.f;
  Vec dlogits(batch * classes);
  sp_cpu_cross_entropy(logits.data(), labels.data(), batch, classes, lo, hi, &loss,
                       with_grad ? dlogits.data() : nullptr);
  Dev<float> dl(logits), dloss(1), dgrad(with_grad ? batch * classes : 0);
  Dev<int32_t> dlab(labels);
  dloss.poison();
  dgrad.poison();
  const std::string name = with_grad ? "cross_entropy+grad" : "cross_entropy";
  if (api_ok(sp_cuda_cross_entropy(dl.get(), dlab.get(), batch, classes, lo, hi, dloss.get(),
                                   dgrad.get(), g_stream),
             name)) {
    check_close(name + ".loss", dloss.download(), Vec{loss});
    if (with_grad) check_close(name + ".dlogits", dgrad.download(), dlogits);
  }
}

void test_optimisers() {
  const int64_t n = 10007;
  for (int step : {1, 3}) {
    for (float wd : {0.f, 0.01f}) {
      const Vec p = random_vec(n), g = random_vec(n), m = random_vec(n, -0.1f, 0.1f),
                v = random_vec(n, 0.f, 0.01f);
      Vec pr = p, mr = m, vr = v;
      sp_cpu_adam_step(pr.data(), g.data(), mr.data(), vr.data(), n, 1e-3f, 0.9f, 0.999f, 1e-8f, wd, step);
      Dev<float> dp(p), dg(g), dm(m), dv(v);
      const std::string name = "adam[step=" + std::to_string(step) + " wd=" + std::to_string(wd) + "]";
      if (api_ok(sp_cuda_adam_step(dp.get(), dg.get(), dm.get(), dv.get(), n, 1e-3f, 0.9f, 0.999f,
                                   1e-8f, wd, step, g_stream),
                 name)) {
        check_close(name + ".param", dp.download(), pr, 1e-6, 1e-5);
        check_close(name + ".m", dm.download(), mr, 1e-6, 1e-5);
        check_close(name + ".v", dv.download(), vr, 1e-6, 1e-5);
      }
    }
  }
  const Vec p = random_vec(n), g = random_vec(n);
  Vec pr = p;
  sp_cpu_sgd_step(pr.data(), g.data(), n, 0.05f, 0.01f);
  Dev<float> dp(p), dg(g);
  if (api_ok(sp_cuda_sgd_step(dp.get(), dg.get(), n, 0.05f, 0.01f, g_stream), "sgd"))
    check_close("sgd", dp.download(), pr);
}

// -------------------------------------------------------------------- attention ----

struct AttnCase {
  int dtype;
  bool flash;
  int batch, n, hd, lp;
  bool causal, residual;
  int nk = -1;  // main keys; -1: same as the n queries
  int keys() const { return nk < 0 ? n : nk; }
};

std::string attn_name(const AttnCase& c) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "attention_%s_%s[B=%d N=%d Nk=%d hd=%d Lp=%d causal=%d resid=%d]",
                c.flash ? "flash" : "naive", c.dtype == SP_F32 ? "f32" : "bf16", c.batch, c.n,
                c.keys(), c.hd, c.lp, int(c.causal), int(c.residual));
  return buf;
}

// Holds one tensor in both host forms and on the device in the case's dtype.
struct DevTensor {
  int dtype;
  size_t n;
  Dev<float> f32;
  Dev<uint16_t> bf16;
  DevTensor(int dt, size_t count)
      : dtype(dt), n(count), f32(dt == SP_F32 ? count : 0), bf16(dt == SP_BF16 ? count : 0) {}
  void* get() const { return dtype == SP_F32 ? static_cast<void*>(f32.get()) : static_cast<void*>(bf16.get()); }
  void upload(const Vec& v) {
    if (dtype == SP_F32) f32.upload(v);
    else bf16.upload(to_bits(v));
  }
  void poison() {
    if (dtype == SP_F32) f32.poison();
    else bf16.poison();
  }
  Vec download() const { return dtype == SP_F32 ? f32.download() : from_bits(bf16.download()); }
};

void compare_attn(const AttnCase& c, const std::string& what, const Vec& got, const Vec& ref,
                  double atol) {
  const std::string name = attn_name(c) + "." + what;
  if (c.dtype == SP_F32) check_close(name, got, ref, atol, atol);
  else check_rel_l2(name, got, ref);
}

void test_attention(const AttnCase& c) {
  const int heads = 2, B = c.batch, N = c.n, NK = c.keys(), hd = c.hd, lp = c.lp;
  const int64_t ld = int64_t(heads) * hd;
  const float scale = 1.f / std::sqrt(float(hd));
  const size_t seq = size_t(B) * N * ld, kseq = size_t(B) * NK * ld, pre = size_t(B) * lp * ld;
  const size_t rows = size_t(B) * heads * N;
  // Inputs rounded to bf16 for the bf16 cases, so both sides see the same values.
  auto input = [&](size_t n, float range) {
    Vec v = random_vec(n, -range, range);
    return c.dtype == SP_BF16 ? round_bf16(v) : v;
  };
  const Vec q = input(seq, 1.5f), k = input(kseq, 1.5f), v = input(kseq, 1.f);
  const Vec pk = input(pre, 1.5f), pv = input(pre, 1.f);
  const Vec r = c.residual ? input(size_t(B) * ld, 1.f) : Vec();
  const Vec dout = input(seq, 1.f);
  const float* pk_h = lp ? pk.data() : nullptr;
  const float* pv_h = lp ? pv.data() : nullptr;
  const float* r_h = c.residual ? r.data() : nullptr;

  Vec out(seq), lse(rows), dq(seq), dk(kseq), dv(kseq), dpk(pre), dpv(pre), dr(r.size());
  if (sp_cpu_attention_fwd_naive(q.data(), k.data(), v.data(), pk_h, pv_h, r_h, out.data(), lse.data(),
                                 B, N, NK, lp, heads, hd, scale, int(c.causal)) != SP_OK ||
      sp_cpu_attention_bwd_naive(q.data(), k.data(), v.data(), pk_h, pv_h, r_h, out.data(), lse.data(),
                                 dout.data(), dq.data(), dk.data(), dv.data(), lp ? dpk.data() : nullptr,
                                 lp ? dpv.data() : nullptr, c.residual ? dr.data() : nullptr, B, N, NK,
                                 lp, heads, hd, scale, int(c.causal)) != SP_OK) {
    report(false, attn_name(c), std::string("CPU reference failed: ") + sp_last_error());
    return;
  }

  const int dt = c.dtype;
  DevTensor gq(dt, seq), gk(dt, kseq), gv(dt, kseq), gpk(dt, pre), gpv(dt, pre), gr(dt, r.size());
  DevTensor gout(dt, seq), gdout(dt, seq), gdq(dt, seq), gdk(dt, kseq), gdv(dt, kseq);
  DevTensor gdpk(dt, pre), gdpv(dt, pre), gdr(dt, r.size());
  Dev<float> glse(rows);
  gq.upload(q), gk.upload(k), gv.upload(v), gpk.upload(pk), gpv.upload(pv), gr.upload(r);
  gdout.upload(dout);
  for (DevTensor* t : {&gout, &gdq, &gdk, &gdv, &gdpk, &gdpv, &gdr}) t->poison();
  glse.poison();

  const auto fwd = c.flash ? sp_cuda_attention_fwd_flash : sp_cuda_attention_fwd_naive;
  const auto bwd = c.flash ? sp_cuda_attention_bwd_flash : sp_cuda_attention_bwd_naive;
  if (!api_ok(fwd(dt, gq.get(), gk.get(), gv.get(), gpk.get(), gpv.get(), gr.get(), gout.get(),
                  glse.get(), B, N, NK, lp, heads, hd, scale, int(c.causal), g_stream),
              attn_name(c) + ".fwd"))
    return;
  compare_attn(c, "out", gout.download(), out, 1e-4);
  if (dt == SP_F32) check_close(attn_name(c) + ".lse", glse.download(), lse);
  else check_rel_l2(attn_name(c) + ".lse", glse.download(), lse);

  if (!api_ok(bwd(dt, gq.get(), gk.get(), gv.get(), gpk.get(), gpv.get(), gr.get(), gout.get(),
                  glse.get(), gdout.get(), gdq.get(), gdk.get(), gdv.get(), gdpk.get(), gdpv.get(),
                  gdr.get(), B, N, NK, lp, heads, hd, scale, int(c.causal), g_stream),
              attn_name(c) + ".bwd"))
    return;
  compare_attn(c, "dq", gdq.download(), dq, 2e-4);
  compare_attn(c, "dk", gdk.download(), dk, 2e-4);
  compare_attn(c, "dv", gdv.download(), dv, 2e-4);
  if (lp) {
    compare_attn(c, "dpk", gdpk.download(), dpk, 2e-4);
    compare_attn(c, "dpv", gdpv.download(), dpv, 2e-4);
  }
  if (c.residual) compare_attn(c, "dr", gdr.download(), dr, 2e-4);
}

void test_attention_all() {
  for (int dtype : {SP_F32, SP_BF16})
    for (bool flash : {false, true})
      for (int batch : {1, 3})
        for (int n : {197, 17})
          for (int hd : {32, 64})
            for (int lp : {0, 3, 8})
              for (bool causal : {false, true})
                for (bool residual : {false, true})
                  test_attention(AttnCase{dtype, flash, batch, n, hd, lp, causal, residual});
  // Flash refuses head dims it has no kernel for; the naive variant takes them.
  Dev<float> buf(2 * 48 * 4);
  Dev<float> lse(4);
  const int rc = sp_cuda_attention_fwd_flash(SP_F32, buf.get(), buf.get(), buf.get(), nullptr, nullptr,
                                             nullptr, buf.get(), lse.get(), 1, 2, 2, 0, 1, 48, 0.1f, 0,
                                             g_stream);
  report(rc == SP_ERR_ARG, "attention_flash_rejects_hd48", "rc=" + std::to_string(rc));
  test_attention(AttnCase{SP_F32, false, 2, 23, 48, 2, true, true});
  // Queries and keys of different lengths: causal tiles with no visible key, or keys no query
  // sees (their gradients must still be written, as zeros).
  for (int dtype : {SP_F32, SP_BF16})
    for (bool flash : {false, true})
      for (bool causal : {false, true})
        for (int nk : {130, 20}) test_attention(AttnCase{dtype, flash, 2, 70, 64, 3, causal, true, nk});
}

// -------------------------------------------------------------------- retrieval ----

struct RetrCase {
  bool fused;
  int batch, seen, past;
  bool modulate;
};

void test_retrieval(const RetrCase& c) {
  const int B = c.batch, C = c.seen, classes = C + 3, d = 96, dp = 80, layers = 3;
  char tag[128];
  std::snprintf(tag, sizeof tag, "retrieval_%s[B=%d C=%d past=%d mod=%d]", c.fused ? "fused" : "naive",
                B, C, c.past, int(c.modulate));
  const std::string name = tag;
  const Vec q = random_vec(size_t(B) * d);
  Vec keys = random_vec(size_t(C) * d);
  for (int i = 0; i < C; ++i) {  // unit keys, as the contract states
    double s = 0;
    for (int t = 0; t < d; ++t) s += double(keys[i * d + t]) * keys[i * d + t];
    for (int t = 0; t < d; ++t) keys[i * d + t] = float(keys[i * d + t] / std::sqrt(s));
  }
  const Vec a = random_vec(size_t(layers) * classes * d, -1.f, 1.f);
  const Vec p = random_vec(size_t(layers) * classes * dp);
  const Vec dsp = random_vec(size_t(layers) * B * dp);
  Vec sims(size_t(layers) * B * C), sp(size_t(layers) * B * dp);
  std::vector<int32_t> sel(size_t(layers) * B);
  Vec da(size_t(layers) * classes * d), dpg(size_t(layers) * classes * dp);
  const auto cpu_fwd = c.fused ? sp_cpu_retrieval_fwd_fused : sp_cpu_retrieval_fwd_naive;
  const auto cpu_bwd = c.fused ? sp_cpu_retrieval_bwd_fused : sp_cpu_retrieval_bwd_naive;
  if (cpu_fwd(q.data(), keys.data(), a.data(), p.data(), B, C, classes, d, dp, layers, int(c.modulate),
              sims.data(), sel.data(), sp.data()) != SP_OK ||
      cpu_bwd(q.data(), keys.data(), a.data(), p.data(), sims.data(), sel.data(), dsp.data(), B, C,
              classes, c.past, d, dp, layers, int(c.modulate), da.data(), dpg.data()) != SP_OK) {
    report(false, name, std::string("CPU reference failed: ") + sp_last_error());
    return;
  }

  Dev<float> gq(q), gkeys(keys), ga(a), gp(p), gsims(sims.size()), gsp(sp.size());
  Dev<int32_t> gsel(sel.size());
  gsims.poison(), gsp.poison(), gsel.poison();
  const auto fwd = c.fused ? sp_cuda_retrieval_fwd_fused : sp_cuda_retrieval_fwd_naive;
  const auto bwd = c.fused ? sp_cuda_retrieval_bwd_fused : sp_cuda_retrieval_bwd_naive;
  if (api_ok(fwd(gq.get(), gkeys.get(), ga.get(), gp.get(), B, C, classes, d, dp, layers,
                 int(c.modulate), gsims.get(), gsel.get(), gsp.get(), g_stream),
             name + ".fwd")) {
    const Vec got_sims = gsims.download();
    check_close(name + ".sims", got_sims, sims);
    // sel must match except at a genuine near-tie; sp is compared where sel agrees.
    const std::vector<int32_t> got_sel = gsel.download();
    const Vec got_sp = gsp.download();
    int mismatches = 0, ties = 0;
    Vec sp_got_cmp, sp_ref_cmp;
    for (int l = 0; l < layers; ++l)
      for (int b = 0; b < B; ++b) {
        const size_t row = size_t(l) * B + b;
        const int gs = got_sel[row], cs = sel[row];
        if (gs != cs) {
          const bool tie = gs >= 0 && gs < C &&
                           std::fabs(sims[row * C + gs] - sims[row * C + cs]) <=
                               1e-4 * (1 + std::fabs(sims[row * C + cs]));
          (tie ? ties : mismatches)++;
          continue;
        }
        for (int t = 0; t < dp; ++t) {
          sp_got_cmp.push_back(got_sp[row * dp + t]);
          sp_ref_cmp.push_back(sp[row * dp + t]);
        }
      }
    report(mismatches == 0, name + ".sel",
           "mismatches=" + std::to_string(mismatches) + " near_ties=" + std::to_string(ties));
    check_close(name + ".sp", sp_got_cmp, sp_ref_cmp);
  }

  // Backward from the CPU forward's sims/sel, so both sides differentiate the same selection.
  Dev<float> csims(sims), gdsp(dsp), gda(da.size()), gdpg(dpg.size());
  Dev<int32_t> csel(sel);
  gda.poison(), gdpg.poison();
  if (api_ok(bwd(gq.get(), gkeys.get(), ga.get(), gp.get(), csims.get(), csel.get(), gdsp.get(), B, C,
                 classes, c.past, d, dp, layers, int(c.modulate), gda.get(), gdpg.get(), g_stream),
             name + ".bwd")) {
    check_close(name + ".da", gda.download(), da);
    check_close(name + ".dp", gdpg.download(), dpg);
  }
}

void test_retrieval_all() {
  for (bool fused : {false, true})
    for (int batch : {1, 5})
      for (int seen : {1, 7, 200})
        for (bool with_past : {false, true})
          for (bool modulate : {false, true}) {
            const int past = with_past ? std::max(1, seen / 2) : 0;
            test_retrieval(RetrCase{fused, batch, seen, past, modulate});
          }
}

// ---------------------------------------------------- f32 / bf16 storage forms (_dt) ----
// Each _dt op with all-bf16 operands and with the mix a bf16 tower's backward passes (bf16
// activations saved by the forward, f32 gradients), against the f32 CPU kernel run on the
// bf16-rounded inputs, its result rounded where the device stores bf16. Both sides compute in
// f32, so a bf16 output may differ by one rounding step: rtol 1e-2 (one step is <= 2^-7).

constexpr double kBf16Rtol = 1e-2, kBf16Atol = 1e-5;

// A device tensor of either storage dtype, filled from and read back as floats.
class Typed {
 public:
  Typed(const Vec& host, int dtype) : Typed(host.size(), dtype) { upload(host); }
  Typed(size_t n, int dtype) : dtype_(dtype), f32_(dtype == SP_F32 ? n : 0), bf16_(dtype == SP_BF16 ? n : 0) {}
  void* get() const { return dtype_ == SP_BF16 ? static_cast<void*>(bf16_.get()) : f32_.get(); }
  int dtype() const { return dtype_; }
  void upload(const Vec& v) {
    if (dtype_ == SP_BF16) bf16_.upload(to_bits(v));
    else f32_.upload(v);
  }
  Vec download() const { return dtype_ == SP_BF16 ? from_bits(bf16_.download()) : f32_.download(); }
  void poison() {
    if (dtype_ == SP_BF16) bf16_.poison();
    else f32_.poison();
  }

 private:
  int dtype_;
  Dev<float> f32_;
  Dev<uint16_t> bf16_;
};

// What a tensor of that dtype holds after storing v.
Vec stored(const Vec& v, int dtype) { return dtype == SP_BF16 ? round_bf16(v) : v; }

const char* dtype_name(int dtype) { return dtype == SP_BF16 ? "bf16" : "f32"; }

// The case name with every operand's dtype, e.g. "axpy_dt[y=bf16 x=f32]".
std::string typed_name(const std::string& op, std::initializer_list<std::pair<const char*, int>> operands) {
  std::string s = op + "[";
  for (const auto& o : operands) s += std::string(s.back() == '[' ? "" : " ") + o.first + "=" + dtype_name(o.second);
  return s + "]";
}

// Compares a device output with the f32 reference as that output stores it.
void check_typed(const std::string& name, const Typed& got, const Vec& ref) {
  if (got.dtype() == SP_BF16) check_close(name, got.download(), round_bf16(ref), kBf16Atol, kBf16Rtol);
  else check_close(name, got.download(), ref);
}

void test_pointwise_dt(int xt, int gt) {
  const int64_t rows = 37, cols = 129, n = rows * cols;
  const Vec x = stored(random_vec(n, -5.f, 5.f), xt), bias = stored(random_vec(cols), xt);
  const Vec dy = stored(random_vec(n), gt);
  {  // axpy: y (gradient dtype) += alpha x (activation dtype)
    const Vec y = stored(random_vec(n), gt);
    Vec ref = y;
    sp_cpu_axpy(ref.data(), x.data(), -0.75f, n);
    Typed dyv(y, gt), dxv(x, xt);
    const std::string name = typed_name("axpy_dt", {{"y", gt}, {"x", xt}});
    if (api_ok(sp_cuda_axpy_dt(dyv.get(), gt, dxv.get(), xt, -0.75f, n, g_stream), name)) check_typed(name, dyv, ref);
  }
  {  // add_bias
    Vec ref = x;
    sp_cpu_add_bias(ref.data(), bias.data(), rows, cols);
    Typed dxv(x, xt), db(bias, xt);
    const std::string name = typed_name("add_bias_dt", {{"x", xt}, {"bias", xt}});
    if (api_ok(sp_cuda_add_bias_dt(dxv.get(), xt, db.get(), xt, rows, cols, g_stream), name)) check_typed(name, dxv, ref);
  }
  for (int act : {SP_ACT_GELU, SP_ACT_QUICKGELU}) {
    const std::string tag = act == SP_ACT_GELU ? "gelu" : "quickgelu";
    Vec y(n), dx(n);
    (act == SP_ACT_GELU ? sp_cpu_gelu_fwd : sp_cpu_quickgelu_fwd)(x.data(), y.data(), n);
    (act == SP_ACT_GELU ? sp_cpu_gelu_bwd : sp_cpu_quickgelu_bwd)(x.data(), dy.data(), dx.data(), n);
    Typed dxv(x, xt), dyv(n, xt), ddy(dy, gt), ddx(n, gt);
    dyv.poison();
    ddx.poison();
    const std::string fwd = typed_name("activation_fwd_dt." + tag, {{"x", xt}, {"y", xt}});
    if (api_ok(sp_cuda_activation_fwd_dt(act, dxv.get(), xt, dyv.get(), xt, n, g_stream), fwd)) check_typed(fwd, dyv, y);
    const std::string bwd = typed_name("activation_bwd_dt." + tag, {{"x", xt}, {"dy", gt}, {"dx", gt}});
    if (api_ok(sp_cuda_activation_bwd_dt(act, dxv.get(), xt, ddy.get(), gt, ddx.get(), gt, n, g_stream), bwd))
      check_typed(bwd, ddx, dx);
    // Fused epilogue: x keeps z = x + bias, y = act(z) (taken before z is rounded).
    Vec z = x, ya(n), inplace = x;
    sp_cpu_bias_act_fwd(act, z.data(), bias.data(), ya.data(), rows, cols);
    sp_cpu_bias_act_fwd(act, inplace.data(), bias.data(), inplace.data(), rows, cols);
    Typed dz(x, xt), db(bias, xt), dya(n, xt), dinp(x, xt);
    dya.poison();
    const std::string fused = typed_name("bias_act_fwd_dt." + tag, {{"x", xt}, {"bias", xt}, {"y", xt}});
    if (api_ok(sp_cuda_bias_act_fwd_dt(act, dz.get(), xt, db.get(), xt, dya.get(), xt, rows, cols, g_stream), fused)) {
      check_typed(fused + ".pre", dz, z);
      check_typed(fused + ".y", dya, ya);
    }
    if (api_ok(sp_cuda_bias_act_fwd_dt(act, dinp.get(), xt, db.get(), xt, dinp.get(), xt, rows, cols, g_stream),
               fused + ".in_place"))
      check_typed(fused + ".in_place", dinp, inplace);
  }
}

void test_softmax_dt(int xt, int gt) {
  const int64_t rows = 33, cols = 197;
  const Vec x = stored(random_vec(rows * cols, -6.f, 6.f), xt), dy = stored(random_vec(rows * cols), gt);
  Vec y(rows * cols), dx(rows * cols);
  sp_cpu_softmax_fwd(x.data(), y.data(), rows, cols);
  const Vec y_stored = stored(y, xt);  // the backward reads the forward's output as it was stored
  sp_cpu_softmax_bwd(y_stored.data(), dy.data(), dx.data(), rows, cols);
  Typed dxv(x, xt), dyv(rows * cols, xt), dys(y_stored, xt), ddy(dy, gt), ddx(rows * cols, gt);
  dyv.poison();
  ddx.poison();
  const std::string fwd = typed_name("softmax_fwd_dt", {{"x", xt}, {"y", xt}});
  if (api_ok(sp_cuda_softmax_fwd_dt(dxv.get(), xt, dyv.get(), xt, rows, cols, g_stream), fwd)) check_typed(fwd, dyv, y);
  const std::string bwd = typed_name("softmax_bwd_dt", {{"y", xt}, {"dy", gt}, {"dx", gt}});
  if (api_ok(sp_cuda_softmax_bwd_dt(dys.get(), xt, ddy.get(), gt, ddx.get(), gt, rows, cols, g_stream), bwd))
    check_typed(bwd, ddx, dx);
}

void test_layernorm_dt(int xt, int gt) {
  const int64_t rows = 45, cols = 768;
  Vec x = random_vec(rows * cols, -2.f, 2.f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) x[r * cols + c] += 3.f * (r % 3);
  x = stored(x, xt);
  const Vec gamma = stored(random_vec(cols, 0.5f, 1.5f), xt), beta = stored(random_vec(cols), xt);
  const Vec dy = stored(random_vec(rows * cols), gt);
  const float eps = 1e-6f;
  Vec y(rows * cols), mean(rows), rstd(rows), dx(rows * cols), dgamma = random_vec(cols), dbeta = random_vec(cols);
  Dev<float> ddg(dgamma), ddb(dbeta), dmean(rows), drstd(rows);
  sp_cpu_layernorm_fwd(x.data(), gamma.data(), beta.data(), eps, y.data(), mean.data(), rstd.data(), rows, cols);
  sp_cpu_layernorm_bwd(dy.data(), x.data(), gamma.data(), mean.data(), rstd.data(), dx.data(), dgamma.data(),
                       dbeta.data(), rows, cols);
  Typed dxv(x, xt), dgm(gamma, xt), dbt(beta, xt), dyv(rows * cols, xt), ddy(dy, gt), ddx(rows * cols, gt);
  dyv.poison();
  ddx.poison();
  dmean.poison();
  drstd.poison();
  const std::string fwd = typed_name("layernorm_fwd_dt", {{"x", xt}, {"gamma", xt}, {"beta", xt}, {"y", xt}});
  if (api_ok(sp_cuda_layernorm_fwd_dt(dxv.get(), xt, dgm.get(), xt, dbt.get(), xt, eps, dyv.get(), xt, dmean.get(),
                                      drstd.get(), rows, cols, g_stream),
             fwd)) {
    check_typed(fwd + ".y", dyv, y);
    check_close(fwd + ".mean", dmean.download(), mean);
    check_close(fwd + ".rstd", drstd.download(), rstd);
  }
  Dev<float> cmean(mean), crstd(rstd);
  const std::string bwd = typed_name("layernorm_bwd_dt", {{"dy", gt}, {"x", xt}, {"gamma", xt}, {"dx", gt}});
  if (api_ok(sp_cuda_layernorm_bwd_dt(ddy.get(), gt, dxv.get(), xt, dgm.get(), xt, cmean.get(), crstd.get(), ddx.get(),
                                      gt, ddg.get(), ddb.get(), rows, cols, g_stream),
             bwd)) {
    check_typed(bwd + ".dx", ddx, dx);
    check_close(bwd + ".dgamma", ddg.download(), dgamma);
    check_close(bwd + ".dbeta", ddb.download(), dbeta);
  }
}

void test_gathers_dt(int xt, int gt) {
  const int batch = 5, tokens = 197;
  const int64_t dim = 130, vocab = 50, n = 300;
  {  // embedding gather: a bit-exact copy between equal dtypes, one rounding f32 -> bf16
    const Vec table = stored(random_vec(vocab * dim), gt);
    std::vector<int32_t> ids(n);
    std::uniform_int_distribution<int> pick(0, int(vocab) - 1);
    for (auto& i : ids) i = pick(g_rng);
    Vec out(n * dim);
    sp_cpu_embedding_gather(table.data(), ids.data(), out.data(), n, dim, vocab);
    Typed dtab(table, gt), dout(n * dim, xt);
    Dev<int32_t> dids(ids);
    dout.poison();
    const std::string name = typed_name("embedding_gather_dt", {{"table", gt}, {"out", xt}});
    if (api_ok(sp_cuda_embedding_gather_dt(dtab.get(), gt, dids.get(), dout.get(), xt, n, dim, vocab, g_stream), name))
      check_typed(name, dout, out);
  }
  const Vec x = stored(random_vec(int64_t(batch) * tokens * dim), xt), dout = stored(random_vec(batch * dim), gt);
  const std::vector<int32_t> idx = {0, 196, 5, 5, 100};
  Vec sum(batch * dim), picked(batch * dim), dx = stored(random_vec(x.size()), xt), dx_ref = dx;
  sp_cpu_token_sum(x.data(), sum.data(), batch, tokens, dim);
  sp_cpu_token_gather(x.data(), idx.data(), picked.data(), batch, tokens, dim);
  sp_cpu_token_scatter_add(dout.data(), idx.data(), dx_ref.data(), batch, tokens, dim);
  Typed dxv(x, xt), dsum(batch * dim, gt), dpicked(batch * dim, xt), ddout(dout, gt), ddx(dx, xt);
  Dev<int32_t> didx(idx);
  dsum.poison();
  dpicked.poison();
  const std::string sname = typed_name("token_sum_dt", {{"x", xt}, {"out", gt}});
  if (api_ok(sp_cuda_token_sum_dt(dxv.get(), xt, dsum.get(), gt, batch, tokens, dim, g_stream), sname))
    check_typed(sname, dsum, sum);
  const std::string gname = typed_name("token_gather_dt", {{"x", xt}, {"out", xt}});
  if (api_ok(sp_cuda_token_gather_dt(dxv.get(), xt, didx.get(), dpicked.get(), xt, batch, tokens, dim, g_stream), gname))
    check_typed(gname, dpicked, picked);
  const std::string aname = typed_name("token_scatter_add_dt", {{"dout", gt}, {"dx", xt}});
  if (api_ok(sp_cuda_token_scatter_add_dt(ddout.get(), gt, didx.get(), ddx.get(), xt, batch, tokens, dim, g_stream),
             aname))
    check_typed(aname, ddx, dx_ref);
}

void test_patchify_dt(int it, int pt) {
  const int batch = 3, channels = 3, size = 48, patch = 16, grid = size / patch;
  const int64_t npix = int64_t(batch) * channels * size * size;
  const int64_t npatch = int64_t(batch) * (1 + grid * grid) * channels * patch * patch;
  const Vec images = stored(random_vec(npix), it), patches = stored(random_vec(npatch), pt);
  Vec p_ref(npatch), i_ref(npix);
  sp_cpu_patchify(images.data(), p_ref.data(), batch, channels, size, patch);
  sp_cpu_unpatchify(patches.data(), i_ref.data(), batch, channels, size, patch);
  Typed dimg(images, it), dp(npatch, pt), dpin(patches, pt), dimg_out(npix, it);
  dp.poison();
  dimg_out.poison();
  const std::string fwd = typed_name("patchify_dt", {{"images", it}, {"patches", pt}});
  if (api_ok(sp_cuda_patchify_dt(dimg.get(), it, dp.get(), pt, batch, channels, size, patch, g_stream), fwd))
    check_typed(fwd, dp, p_ref);
  const std::string bwd = typed_name("unpatchify_dt", {{"patches", pt}, {"images", it}});
  if (api_ok(sp_cuda_unpatchify_dt(dpin.get(), pt, dimg_out.get(), it, batch, channels, size, patch, g_stream), bwd))
    check_typed(bwd, dimg_out, i_ref);
}

// All-bf16, and bf16 activations with f32 gradients (the tower backward's mix); a bad dtype code
// is refused by name.
void test_storage_forms() {
  for (int gt : {SP_BF16, SP_F32}) {
    test_pointwise_dt(SP_BF16, gt);
    test_softmax_dt(SP_BF16, gt);
    test_layernorm_dt(SP_BF16, gt);
    test_gathers_dt(SP_BF16, gt);
  }
  test_patchify_dt(SP_F32, SP_BF16);
  test_patchify_dt(SP_BF16, SP_BF16);
  Dev<float> one(1);
  const int rc = sp_cuda_axpy_dt(one.get(), 7, one.get(), SP_F32, 1.f, 1, g_stream);
  report(rc == SP_ERR_ARG && std::strstr(sp_last_error(), "sp_cuda_axpy_dt") != nullptr, "axpy_dt_bad_dtype",
         std::string("rc=") + std::to_string(rc) + ": " + sp_last_error());
}

}  // namespace

int main() {
  if (sp_cuda_device_count() == 0) {
    std::printf("no CUDA device (compiled=%d): skipped\n", sp_cuda_compiled());
    return 77;
  }
  if (!api_ok(sp_cuda_stream_create(&g_stream), "stream_create")) return 1;

  test_pointwise();
  test_softmax(33, 1000);
  test_softmax(70, 7);
  test_layernorm(45, 768);
  test_layernorm(130, 33);
  for (int ta : {0, 1})
    for (int tb : {0, 1}) test_gemm(ta, tb, 33, 47, 65, 0.f, 1, false);
  test_gemm(0, 1, 70, 19, 130, 0.5f, 3, false);
  test_gemm(1, 0, 17, 40, 9, 0.f, 4, true);
  test_embedding();
  test_token_ops();
  test_cross_entropy(true);
  test_cross_entropy(false);
  test_optimisers();
  test_attention_all();
  test_retrieval_all();
  test_storage_forms();

  sp_cuda_stream_destroy(g_stream);
  std::printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
