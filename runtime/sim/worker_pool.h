// A fixed set of OS threads that the sim spreads the blocks of a launch over. The calling thread
// is worker 0, so a pool of one thread runs everything inline.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace dcnjit::sim {

class WorkerPool {
 public:
  // `threads` workers including the caller; 0 = std::thread::hardware_concurrency().
  explicit WorkerPool(unsigned threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  unsigned size() const { return unsigned(helpers_.size()) + 1; }

  // Calls task(worker) once on every worker, worker in [0, size()), and returns when all have
  // returned. `task` must not throw (callers catch inside). Not reentrant.
  void run(const std::function<void(unsigned worker)>& task);

 private:
  void helper_loop(unsigned worker);

  std::vector<std::thread> helpers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(unsigned)>* task_ = nullptr;
  unsigned long generation_ = 0;
  unsigned pending_ = 0;
  bool stopping_ = false;
};

}  // namespace dcnjit::sim
