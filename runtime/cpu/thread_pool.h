// A small fixed-size pool of std::threads for the CPU backend's sampling passes. The calling thread
// works too, so ThreadPool(1) runs everything inline without creating a thread.
//
// parallel_for hands out item indices dynamically (first come, first served). Callers make every item
// write a disjoint part of the output and never reduce across items in a thread-dependent order, so
// which thread ran which item never changes a result.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace dcnjit::cpu {

class ThreadPool {
 public:
  // `threads` >= 1 workers in total, including the caller of parallel_for. Throws Error(LaunchError)
  // when the system refuses to start the threads.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return int(workers_.size()) + 1; }

  // The index of the calling thread inside the running parallel_for: 0 for the thread that called it,
  // 1 to size() - 1 for the workers. Lets items use per-thread scratch memory.
  static int thread_index();

  // Runs body(i) for every i in [0, count) and returns when all are done. The first exception thrown
  // by a body is rethrown here (the remaining items still run). Not reentrant: one parallel_for at a
  // time per pool.
  void parallel_for(int64_t count, const std::function<void(int64_t)>& body);

 private:
  void worker_loop(int index);
  void run_items();
  void stop_workers();

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;      // workers wait here for a new job (or shutdown)
  std::condition_variable finished_;  // the caller waits here for the workers to leave the job
  const std::function<void(int64_t)>* body_ = nullptr;
  int64_t count_ = 0;
  int64_t next_ = 0;         // next item to hand out; guarded by mutex_
  uint64_t generation_ = 0;  // bumped per job so a worker joins each job once
  int busy_workers_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
};

}  // namespace dcnjit::cpu
