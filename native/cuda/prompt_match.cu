// Cosine top-N prompt match (methods/l2p.md §3, §6) on device.
//
// Forward: one block per (key, sample) reduces <q, k>, <q, q>, <k, k>; one thread per sample
// then takes its top-N (pools are tens of keys); the optional batch vote runs in one block.
// Backward: one block per chosen pair reduces the same three terms into scratch, then one block
// per key (and one per sample for dq) sums its pairs in a fixed order: no atomics, deterministic.
#include "common.cuh"

namespace {

constexpr int kThreads = 128;
constexpr float kMinNormSquared = 1e-12f;

__device__ __forceinline__ float clamped_norm(float squared) {
  return sqrtf(fmaxf(squared, kMinNormSquared));
}

// terms[3 * pair] = (<q, k>, <q, q>, <k, k>) of query qi and key ki; the block's threads share d.
__device__ void pair_terms(const float* __restrict__ q, const float* __restrict__ k, int d,
                           float* red, float* out) {
  float qk = 0.f, qq = 0.f, kk = 0.f;
  for (int c = threadIdx.x; c < d; c += blockDim.x) {
    const float a = q[c], b = k[c];
    qk = fmaf(a, b, qk);
    qq = fmaf(a, a, qq);
    kk = fmaf(b, b, kk);
  }
  qk = sp_block_sum(qk, red);
  qq = sp_block_sum(qq, red);
  kk = sp_block_sum(kk, red);
  if (threadIdx.x == 0) {
    out[0] = qk;
    out[1] = qq;
    out[2] = kk;
  }
}

// grid (pool, batch): scores[b, j].
__global__ void scores_kernel(const float* __restrict__ q, const float* __restrict__ keys,
                              int pool, int d, float* __restrict__ scores) {
  __shared__ float red[33];
  __shared__ float t[3];
  const int j = blockIdx.x, b = blockIdx.y;
  pair_terms(q + static_cast<int64_t>(b) * d, keys + static_cast<int64_t>(j) * d, d, red, t);
  if (threadIdx.x == 0)
    scores[static_cast<int64_t>(b) * pool + j] = t[0] / (clamped_norm(t[1]) * clamped_norm(t[2]));
}

// The reference's rule: n passes, each taking the first strictly better entry not yet taken.
template <class T>
__device__ int best_untaken(const T* v, int count, const int32_t* taken, int n_taken) {
  int best = -1;
  for (int j = 0; j < count; ++j) {
    bool used = false;
    for (int i = 0; i < n_taken; ++i) used |= (taken[i] == j);
    if (!used && (best < 0 || v[j] > v[best])) best = j;
  }
  return best;
}

// One thread per sample.
__global__ void top_n_kernel(const float* __restrict__ scores, int batch, int pool, int top_n,
                             int32_t* __restrict__ sel) {
  const int b = blockIdx.x * blockDim.x + threadIdx.x;
  if (b >= batch) return;
  const float* row = scores + static_cast<int64_t>(b) * pool;
  int32_t* out = sel + static_cast<int64_t>(b) * top_n;
  for (int n = 0; n < top_n; ++n) out[n] = best_untaken(row, pool, out, n);
}

// One block: counts per id into scratch, thread 0 picks the winners into row 0, all threads
// copy row 0 to the other rows. Row 0 is overwritten only after every count has been read.
__global__ void batch_vote_kernel(int32_t* __restrict__ sel, int batch, int pool, int top_n,
                                  int* __restrict__ counts) {
  const int64_t chosen = static_cast<int64_t>(batch) * top_n;
  for (int j = threadIdx.x; j < pool; j += blockDim.x) {
    int c = 0;
    for (int64_t i = 0; i < chosen; ++i) c += (sel[i] == j);
    counts[j] = c;
  }
  __syncthreads();
  if (threadIdx.x == 0)
    for (int n = 0; n < top_n; ++n) sel[n] = best_untaken(counts, pool, sel, n);
  __syncthreads();
  for (int64_t i = top_n + threadIdx.x; i < chosen; i += blockDim.x) sel[i] = sel[i % top_n];
}

// grid (batch * top_n): terms of each chosen pair; pairs with an out-of-range id are skipped.
__global__ void chosen_terms_kernel(const float* __restrict__ q, const float* __restrict__ keys,
                                    const int32_t* __restrict__ sel, int pool, int d, int top_n,
                                    float* __restrict__ terms) {
  __shared__ float red[33];
  const int i = blockIdx.x;
  const int j = sel[i];
  if (j < 0 || j >= pool) return;
  pair_terms(q + static_cast<int64_t>(i / top_n) * d, keys + static_cast<int64_t>(j) * d, d, red,
             terms + 3 * static_cast<int64_t>(i));
}

// The clamped norms of a chosen pair's query and key and their cosine, from its three terms;
// a cosine projection is kept only for a vector above the clamp (its normaliser varies).
struct PairFactors {
  float nq, nk, s_for_key, s_for_query;
};

__device__ __forceinline__ PairFactors pair_factors(const float* t) {
  const float nq = clamped_norm(t[1]), nk = clamped_norm(t[2]), s = t[0] / (nq * nk);
  return PairFactors{nq, nk, t[2] > kMinNormSquared ? s : 0.f, t[1] > kMinNormSquared ? s : 0.f};
}

// grid (pool): dkeys[j] = sum over pairs choosing j of w (q^ - s k^) / |k|.
__global__ void dkeys_kernel(const float* __restrict__ q, const float* __restrict__ keys,
                             const int32_t* __restrict__ sel, const float* __restrict__ w,
                             const float* __restrict__ terms, int batch, int d, int top_n,
                             float* __restrict__ dkeys) {
  const int j = blockIdx.x;
  const float* kj = keys + static_cast<int64_t>(j) * d;
  const int64_t chosen = static_cast<int64_t>(batch) * top_n;
  for (int c = threadIdx.x; c < d; c += blockDim.x) {
    float acc = 0.f;
    for (int64_t i = 0; i < chosen; ++i) {
      if (sel[i] != j) continue;
      const PairFactors f = pair_factors(terms + 3 * i);
      acc += w[i] * (q[(i / top_n) * d + c] / f.nq - f.s_for_key * kj[c] / f.nk) / f.nk;
    }
    dkeys[static_cast<int64_t>(j) * d + c] = acc;
  }
}

// grid (batch): dq[b] = sum over its chosen keys of w (k^ - s q^) / |q|.
__global__ void dq_kernel(const float* __restrict__ q, const float* __restrict__ keys,
                          const int32_t* __restrict__ sel, const float* __restrict__ w,
                          const float* __restrict__ terms, int pool, int d, int top_n,
                          float* __restrict__ dq) {
  const int b = blockIdx.x;
  const float* qb = q + static_cast<int64_t>(b) * d;
  for (int c = threadIdx.x; c < d; c += blockDim.x) {
    float acc = 0.f;
    for (int n = 0; n < top_n; ++n) {
      const int64_t i = static_cast<int64_t>(b) * top_n + n;
      const int j = sel[i];
      if (j < 0 || j >= pool) continue;
      const PairFactors f = pair_factors(terms + 3 * i);
      acc += w[i] * (keys[static_cast<int64_t>(j) * d + c] / f.nk - f.s_for_query * qb[c] / f.nq) / f.nq;
    }
    dq[static_cast<int64_t>(b) * d + c] = acc;
  }
}

// The launches' status, after the scratch is returned to the stream's pool whatever happened.
int release_scratch(const char* fn, void* scratch, cudaStream_t st) {
  const cudaError_t launched = cudaGetLastError();
  const cudaError_t freed = cudaFreeAsync(scratch, st);
  const cudaError_t first = launched != cudaSuccess ? launched : freed;
  return first == cudaSuccess ? SP_OK : sp_cuda_error(fn, first);
}

}  // namespace

SP_EXPORT int sp_cuda_cosine_match(const float* q, const float* keys, int batch, int pool, int d,
                                   int top_n, int batchwise, float* scores, int32_t* sel,
                                   void* stream) {
  SP_CHECK(batch >= 0 && batch <= 65535 && pool >= 1 && d >= 0 && top_n >= 1 && top_n <= pool);
  if (batch == 0) return SP_OK;
  SP_CHECK(q != nullptr || d == 0);
  SP_CHECK((keys != nullptr || d == 0) && scores != nullptr && sel != nullptr);
  cudaStream_t st = sp_stream(stream);
  scores_kernel<<<dim3(pool, batch), kThreads, 0, st>>>(q, keys, pool, d, scores);
  top_n_kernel<<<(batch + kThreads - 1) / kThreads, kThreads, 0, st>>>(scores, batch, pool, top_n,
                                                                        sel);
  if (!batchwise) {
    SP_LAUNCH_CHECK();
    return SP_OK;
  }
  int* counts = nullptr;
  SP_CUDA_TRY(sp_scratch_alloc(&counts, static_cast<size_t>(pool), st));
  batch_vote_kernel<<<1, kThreads, 0, st>>>(sel, batch, pool, top_n, counts);
  return release_scratch(__func__, counts, st);
}

SP_EXPORT int sp_cuda_cosine_match_bwd(const float* q, const float* keys, const int32_t* sel,
                                       const float* w, int batch, int pool, int d, int top_n,
                                       float* dkeys, float* dq, void* stream) {
  SP_CHECK(batch >= 0 && pool >= 1 && d >= 0 && top_n >= 1);
  SP_CHECK(dkeys != nullptr || d == 0);
  cudaStream_t st = sp_stream(stream);
  if (batch == 0 || d == 0) {
    if (d > 0) SP_CUDA_TRY(cudaMemsetAsync(dkeys, 0, sizeof(float) * size_t(pool) * d, st));
    return SP_OK;
  }
  SP_CHECK(q != nullptr && keys != nullptr && sel != nullptr && w != nullptr);
  const int64_t chosen = static_cast<int64_t>(batch) * top_n;
  float* terms = nullptr;
  SP_CUDA_TRY(sp_scratch_alloc(&terms, static_cast<size_t>(3 * chosen), st));
  chosen_terms_kernel<<<static_cast<unsigned>(chosen), kThreads, 0, st>>>(q, keys, sel, pool, d,
                                                                          top_n, terms);
  dkeys_kernel<<<pool, kThreads, 0, st>>>(q, keys, sel, w, terms, batch, d, top_n, dkeys);
  if (dq != nullptr) dq_kernel<<<batch, kThreads, 0, st>>>(q, keys, sel, w, terms, pool, d, top_n, dq);
  return release_scratch(__func__, terms, st);
}
