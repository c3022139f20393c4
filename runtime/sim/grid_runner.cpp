#include "runtime/sim/grid_runner.h"

#include <atomic>
#include <exception>
#include <mutex>

namespace dcnjit::sim {

GridRunner::GridRunner(unsigned threads) : pool_(threads) {
  for (unsigned worker = 0; worker < pool_.size(); ++worker) executors_.push_back(std::make_unique<BlockExecutor>());
}

detail::KernelCounters GridRunner::run(const GridLaunch& launch) {
  for (auto& executor : executors_) executor->take_counters();  // what a failed launch left behind
  const uint64_t blocks = uint64_t(launch.grid.x) * launch.grid.y * launch.grid.z;
  std::atomic<uint64_t> next_block{0};
  std::atomic<bool> failed{false};
  std::exception_ptr first_error;
  std::mutex error_mutex;

  pool_.run([&](unsigned worker) {
    BlockExecutor& executor = *executors_[worker];
    while (!failed.load(std::memory_order_relaxed)) {
      const uint64_t block = next_block.fetch_add(1, std::memory_order_relaxed);
      if (block >= blocks) return;
      const dcnjit_sim::Dim3 block_idx{unsigned(block % launch.grid.x), unsigned(block / launch.grid.x % launch.grid.y),
                                       unsigned(block / (uint64_t(launch.grid.x) * launch.grid.y))};
      try {
        executor.run(launch, block_idx);
      } catch (...) {
        std::lock_guard lock(error_mutex);
        if (!first_error) first_error = std::current_exception();
        failed = true;
      }
    }
  });
  if (first_error) std::rethrow_exception(first_error);
  detail::KernelCounters total;
  for (auto& executor : executors_) total += executor->take_counters();
  return total;
}

}  // namespace dcnjit::sim
