#include "runtime/sim/worker_pool.h"

namespace dcnjit::sim {

WorkerPool::WorkerPool(unsigned threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned worker = 1; worker < threads; ++worker) helpers_.emplace_back([this, worker] { helper_loop(worker); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& helper : helpers_) helper.join();
}

void WorkerPool::run(const std::function<void(unsigned)>& task) {
  {
    std::lock_guard lock(mutex_);
    task_ = &task;
    pending_ = unsigned(helpers_.size());
    ++generation_;
  }
  wake_.notify_all();
  task(0);
  std::unique_lock lock(mutex_);
  done_.wait(lock, [this] { return pending_ == 0; });
  task_ = nullptr;
}

void WorkerPool::helper_loop(unsigned worker) {
  unsigned long seen = 0;
  for (;;) {
    const std::function<void(unsigned)>* task;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      task = task_;
    }
    (*task)(worker);
    {
      std::lock_guard lock(mutex_);
      --pending_;
    }
    done_.notify_one();
  }
}

}  // namespace dcnjit::sim
