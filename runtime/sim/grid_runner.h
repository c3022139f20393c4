// Runs every block of a launch: blocks are handed out to the workers of a pool one at a time (a
// shared counter), each worker running its blocks with its own BlockExecutor. The first error
// stops the hand-out and is rethrown to the caller once all workers are idle. A counting launch
// returns the sum of what every worker counted: each block is counted whole by the worker that ran
// it, so the sum does not depend on how blocks were spread over workers.
#pragma once

#include <memory>
#include <vector>

#include "runtime/sim/block_executor.h"
#include "runtime/sim/worker_pool.h"

namespace dcnjit::sim {

class GridRunner {
 public:
  explicit GridRunner(unsigned threads);  // 0 = all cores

  unsigned threads() const { return pool_.size(); }
  // Zero counters unless launch.counting (global_unique_sectors is left to the LaunchCounting).
  detail::KernelCounters run(const GridLaunch& launch);

 private:
  WorkerPool pool_;
  std::vector<std::unique_ptr<BlockExecutor>> executors_;  // one per worker
};

}  // namespace dcnjit::sim
