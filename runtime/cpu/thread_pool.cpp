#include "runtime/cpu/thread_pool.h"

#include <fmt/format.h>

#include <algorithm>

#include "dcnjit/error.h"

namespace dcnjit::cpu {

namespace {
thread_local int t_thread_index = 0;  // a worker's index; any other thread is 0 (the caller's)
}  // namespace

int ThreadPool::thread_index() { return t_thread_index; }

ThreadPool::ThreadPool(int threads) {
  const int extra = std::max(threads, 1) - 1;
  try {
    workers_.reserve(extra);
    for (int i = 0; i < extra; ++i) workers_.emplace_back([this, i] { worker_loop(i + 1); });
  } catch (const std::exception& e) {
    // The destructor does not run for a constructor that throws: stop the threads already started.
    stop_workers();
    throw Error(ErrorCode::LaunchError, fmt::format("threads: cannot start {} worker threads ({})", extra, e.what()));
  }
}

ThreadPool::~ThreadPool() { stop_workers(); }

void ThreadPool::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
}

// Items are coarse (a block of channels of one image, thousands of samples each), so taking the
// mutex once per item costs nothing measurable and keeps the hand-out logic obviously correct.
void ThreadPool::run_items() {
  for (;;) {
    int64_t item;
    const std::function<void(int64_t)>* body;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (next_ >= count_) return;
      item = next_++;
      body = body_;
    }
    try {
      (*body)(item);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
  }
}

void ThreadPool::worker_loop(int index) {
  t_thread_index = index;
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      ++busy_workers_;
    }
    run_items();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      --busy_workers_;
    }
    finished_.notify_one();
  }
}

void ThreadPool::parallel_for(int64_t count, const std::function<void(int64_t)>& body) {
  if (count <= 0) return;
  if (workers_.empty() || count == 1) {
    for (int64_t i = 0; i < count; ++i) body(i);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    body_ = &body;
    count_ = count;
    next_ = 0;
    error_ = nullptr;
    ++generation_;
  }
  wake_.notify_all();
  run_items();
  std::exception_ptr error;
  {
    // All items are handed out once run_items returns; wait for workers still inside one. A worker
    // that wakes late finds no item left and leaves at once, so it never sees the next job's body.
    std::unique_lock<std::mutex> lock(mutex_);
    finished_.wait(lock, [&] { return busy_workers_ == 0; });
    body_ = nullptr;
    count_ = 0;
    error = error_;
    error_ = nullptr;
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace dcnjit::cpu
