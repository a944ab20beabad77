// CPU kernel tests: fused/tiled variants against the naive ones, naive ones against float64
// references and central finite differences, argument validation, and the thread pool.
// Plain main(): prints "N passed, M failed" and returns nonzero on any failure.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "starprompt.h"

namespace {

int g_passed = 0, g_failed = 0;

void report(bool ok, const std::string& name, const std::string& detail = "") {
  if (ok) {
    ++g_passed;
  } else {
    ++g_failed;
    std::printf("FAIL %s %s\n", name.c_str(), detail.c_str());
  }
}

using Vec = std::vector<float>;
using DVec = std::vector<double>;

std::mt19937 g_rng(12345);

Vec random_vec(size_t n, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> u(lo, hi);
  Vec v(n);
  for (auto& x : v) x = u(g_rng);
  return v;
}

DVec to_double(const Vec& v) { return DVec(v.begin(), v.end()); }

// |got - want| <= atol + rtol |want| elementwise; reports the worst element on failure.
bool close(const std::string& name, const float* got, const double* want, size_t n, double rtol,
           double atol) {
  size_t worst = 0;
  double worst_excess = 0.0;
  bool ok = true;
  for (size_t i = 0; i < n; ++i) {
    const double err = std::fabs(double(got[i]) - want[i]);
    const double excess = err - (atol + rtol * std::fabs(want[i]));
    if (!(excess <= 0.0)) {  // also catches NaN
      if (ok || excess > worst_excess || std::isnan(excess)) {
        worst = i;
        worst_excess = excess;
      }
      ok = false;
    }
  }
  char buf[256] = "";
  if (!ok) {
    std::snprintf(buf, sizeof buf, "at %zu of %zu: got %.8g want %.8g", worst, n,
                  double(got[worst]), want[worst]);
  }
  report(ok, name, buf);
  return ok;
}

bool close(const std::string& name, const Vec& got, const DVec& want, double rtol, double atol) {
  if (got.size() != want.size()) {
    report(false, name, "size mismatch");
    return false;
  }
  return close(name, got.data(), want.data(), got.size(), rtol, atol);
}

bool close(const std::string& name, const Vec& got, const Vec& want, double rtol, double atol) {
  return close(name, got, to_double(want), rtol, atol);
}

double max_abs(const DVec& v) {
  double m = 0.0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

// Central differences of f (a scalar function of x) at every element of x, in double.
DVec finite_diff(DVec& x, const std::function<double()>& f, double h = 1e-5) {
  DVec g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double x0 = x[i];
    x[i] = x0 + h;
    const double fp = f();
    x[i] = x0 - h;
    const double fm = f();
    x[i] = x0;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

double weighted_sum(const DVec& w, const DVec& y) {
  double s = 0.0;
  for (size_t i = 0; i < y.size(); ++i) s += w[i] * y[i];
  return s;
}

std::string tag(const char* fmt, int a = 0, int b = 0, int c = 0, int d = 0, int e = 0, int f = 0) {
  char buf[160];
  std::snprintf(buf, sizeof buf, fmt, a, b, c, d, e, f);
  return buf;
}

// ------------------------------------------------------------------------------- GEMM ----

void test_gemm() {
  struct Case {
    int m, n, k, batch;
    bool broadcast_a, broadcast_b;
    float beta;
  };
  const Case cases[] = {{17, 10, 33, 1, false, false, 0.0f},
                        {1, 1, 1, 2, false, false, 1.3f},
                        {37, 45, 300, 3, false, true, 0.5f},
                        {20, 19, 7, 3, true, false, 0.0f},
                        {70, 530, 260, 1, false, false, 1.0f}};
  for (const Case& cs : cases) {
    for (int ta = 0; ta < 2; ++ta) {
      for (int tb = 0; tb < 2; ++tb) {
        const int64_t sa = cs.broadcast_a ? 0 : int64_t(cs.m) * cs.k + 5;
        const int64_t sb = cs.broadcast_b ? 0 : int64_t(cs.k) * cs.n + 3;
        const int64_t sc = int64_t(cs.m) * cs.n + 2;
        Vec a = random_vec(size_t(sa * (cs.batch - 1) + int64_t(cs.m) * cs.k));
        Vec b = random_vec(size_t(sb * (cs.batch - 1) + int64_t(cs.k) * cs.n));
        Vec c = random_vec(size_t(sc * cs.batch));
        if (cs.beta == 0.0f) std::fill(c.begin(), c.end(), NAN);  // must be overwritten, not scaled
        const float alpha = 0.7f;
        DVec want = to_double(c), bound(c.size(), 0.0);
        for (int it = 0; it < cs.batch; ++it) {
          for (int i = 0; i < cs.m; ++i) {
            for (int j = 0; j < cs.n; ++j) {
              double s = 0.0, mag = 0.0;
              for (int p = 0; p < cs.k; ++p) {
                const double av = a[it * sa + (ta ? int64_t(p) * cs.m + i : int64_t(i) * cs.k + p)];
                const double bv = b[it * sb + (tb ? int64_t(j) * cs.k + p : int64_t(p) * cs.n + j)];
                s += av * bv;
                mag += std::fabs(av * bv);
              }
              const size_t o = size_t(it * sc + int64_t(i) * cs.n + j);
              want[o] = alpha * s + (cs.beta == 0.0f ? 0.0 : cs.beta * double(c[o]));
              bound[o] = mag;
            }
          }
        }
        int rc = sp_cpu_gemm_naive(ta, tb, cs.m, cs.n, cs.k, alpha, a.data(), sa, b.data(), sb,
                                   cs.beta, c.data(), sc, cs.batch);
        // The padding between batch items must stay untouched (NaN compares as untouched too).
        bool ok = rc == SP_OK;
        double worst = 0.0;
        for (int it = 0; it < cs.batch && ok; ++it) {
          for (int64_t x = 0; x < int64_t(cs.m) * cs.n; ++x) {
            const size_t o = size_t(it * sc + x);
            const double err = std::fabs(c[o] - want[o]);
            worst = std::max(worst, err);
            if (!(err <= 2e-6 * bound[o] + 1e-6)) ok = false;
          }
        }
        report(ok,
               tag("gemm m=%d n=%d k=%d batch=%d ta=%d tb=%d", cs.m, cs.n, cs.k, cs.batch, ta, tb),
               "max err " + std::to_string(worst));
      }
    }
  }
  // k = 0: C = beta C.
  Vec c = {1.0f, 2.0f, 3.0f, 4.0f};
  Vec dummy(1);
  int rc = sp_cpu_gemm_naive(0, 0, 2, 2, 0, 1.0f, dummy.data(), 0, dummy.data(), 0, 2.0f, c.data(),
                             4, 1);
  report(rc == SP_OK && c[3] == 8.0f, "gemm k=0 scales C");
}

// -------------------------------------------------------------------------- LayerNorm ----

void layernorm_ref(const DVec& x, const DVec& g, const DVec& b, double eps, int rows, int cols,
                   DVec& y) {
  y.assign(x.size(), 0.0);
  for (int r = 0; r < rows; ++r) {
    double mean = 0.0, var = 0.0;
    for (int j = 0; j < cols; ++j) mean += x[size_t(r) * cols + j];
    mean /= cols;
    for (int j = 0; j < cols; ++j) var += std::pow(x[size_t(r) * cols + j] - mean, 2);
    var /= cols;
    for (int j = 0; j < cols; ++j)
      y[size_t(r) * cols + j] =
          (x[size_t(r) * cols + j] - mean) / std::sqrt(var + eps) * g[j] + b[j];
  }
}

void test_layernorm() {
  for (int cols : {17, 40}) {
    const int rows = 5;
    const float eps = 1e-5f;
    Vec x = random_vec(size_t(rows) * cols, -2.0f, 3.0f), g = random_vec(cols, 0.5f, 1.5f),
        b = random_vec(cols), w = random_vec(size_t(rows) * cols);
    Vec y(x.size()), mean(rows), rstd(rows);
    int rc = sp_cpu_layernorm_fwd(x.data(), g.data(), b.data(), eps, y.data(), mean.data(),
                                  rstd.data(), rows, cols);
    DVec xd = to_double(x), gd = to_double(g), bd = to_double(b), wd = to_double(w), yref;
    layernorm_ref(xd, gd, bd, eps, rows, cols, yref);
    report(rc == SP_OK, "layernorm_fwd rc");
    close(tag("layernorm_fwd cols=%d", cols), y, yref, 1e-5, 1e-5);

    Vec dx(x.size()), dg(cols, 0.25f), db(cols, -0.5f);
    rc = sp_cpu_layernorm_bwd(w.data(), x.data(), g.data(), mean.data(), rstd.data(), dx.data(),
                              dg.data(), db.data(), rows, cols);
    report(rc == SP_OK, "layernorm_bwd rc");
    auto loss = [&] {
      DVec yy;
      layernorm_ref(xd, gd, bd, eps, rows, cols, yy);
      return weighted_sum(wd, yy);
    };
    DVec fx = finite_diff(xd, loss), fg = finite_diff(gd, loss), fb = finite_diff(bd, loss);
    for (auto& v : fg) v += 0.25;  // dgamma / dbeta accumulate into their previous values
    for (auto& v : fb) v -= 0.5;
    close(tag("layernorm_bwd dx (fd) cols=%d", cols), dx, fx, 1e-3, 1e-4);
    close(tag("layernorm_bwd dgamma (fd) cols=%d", cols), dg, fg, 1e-3, 1e-4);
    close(tag("layernorm_bwd dbeta (fd) cols=%d", cols), db, fb, 1e-3, 1e-4);
  }
}

// ------------------------------------------------------------------------ activations ----

double gelu_ref(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }
double quickgelu_ref(double x) { return x / (1.0 + std::exp(-1.702 * x)); }

void test_activations() {
  const int n = 37;
  Vec x = random_vec(n, -5.0f, 5.0f), dy = random_vec(n);
  struct Act {
    const char* name;
    int (*fwd)(const float*, float*, int64_t);
    int (*bwd)(const float*, const float*, float*, int64_t);
    double (*ref)(double);
  };
  const Act acts[] = {{"gelu", sp_cpu_gelu_fwd, sp_cpu_gelu_bwd, gelu_ref},
                      {"quickgelu", sp_cpu_quickgelu_fwd, sp_cpu_quickgelu_bwd, quickgelu_ref}};
  for (const Act& act : acts) {
    Vec y(n), dx(n);
    DVec yref(n), fd(n);
    for (int i = 0; i < n; ++i) {
      yref[i] = act.ref(x[i]);
      const double h = 1e-5;
      fd[i] = dy[i] * (act.ref(x[i] + h) - act.ref(x[i] - h)) / (2 * h);
    }
    report(act.fwd(x.data(), y.data(), n) == SP_OK &&
               act.bwd(x.data(), dy.data(), dx.data(), n) == SP_OK,
           std::string(act.name) + " rc");
    close(std::string(act.name) + "_fwd", y, yref, 1e-5, 1e-6);
    close(std::string(act.name) + "_bwd (fd)", dx, fd, 1e-4, 1e-5);
  }
}

// --------------------------------------------------------------------------- softmax ----

void softmax_ref(const DVec& x, int rows, int cols, DVec& y) {
  y.assign(x.size(), 0.0);
  for (int r = 0; r < rows; ++r) {
    const double* xr = &x[size_t(r) * cols];
    const double m = *std::max_element(xr, xr + cols);
    double s = 0.0;
    for (int j = 0; j < cols; ++j) s += std::exp(xr[j] - m);
    for (int j = 0; j < cols; ++j) y[size_t(r) * cols + j] = std::exp(xr[j] - m) / s;
  }
}

void test_softmax() {
  for (int cols : {1, 13, 100}) {
    const int rows = 4;
    Vec x = random_vec(size_t(rows) * cols, -6.0f, 6.0f), w = random_vec(x.size());
    DVec xd = to_double(x), wd = to_double(w), yref;
    softmax_ref(xd, rows, cols, yref);
    Vec y(x.size());
    report(sp_cpu_softmax_fwd(x.data(), y.data(), rows, cols) == SP_OK, "softmax_fwd rc");
    close(tag("softmax_fwd cols=%d", cols), y, yref, 1e-5, 1e-7);
    Vec inplace = x;
    sp_cpu_softmax_fwd(inplace.data(), inplace.data(), rows, cols);
    close(tag("softmax_fwd in place cols=%d", cols), inplace, yref, 1e-5, 1e-7);

    Vec dx(x.size());
    report(sp_cpu_softmax_bwd(y.data(), w.data(), dx.data(), rows, cols) == SP_OK,
           "softmax_bwd rc");
    DVec fd = finite_diff(xd, [&] {
      DVec yy;
      softmax_ref(xd, rows, cols, yy);
      return weighted_sum(wd, yy);
    });
    close(tag("softmax_bwd (fd) cols=%d", cols), dx, fd, 1e-3, 1e-5);
  }
}

// ---------------------------------------------------------------------- cross-entropy ----

double ce_ref(const DVec& z, const std::vector<int32_t>& labels, int batch, int classes, int lo,
              int hi) {
  double total = 0.0;
  for (int b = 0; b < batch; ++b) {
    const double* zb = &z[size_t(b) * classes];
    double m = -INFINITY, s = 0.0;
    for (int c = lo; c < hi; ++c) m = std::max(m, zb[c]);
    for (int c = lo; c < hi; ++c) s += std::exp(zb[c] - m);
    total += m + std::log(s) - zb[labels[b]];
  }
  return total / batch;
}

void test_cross_entropy() {
  const int batch = 6, classes = 11, lo = 3, hi = 9;
  Vec z = random_vec(size_t(batch) * classes, -4.0f, 4.0f);
  std::vector<int32_t> labels = {3, 8, 5, 4, 8, 6};
  DVec zd = to_double(z);
  float loss = 0.0f;
  Vec dz(z.size(), 7.0f);
  int rc = sp_cpu_cross_entropy(z.data(), labels.data(), batch, classes, lo, hi, &loss, dz.data());
  report(rc == SP_OK, "cross_entropy rc");
  const double want = ce_ref(zd, labels, batch, classes, lo, hi);
  DVec lw = {want};
  close("cross_entropy loss", Vec{loss}, lw, 1e-6, 1e-7);
  DVec fd = finite_diff(zd, [&] { return ce_ref(zd, labels, batch, classes, lo, hi); });
  close("cross_entropy dlogits (fd)", dz, fd, 1e-4, 1e-6);
  float loss2 = 0.0f;
  rc = sp_cpu_cross_entropy(z.data(), labels.data(), batch, classes, lo, hi, &loss2, nullptr);
  report(rc == SP_OK && loss2 == loss, "cross_entropy without dlogits");

  // A label outside [lo, hi) is rejected before anything is written.
  labels[2] = 1;
  float untouched = -3.0f;
  Vec dz2(z.size(), 7.0f);
  rc =
      sp_cpu_cross_entropy(z.data(), labels.data(), batch, classes, lo, hi, &untouched, dz2.data());
  report(
      rc == SP_ERR_ARG && untouched == -3.0f && dz2[0] == 7.0f && std::strlen(sp_last_error()) > 0,
      "cross_entropy rejects label outside window");
}

// ------------------------------------------------------------------------- attention ----

struct AttnCase {
  int batch, nq, nk, lp, heads, hd;
  bool causal, residual;
  float peak = 1.0f;  // query magnitude: large values make the softmax nearly one-hot
};

struct AttnData {
  Vec q, k, v, pk, pv, r;
  float scale;
};

AttnData make_attention(const AttnCase& c) {
  const size_t w = size_t(c.heads) * c.hd;
  AttnData d;
  d.q = random_vec(c.batch * c.nq * w, -1.5f * c.peak, 1.5f * c.peak);
  d.k = random_vec(c.batch * c.nk * w, -1.5f, 1.5f);
  d.v = random_vec(c.batch * c.nk * w);
  d.pk = random_vec(c.batch * c.lp * w, -1.5f, 1.5f);
  d.pv = random_vec(c.batch * c.lp * w);
  d.r = random_vec(c.batch * w);
  d.scale = 1.0f / std::sqrt(float(c.hd));
  return d;
}

const float* opt(const Vec& v, bool on) { return on ? v.data() : nullptr; }
float* opt(Vec& v, bool on) { return on ? v.data() : nullptr; }

struct AttnOut {
  Vec out, lse, dq, dk, dv, dpk, dpv, dr;
};

using AttnFwd = int (*)(const float*, const float*, const float*, const float*, const float*,
                        const float*, float*, float*, int, int, int, int, int, int, float, int);
using AttnBwd = int (*)(const float*, const float*, const float*, const float*, const float*,
                        const float*, const float*, const float*, const float*, float*, float*,
                        float*, float*, float*, float*, int, int, int, int, int, int, float, int);

AttnOut run_attention(const AttnCase& c, const AttnData& d, const Vec& dout, AttnFwd fwd,
                      AttnBwd bwd, int* rc) {
  const size_t w = size_t(c.heads) * c.hd;
  const bool pre = c.lp > 0;
  AttnOut o;
  o.out.assign(c.batch * c.nq * w, NAN);
  o.lse.assign(size_t(c.batch) * c.heads * c.nq, NAN);
  *rc =
      fwd(d.q.data(), d.k.data(), d.v.data(), opt(d.pk, pre), opt(d.pv, pre), opt(d.r, c.residual),
          o.out.data(), o.lse.data(), c.batch, c.nq, c.nk, c.lp, c.heads, c.hd, d.scale, c.causal);
  if (*rc != SP_OK || !bwd) return o;
  o.dq.assign(d.q.size(), NAN);
  o.dk.assign(d.k.size(), NAN);
  o.dv.assign(d.v.size(), NAN);
  o.dpk.assign(d.pk.size(), NAN);
  o.dpv.assign(d.pv.size(), NAN);
  o.dr.assign(d.r.size(), NAN);
  *rc = bwd(d.q.data(), d.k.data(), d.v.data(), opt(d.pk, pre), opt(d.pv, pre),
            opt(d.r, c.residual), o.out.data(), o.lse.data(), dout.data(), o.dq.data(), o.dk.data(),
            o.dv.data(), opt(o.dpk, pre), opt(o.dpv, pre), opt(o.dr, c.residual), c.batch, c.nq,
            c.nk, c.lp, c.heads, c.hd, d.scale, c.causal);
  return o;
}

void test_attention_tiled_vs_naive() {
  std::vector<AttnCase> cases;
  int variant = 0;
  for (int n : {197, 17, 10})
    for (int hd : {32, 64})
      for (int lp : {0, 3})
        for (int causal : {0, 1})
          for (int batch : {1, 3}) {
            // Scale the big cases down a little to keep the whole test fast.
            const int heads = n == 197 && batch == 3 ? 1 : 2;
            cases.push_back({batch, n, n, lp, heads, hd, causal != 0, (variant++ % 3) != 0});
          }
  // Head sizes that are not a multiple of the vector tile, and cross attention (nq != nk).
  cases.push_back({2, 70, 70, 3, 2, 20, true, true});
  cases.push_back({1, 9, 9, 0, 3, 8, false, false});
  cases.push_back({2, 10, 17, 3, 2, 32, true, true});
  cases.push_back({2, 130, 17, 0, 1, 64, true, false});
  cases.push_back({1, 17, 130, 70, 2, 16, true, true});
  cases.push_back({2, 5, 0, 4, 2, 32, true, true});  // prefix keys only
  cases.push_back({2, 9, 9, 2, 2, 3, true, true});   // head size below one vector
  cases.push_back({2, 150, 150, 3, 2, 32, true, true, 40.0f});  // peaked scores, exp underflow

  for (const AttnCase& c : cases) {
    const std::string name = tag("attention B=%d N=%d Nk=%d Lp=%d hd=%d causal=%d", c.batch, c.nq,
                                 c.nk, c.lp, c.hd, c.causal);
    AttnData d = make_attention(c);
    Vec dout = random_vec(d.q.size());
    int rc_n = 0, rc_t = 0;
    AttnOut naive =
        run_attention(c, d, dout, sp_cpu_attention_fwd_naive, sp_cpu_attention_bwd_naive, &rc_n);
    AttnOut tiled =
        run_attention(c, d, dout, sp_cpu_attention_fwd_tiled, sp_cpu_attention_bwd_tiled, &rc_t);
    report(rc_n == SP_OK && rc_t == SP_OK, name + " rc");
    const double rt = 1e-4, at = 2e-5;
    close(name + " out", tiled.out, naive.out, rt, at);
    close(name + " lse", tiled.lse, naive.lse, rt, at);
    auto grad_tol = [&](const Vec& ref) { return at * std::max(1.0, max_abs(to_double(ref))); };
    close(name + " dq", tiled.dq, naive.dq, rt, grad_tol(naive.dq));
    close(name + " dk", tiled.dk, naive.dk, rt, grad_tol(naive.dk));
    close(name + " dv", tiled.dv, naive.dv, rt, grad_tol(naive.dv));
    if (c.lp > 0) {
      close(name + " dpk", tiled.dpk, naive.dpk, rt, grad_tol(naive.dpk));
      close(name + " dpv", tiled.dpv, naive.dpv, rt, grad_tol(naive.dpv));
    }
    if (c.residual) close(name + " dr", tiled.dr, naive.dr, rt, grad_tol(naive.dr));
  }
}

// out = softmax(scale q [pk; k]^T) [pv; v] + r, in double.
void attention_ref(const AttnCase& c, const DVec& q, const DVec& k, const DVec& v, const DVec& pk,
                   const DVec& pv, const DVec& r, double scale, DVec& out) {
  const int w = c.heads * c.hd, L = c.lp + c.nk;
  out.assign(size_t(c.batch) * c.nq * w, 0.0);
  auto krow = [&](const DVec& pre, const DVec& main, int b, int t) {
    return t < c.lp ? &pre[(size_t(b) * c.lp + t) * w] : &main[(size_t(b) * c.nk + t - c.lp) * w];
  };
  for (int b = 0; b < c.batch; ++b)
    for (int h = 0; h < c.heads; ++h)
      for (int i = 0; i < c.nq; ++i) {
        DVec s(L, -INFINITY);
        const double* qi = &q[(size_t(b) * c.nq + i) * w + h * c.hd];
        for (int t = 0; t < L; ++t) {
          if (c.causal && t >= c.lp && t - c.lp > i) continue;
          const double* kt = krow(pk, k, b, t) + h * c.hd;
          double dot = 0.0;
          for (int e = 0; e < c.hd; ++e) dot += qi[e] * kt[e];
          s[t] = scale * dot;
        }
        const double m = *std::max_element(s.begin(), s.end());
        double sum = 0.0;
        for (double& x : s) sum += x = std::exp(x - m);
        double* o = &out[(size_t(b) * c.nq + i) * w + h * c.hd];
        for (int e = 0; e < c.hd; ++e) o[e] = c.residual ? r[size_t(b) * w + h * c.hd + e] : 0.0;
        for (int t = 0; t < L; ++t) {
          const double* vt = krow(pv, v, b, t) + h * c.hd;
          for (int e = 0; e < c.hd; ++e) o[e] += s[t] / sum * vt[e];
        }
      }
}

void test_attention_naive_fd() {
  for (int causal : {0, 1}) {
    const AttnCase c{2, 5, 4, 2, 2, 3, causal != 0, true};
    AttnData d = make_attention(c);
    Vec w = random_vec(d.q.size());
    int rc = 0;
    AttnOut g = run_attention(c, d, w, sp_cpu_attention_fwd_naive, sp_cpu_attention_bwd_naive, &rc);
    report(rc == SP_OK, "attention naive fd rc");
    DVec q = to_double(d.q), k = to_double(d.k), v = to_double(d.v), pk = to_double(d.pk),
         pv = to_double(d.pv), r = to_double(d.r), wd = to_double(w);
    auto loss = [&] {
      DVec out;
      attention_ref(c, q, k, v, pk, pv, r, d.scale, out);
      return weighted_sum(wd, out);
    };
    DVec out_ref;
    attention_ref(c, q, k, v, pk, pv, r, d.scale, out_ref);
    const std::string name = tag("attention_bwd_naive (fd) causal=%d", causal);
    close(name + " out", g.out, out_ref, 1e-5, 1e-6);
    close(name + " dq", g.dq, finite_diff(q, loss), 1e-3, 1e-5);
    close(name + " dk", g.dk, finite_diff(k, loss), 1e-3, 1e-5);
    close(name + " dv", g.dv, finite_diff(v, loss), 1e-3, 1e-5);
    close(name + " dpk", g.dpk, finite_diff(pk, loss), 1e-3, 1e-5);
    close(name + " dpv", g.dpv, finite_diff(pv, loss), 1e-3, 1e-5);
    close(name + " dr", g.dr, finite_diff(r, loss), 1e-3, 1e-5);
  }
}

// ------------------------------------------------------------------------- retrieval ----

struct RetCase {
  int batch, seen, classes, d, dp, layers, past;
  bool modulate;
};

struct RetData {
  Vec q, keys, a, p;
};

RetData make_retrieval(const RetCase& c) {
  RetData r;
  r.q = random_vec(size_t(c.batch) * c.d, -2.0f, 2.0f);
  r.keys = random_vec(size_t(c.seen) * c.d);
  for (int s = 0; s < c.seen; ++s) {  // unit keys
    double n = 0.0;
    for (int j = 0; j < c.d; ++j)
      n += double(r.keys[size_t(s) * c.d + j]) * r.keys[size_t(s) * c.d + j];
    for (int j = 0; j < c.d; ++j) r.keys[size_t(s) * c.d + j] /= float(std::sqrt(n));
  }
  r.a = random_vec(size_t(c.layers) * c.classes * c.d, -1.0f, 1.0f);
  r.p = random_vec(size_t(c.layers) * c.classes * c.dp);
  return r;
}

struct RetOut {
  Vec sims, sp;
  std::vector<int32_t> sel;
};

using RetFwd = int (*)(const float*, const float*, const float*, const float*, int, int, int, int,
                       int, int, int, float*, int32_t*, float*);
using RetBwd = int (*)(const float*, const float*, const float*, const float*, const float*,
                       const int32_t*, const float*, int, int, int, int, int, int, int, int, float*,
                       float*);

RetOut run_retrieval(const RetCase& c, const RetData& r, RetFwd fwd, int* rc) {
  RetOut o;
  o.sims.assign(size_t(c.layers) * c.batch * c.seen, NAN);
  o.sel.assign(size_t(c.layers) * c.batch, -1);
  o.sp.assign(size_t(c.layers) * c.batch * c.dp, NAN);
  *rc = fwd(r.q.data(), r.keys.data(), r.a.data(), r.p.data(), c.batch, c.seen, c.classes, c.d,
            c.dp, c.layers, c.modulate, o.sims.data(), o.sel.data(), o.sp.data());
  return o;
}

void run_retrieval_bwd(const RetCase& c, const RetData& r, const RetOut& f, const Vec& dsp,
                       RetBwd bwd, Vec& da, Vec& dpg, int* rc) {
  da.assign(r.a.size(), NAN);
  dpg.assign(r.p.size(), NAN);
  *rc = bwd(r.q.data(), r.keys.data(), r.a.data(), r.p.data(), f.sims.data(), f.sel.data(),
            dsp.data(), c.batch, c.seen, c.classes, c.past, c.d, c.dp, c.layers, c.modulate,
            da.data(), dpg.data());
}

void test_retrieval_fused_vs_naive() {
  std::vector<RetCase> cases;
  for (int seen : {1, 7})
    for (int past : {0, 3})
      for (int modulate : {0, 1})
        for (int batch : {1, 5})
          if (past < seen || past == 0)
            cases.push_back({batch, seen, seen + 3, 37, 19, 3, past, modulate != 0});
  cases.push_back({20, 70, 80, 100, 24, 2, 40, true});     // several class blocks with a tail
  cases.push_back({32, 100, 100, 768, 768, 2, 90, true});  // reference-like sizes
  for (const RetCase& c : cases) {
    const std::string name = tag("retrieval B=%d seen=%d d=%d past=%d modulate=%d", c.batch, c.seen,
                                 c.d, c.past, c.modulate);
    RetData r = make_retrieval(c);
    int rc_n = 0, rc_f = 0;
    RetOut naive = run_retrieval(c, r, sp_cpu_retrieval_fwd_naive, &rc_n);
    RetOut fused = run_retrieval(c, r, sp_cpu_retrieval_fwd_fused, &rc_f);
    report(rc_n == SP_OK && rc_f == SP_OK, name + " rc");
    close(name + " sims", fused.sims, naive.sims, 1e-4, 2e-5);
    // A different argmax is acceptable only for a near tie.
    bool sel_ok = true;
    for (size_t x = 0; x < naive.sel.size(); ++x) {
      if (naive.sel[x] == fused.sel[x]) continue;
      const float* s = &naive.sims[x * c.seen];
      if (std::fabs(s[naive.sel[x]] - s[fused.sel[x]]) > 1e-4f) sel_ok = false;
    }
    report(sel_ok, name + " sel");
    if (naive.sel != fused.sel) continue;  // gradients are only comparable for equal selections
    close(name + " sp", fused.sp, naive.sp, 1e-4, 2e-5);

    Vec dsp = random_vec(naive.sp.size());
    Vec da_n, dp_n, da_f, dp_f;
    run_retrieval_bwd(c, r, naive, dsp, sp_cpu_retrieval_bwd_naive, da_n, dp_n, &rc_n);
    run_retrieval_bwd(c, r, naive, dsp, sp_cpu_retrieval_bwd_fused, da_f, dp_f, &rc_f);
    report(rc_n == SP_OK && rc_f == SP_OK, name + " bwd rc");
    const DVec dan = to_double(da_n), dpn = to_double(dp_n);
    close(name + " dA", da_f, dan, 1e-4, 1e-5 * std::max(1.0, max_abs(dan)));
    close(name + " dP", dp_f, dpn, 1e-4, 1e-5 * std::max(1.0, max_abs(dpn)));
  }
}

// sp[l, b] = w * P[l, sel] with the selection held fixed (the argmax is not differentiated).
void retrieval_sp_ref(const RetCase& c, const DVec& q, const DVec& keys, const DVec& a,
                      const DVec& p, const std::vector<int32_t>& sel, DVec& sp) {
  sp.assign(size_t(c.layers) * c.batch * c.dp, 0.0);
  for (int l = 0; l < c.layers; ++l)
    for (int b = 0; b < c.batch; ++b) {
      const int s = sel[size_t(l) * c.batch + b];
      const double* ar = &a[(size_t(l) * c.classes + s) * c.d];
      const double m = *std::max_element(ar, ar + c.d);
      double z = 0.0;
      for (int j = 0; j < c.d; ++j) z += std::exp(ar[j] - m);
      double dot = 0.0, nn = 0.0;
      for (int j = 0; j < c.d; ++j) {
        const double u = q[size_t(b) * c.d + j] * std::exp(ar[j] - m) / z;
        dot += u * keys[size_t(s) * c.d + j];
        nn += u * u;
      }
      const double w = c.modulate ? 5.0 * dot / std::max(std::sqrt(nn), 1e-12) : 1.0;
      for (int j = 0; j < c.dp; ++j)
        sp[(size_t(l) * c.batch + b) * c.dp + j] = w * p[(size_t(l) * c.classes + s) * c.dp + j];
    }
}

void test_retrieval_naive_fd() {
  for (int modulate : {0, 1}) {
    const RetCase c{6, 4, 6, 9, 5, 2, 1, modulate != 0};
    RetData r = make_retrieval(c);
    int rc = 0;
    RetOut f = run_retrieval(c, r, sp_cpu_retrieval_fwd_naive, &rc);
    Vec dsp = random_vec(f.sp.size());
    Vec da, dpg;
    run_retrieval_bwd(c, r, f, dsp, sp_cpu_retrieval_bwd_naive, da, dpg, &rc);
    report(rc == SP_OK, "retrieval naive fd rc");
    DVec q = to_double(r.q), keys = to_double(r.keys), a = to_double(r.a), p = to_double(r.p),
         wd = to_double(dsp);
    auto loss = [&] {
      DVec sp;
      retrieval_sp_ref(c, q, keys, a, p, f.sel, sp);
      return weighted_sum(wd, sp);
    };
    DVec fa = finite_diff(a, loss), fp = finite_diff(p, loss);
    // Rows of selected current classes carry the true gradient; every other row must be zero.
    std::vector<char> current(size_t(c.layers) * c.classes, 0);
    for (int l = 0; l < c.layers; ++l)
      for (int b = 0; b < c.batch; ++b) {
        const int s = f.sel[size_t(l) * c.batch + b];
        if (s >= c.past) current[size_t(l) * c.classes + s] = 1;
      }
    bool zero_ok = true;
    int checked = 0;
    for (size_t row = 0; row < current.size(); ++row) {
      if (current[row]) {
        ++checked;
        close(tag("retrieval_bwd_naive (fd) modulate=%d dA row %d", modulate, int(row)),
              &da[row * c.d], &fa[row * c.d], c.d, 1e-3, 1e-5);
        close(tag("retrieval_bwd_naive (fd) modulate=%d dP row %d", modulate, int(row)),
              &dpg[row * c.dp], &fp[row * c.dp], c.dp, 1e-3, 1e-5);
      } else {
        for (int j = 0; j < c.d; ++j) zero_ok &= da[row * c.d + j] == 0.0f;
        for (int j = 0; j < c.dp; ++j) zero_ok &= dpg[row * c.dp + j] == 0.0f;
      }
    }
    report(checked > 0, "retrieval fd exercised some current class");
    report(zero_ok, tag("retrieval_bwd_naive frozen/unselected rows zero modulate=%d", modulate));
  }
}

// --------------------------------------------------------------------- small kernels ----

void test_small_kernels() {
  // Embedding gather / scatter-add with repeated ids.
  const int vocab = 7, dim = 5, n = 6;
  Vec table = random_vec(size_t(vocab) * dim);
  std::vector<int32_t> ids = {3, 0, 6, 3, 3, 1};
  Vec out(size_t(n) * dim);
  bool ok = sp_cpu_embedding_gather(table.data(), ids.data(), out.data(), n, dim, vocab) == SP_OK;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < dim; ++j) ok &= out[size_t(i) * dim + j] == table[size_t(ids[i]) * dim + j];
  report(ok, "embedding_gather");
  Vec dtab(table.size(), 1.0f);
  DVec want(table.size(), 1.0);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < dim; ++j) want[size_t(ids[i]) * dim + j] += out[size_t(i) * dim + j];
  report(sp_cpu_embedding_scatter_add(out.data(), ids.data(), dtab.data(), n, dim, vocab) == SP_OK,
         "embedding_scatter_add rc");
  close("embedding_scatter_add", dtab, want, 1e-6, 1e-6);
  std::vector<int32_t> bad = {0, 7};
  Vec before = out;
  report(
      sp_cpu_embedding_gather(table.data(), bad.data(), out.data(), 2, dim, vocab) == SP_ERR_ARG &&
          out == before,
      "embedding_gather rejects id == vocab, writes nothing");

  // Token sum / gather / scatter-add.
  const int batch = 3, tokens = 4;
  Vec x = random_vec(size_t(batch) * tokens * dim);
  Vec sum(size_t(batch) * dim);
  DVec sum_ref(sum.size(), 0.0);
  for (int b = 0; b < batch; ++b)
    for (int t = 0; t < tokens; ++t)
      for (int j = 0; j < dim; ++j)
        sum_ref[size_t(b) * dim + j] += x[(size_t(b) * tokens + t) * dim + j];
  report(sp_cpu_token_sum(x.data(), sum.data(), batch, tokens, dim) == SP_OK, "token_sum rc");
  close("token_sum", sum, sum_ref, 1e-6, 1e-6);
  std::vector<int32_t> idx = {2, 0, 3};
  Vec g(size_t(batch) * dim);
  ok = sp_cpu_token_gather(x.data(), idx.data(), g.data(), batch, tokens, dim) == SP_OK;
  for (int b = 0; b < batch; ++b)
    for (int j = 0; j < dim; ++j)
      ok &= g[size_t(b) * dim + j] == x[(size_t(b) * tokens + idx[b]) * dim + j];
  report(ok, "token_gather");
  Vec dx(x.size(), 0.5f);
  DVec dx_ref(x.size(), 0.5);
  for (int b = 0; b < batch; ++b)
    for (int j = 0; j < dim; ++j)
      dx_ref[(size_t(b) * tokens + idx[b]) * dim + j] += g[size_t(b) * dim + j];
  report(sp_cpu_token_scatter_add(g.data(), idx.data(), dx.data(), batch, tokens, dim) == SP_OK,
         "token_scatter_add rc");
  close("token_scatter_add", dx, dx_ref, 1e-6, 1e-6);
  idx[1] = tokens;
  report(sp_cpu_token_gather(x.data(), idx.data(), g.data(), batch, tokens, dim) == SP_ERR_ARG,
         "token_gather rejects idx == tokens");

  // Bias and axpy.
  Vec m = random_vec(3 * 5), bias = random_vec(5), y = random_vec(15);
  DVec m_ref = to_double(m), y_ref = to_double(y);
  for (int r = 0; r < 3; ++r)
    for (int j = 0; j < 5; ++j) m_ref[size_t(r) * 5 + j] += bias[j];
  for (int i = 0; i < 15; ++i) y_ref[i] += 0.3f * m[i];
  report(sp_cpu_axpy(y.data(), m.data(), 0.3f, 15) == SP_OK, "axpy rc");
  report(sp_cpu_add_bias(m.data(), bias.data(), 3, 5) == SP_OK, "add_bias rc");
  close("add_bias", m, m_ref, 1e-6, 1e-6);
  close("axpy", y, y_ref, 1e-6, 1e-6);

  // Adam over three steps against the torch formula in double; then SGD.
  const int64_t np = 11;
  Vec p = random_vec(np), mm(np, 0.0f), vv(np, 0.0f);
  DVec pd = to_double(p), md(np, 0.0), vd(np, 0.0);
  const double lr = 1e-2, b1 = 0.9, b2 = 0.999, eps = 1e-8, wdk = 0.01;
  ok = true;
  for (int step = 1; step <= 3; ++step) {
    Vec grad = random_vec(np);
    ok &= sp_cpu_adam_step(p.data(), grad.data(), mm.data(), vv.data(), np, float(lr), float(b1),
                           float(b2), float(eps), float(wdk), step) == SP_OK;
    for (int64_t i = 0; i < np; ++i) {
      const double gi = grad[i] + wdk * pd[i];
      md[i] = b1 * md[i] + (1 - b1) * gi;
      vd[i] = b2 * vd[i] + (1 - b2) * gi * gi;
      const double denom = std::sqrt(vd[i]) / std::sqrt(1 - std::pow(b2, step)) + eps;
      pd[i] -= lr / (1 - std::pow(b1, step)) * md[i] / denom;
    }
  }
  report(ok, "adam rc");
  close("adam 3 steps", p, pd, 1e-5, 1e-6);
  Vec grad = random_vec(np);
  for (int64_t i = 0; i < np; ++i) pd[i] = p[i] - 0.1 * (grad[i] + 0.01 * p[i]);
  report(sp_cpu_sgd_step(p.data(), grad.data(), np, 0.1f, 0.01f) == SP_OK, "sgd rc");
  close("sgd", p, pd, 1e-6, 1e-7);
  report(sp_cpu_adam_step(p.data(), grad.data(), mm.data(), vv.data(), np, 0.1f, 0.9f, 0.999f,
                          1e-8f, 0.0f, 0) == SP_ERR_ARG,
         "adam rejects step 0");
}

// -------------------------------------------------------------------------- validation ----

void test_validation() {
  const AttnCase c{1, 4, 4, 2, 1, 8, false, true};
  AttnData d = make_attention(c);
  Vec out(d.q.size(), 9.0f), lse(4, 9.0f), g(d.q.size()), gk(d.k.size()), gv(d.v.size()),
      gp(d.pk.size()), gpv(d.pv.size()), gr(d.r.size());
  int rc = sp_cpu_attention_fwd_tiled(d.q.data(), d.k.data(), d.v.data(), nullptr, nullptr, nullptr,
                                      out.data(), lse.data(), 1, 4, 4, 2, 1, 8, 0.3f, 0);
  report(rc == SP_ERR_ARG && out[0] == 9.0f, "attention rejects lp > 0 without pk, writes nothing");
  rc = sp_cpu_attention_fwd_naive(d.q.data(), d.k.data(), d.v.data(), nullptr, nullptr, nullptr,
                                  out.data(), lse.data(), 1, 4, -1, 0, 1, 8, 0.3f, 0);
  report(rc == SP_ERR_ARG, "attention rejects negative nk");
  rc =
      sp_cpu_attention_bwd_tiled(d.q.data(), d.k.data(), d.v.data(), nullptr, nullptr, nullptr,
                                 out.data(), lse.data(), out.data(), g.data(), gk.data(), gv.data(),
                                 gp.data(), nullptr, nullptr, 1, 4, 4, 0, 1, 8, 0.3f, 0);
  report(rc == SP_ERR_ARG, "attention_bwd rejects dpk without pk");
  rc = sp_cpu_attention_bwd_naive(d.q.data(), d.k.data(), d.v.data(), nullptr, nullptr, d.r.data(),
                                  out.data(), lse.data(), out.data(), g.data(), gk.data(),
                                  gv.data(), nullptr, nullptr, nullptr, 1, 4, 4, 0, 1, 8, 0.3f, 0);
  report(rc == SP_ERR_ARG, "attention_bwd requires dr with r");
  rc = sp_cpu_attention_fwd_tiled(d.q.data(), d.k.data(), d.v.data(), nullptr, nullptr, nullptr,
                                  out.data(), lse.data(), 1, 4, 0, 0, 1, 8, 0.3f, 0);
  report(rc == SP_ERR_ARG, "attention rejects a query with no keys");

  RetCase rcs{2, 3, 4, 5, 3, 1, 1, true};
  RetData r = make_retrieval(rcs);
  Vec sims(6), sp(6), da(r.a.size(), 4.0f), dpg(r.p.size(), 4.0f), dsp(6);
  std::vector<int32_t> sel = {0, 3};  // 3 == seen
  rc = sp_cpu_retrieval_bwd_fused(r.q.data(), r.keys.data(), r.a.data(), r.p.data(), sims.data(),
                                  sel.data(), dsp.data(), 2, 3, 4, 1, 5, 3, 1, 1, da.data(),
                                  dpg.data());
  report(rc == SP_ERR_ARG && da[0] == 4.0f, "retrieval_bwd rejects sel >= seen, writes nothing");
  rc = sp_cpu_retrieval_fwd_fused(r.q.data(), r.keys.data(), r.a.data(), r.p.data(), 2, 5, 4, 5, 3,
                                  1, 1, sims.data(), sel.data(), sp.data());
  report(rc == SP_ERR_ARG, "retrieval rejects seen > classes");
  rc = sp_cpu_retrieval_bwd_naive(r.q.data(), r.keys.data(), r.a.data(), r.p.data(), sims.data(),
                                  sel.data(), dsp.data(), 2, 3, 4, 4, 5, 3, 1, 1, da.data(),
                                  dpg.data());
  report(rc == SP_ERR_ARG, "retrieval_bwd rejects past > seen");
  rc = sp_cpu_gemm_naive(0, 0, -1, 2, 2, 1.0f, sims.data(), 0, sims.data(), 0, 0.0f, sp.data(), 0,
                         1);
  report(rc == SP_ERR_ARG, "gemm rejects negative m");
  rc =
      sp_cpu_gemm_naive(0, 0, 2, 2, 1, 1.0f, sims.data(), 0, sims.data(), 0, 0.0f, sp.data(), 0, 2);
  report(rc == SP_ERR_ARG, "gemm rejects overlapping C batches");
  rc = sp_cpu_layernorm_fwd(nullptr, sims.data(), sims.data(), 1e-5f, sp.data(), da.data(),
                            dpg.data(), 1, 3);
  report(rc == SP_ERR_ARG, "layernorm rejects NULL x");
  rc = sp_cpu_softmax_fwd(sims.data(), sp.data(), -1, 3);
  report(rc == SP_ERR_ARG, "softmax rejects negative rows");
}

// ------------------------------------------------------------------------ thread pool ----

void test_threads() {
  const int saved = sp_cpu_get_threads();
  report(saved >= 1, "default thread count >= 1");
  const AttnCase c{2, 70, 70, 3, 3, 32, true, true};
  AttnData d = make_attention(c);
  Vec dout = random_vec(d.q.size());
  int rc = 0;
  AttnOut multi =
      run_attention(c, d, dout, sp_cpu_attention_fwd_tiled, sp_cpu_attention_bwd_tiled, &rc);
  sp_cpu_set_threads(1);
  report(sp_cpu_get_threads() == 1, "set_threads(1)");
  AttnOut single =
      run_attention(c, d, dout, sp_cpu_attention_fwd_tiled, sp_cpu_attention_bwd_tiled, &rc);
  report(single.out == multi.out && single.dk == multi.dk && single.dq == multi.dq,
         "tiled attention independent of thread count");
  sp_cpu_set_threads(3);
  report(sp_cpu_get_threads() == 3, "set_threads(3)");
  sp_cpu_set_threads(0);
  report(sp_cpu_get_threads() == saved, "set_threads(0) restores the default");

  // Concurrent callers: whoever finds the pool busy runs serially; results must not change.
  std::vector<AttnOut> results(4);
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&, t] {
      int rct = 0;
      results[t] =
          run_attention(c, d, dout, sp_cpu_attention_fwd_tiled, sp_cpu_attention_bwd_tiled, &rct);
    });
  }
  for (auto& th : callers) th.join();
  bool same = true;
  for (const AttnOut& o : results) same &= o.out == multi.out && o.dv == multi.dv;
  report(same, "concurrent callers get identical results");
}

}  // namespace

int main() {
  test_gemm();
  test_layernorm();
  test_activations();
  test_softmax();
  test_cross_entropy();
  test_attention_tiled_vs_naive();
  test_attention_naive_fd();
  test_retrieval_fused_vs_naive();
  test_retrieval_naive_fd();
  test_small_kernels();
  test_validation();
  test_threads();
  std::printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
