#include "parallel.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include "internal.h"

namespace sp {
namespace {

// Threads usable by this process: the affinity mask respects container and taskset limits,
// which std::thread::hardware_concurrency does not.
int default_threads() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

// Set on pool workers and on a caller while it runs a job: a parallel_run from such a thread
// must not wait for the pool it is already part of.
thread_local bool t_inside_job = false;

struct Job {
  int64_t n = 0;
  int64_t grain = 1;
  void* ctx = nullptr;
  RangeFn fn = nullptr;
  int threads = 1;  // participants, the caller included
};

class Pool {
 public:
  Pool() : requested_(default_threads()) {}

  int threads() const { return requested_.load(std::memory_order_relaxed); }
  void set_threads(int n) {
    requested_.store(n > 0 ? n : default_threads(), std::memory_order_relaxed);
  }

  int run(int64_t n, int64_t grain, void* ctx, RangeFn fn) {
    if (n <= 0) return SP_OK;
    grain = std::max<int64_t>(grain, 1);
    int64_t chunks = (n + grain - 1) / grain;
    int want = static_cast<int>(std::min<int64_t>(threads(), chunks));
    if (want <= 1 || t_inside_job) return run_serial(n, grain, ctx, fn);
    std::unique_lock<std::mutex> job_lock(job_mutex_, std::try_to_lock);
    if (!job_lock.owns_lock()) return run_serial(n, grain, ctx, fn);

    want = std::min(want, 1 + grow_workers(want - 1));
    if (want <= 1) return run_serial(n, grain, ctx, fn);
    {
      std::lock_guard<std::mutex> lk(mutex_);
      job_ = Job{n, grain, ctx, fn, want};
      next_.store(0, std::memory_order_relaxed);
      failed_.store(false, std::memory_order_relaxed);
      pending_ = want - 1;
      ++generation_;
    }
    wake_.notify_all();
    t_inside_job = true;
    run_chunks(job_);
    t_inside_job = false;
    std::unique_lock<std::mutex> lk(mutex_);
    done_.wait(lk, [&] { return pending_ == 0; });
    return failed_.load() ? SP_ERR_ALLOC : SP_OK;
  }

 private:
  static int run_serial(int64_t n, int64_t grain, void* ctx, RangeFn fn) {
    bool was_inside = t_inside_job;
    t_inside_job = true;
    int status = SP_OK;
    for (int64_t b = 0; b < n; b += grain) {
      try {
        fn(ctx, b, std::min(n, b + grain));
      } catch (...) {
        status = SP_ERR_ALLOC;
      }
    }
    t_inside_job = was_inside;
    return status;
  }

  void run_chunks(const Job& job) {
    for (;;) {
      int64_t b = next_.fetch_add(job.grain, std::memory_order_relaxed);
      if (b >= job.n) return;
      try {
        job.fn(job.ctx, b, std::min(job.n, b + job.grain));
      } catch (...) {
        failed_.store(true);
      }
    }
  }

  // Starts workers until `count` exist (called with job_mutex_ held); returns how many exist.
  int grow_workers(int count) {
    while (static_cast<int>(workers_.size()) < count) {
      int id = static_cast<int>(workers_.size()) + 1;
      try {
        workers_.emplace_back([this, id] { worker_loop(id); });
      } catch (...) {
        break;  // no more threads available: run with those we have
      }
    }
    return static_cast<int>(workers_.size());
  }

  void worker_loop(int id) {
    t_inside_job = true;
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lk(mutex_);
    for (;;) {
      wake_.wait(lk, [&] { return generation_ != seen; });
      seen = generation_;
      if (id >= job_.threads) continue;
      Job job = job_;
      lk.unlock();
      run_chunks(job);
      lk.lock();
      if (--pending_ == 0) done_.notify_one();
    }
  }

  std::atomic<int> requested_;
  std::mutex job_mutex_;  // held by the thread whose job the pool is running
  std::mutex mutex_;      // guards job_, generation_, pending_
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  Job job_;
  uint64_t generation_ = 0;
  int pending_ = 0;
  std::atomic<int64_t> next_{0};
  std::atomic<bool> failed_{false};
};

// Never destroyed: workers sleep on a condition variable until the process exits, and tearing
// the pool down from a static destructor would race with late calls (e.g. JVM shutdown hooks).
Pool& pool() {
  static Pool* p = new Pool();
  return *p;
}

}  // namespace

int parallel_run(int64_t n, int64_t grain, void* ctx, RangeFn fn) {
  return pool().run(n, grain, ctx, fn);
}

int num_threads() { return pool().threads(); }

int64_t grain_for(int64_t n, int64_t min_grain) {
  int64_t per = (n + 4 * num_threads() - 1) / (4 * num_threads());
  return std::max<int64_t>(std::max<int64_t>(per, min_grain), 1);
}

}  // namespace sp

SP_EXPORT void sp_cpu_set_threads(int n) { sp::pool().set_threads(n); }
SP_EXPORT int sp_cpu_get_threads(void) { return sp::pool().threads(); }
