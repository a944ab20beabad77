// Persistent worker pool for the sp_cpu_* kernels.
//
// A std::thread pool rather than OpenMP: the library ships inside a jar and must depend on
// glibc only. One job runs at a time; a call made while the pool is busy (another Java thread,
// or a nested call from inside a job) simply runs serially on the calling thread, so callers
// never deadlock and never need to know.
#pragma once
#include <cstdint>
#include <type_traits>

namespace sp {

// fn(ctx, begin, end) for consecutive chunks [begin, end) of [0, n), each `grain` long (the
// last may be shorter), handed out dynamically. Chunk boundaries do not depend on the thread
// count, so per-chunk partial results give thread-count independent answers.
using RangeFn = void (*)(void* ctx, int64_t begin, int64_t end);

// Returns SP_OK, or SP_ERR_ALLOC when a chunk threw (only allocation can throw in the
// kernels); the other chunks still run.
int parallel_run(int64_t n, int64_t grain, void* ctx, RangeFn fn);

// Threads a job may use (the calling thread included).
int num_threads();

// f(begin, end) over [0, n) in chunks of `grain`.
template <class F>
int parallel_for(int64_t n, int64_t grain, F&& f) {
  using Fn = std::remove_reference_t<F>;
  return parallel_run(n, grain, const_cast<void*>(static_cast<const void*>(&f)),
                      [](void* ctx, int64_t b, int64_t e) { (*static_cast<Fn*>(ctx))(b, e); });
}

// Grain that splits n items into a few chunks per thread, but no chunk below min_grain.
int64_t grain_for(int64_t n, int64_t min_grain);

}  // namespace sp
