// Runs every block of a launch: blocks are handed out to the workers of a pool one at a time (a
// shared counter), each worker running its blocks with its own BlockExecutor. The first error
// stops the hand-out and is rethrown to the caller once all workers are idle.
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
  void run(const GridLaunch& launch);

 private:
  WorkerPool pool_;
  std::vector<std::unique_ptr<BlockExecutor>> executors_;  // one per worker
};

}  // namespace dcnjit::sim
