// Runs the threads of one CUDA block on the calling OS thread, each as a fiber (Boost.Context).
// Threads switch only at the shim's hooks: __syncthreads parks a thread until every thread of the
// block has arrived; a warp collective parks it until every lane of its mask has arrived. Between
// those points the threads run one after the other in the order ThreadOrder dictates.
//
// Errors that would hang or silently corrupt on a GPU are reported as Error(LaunchError) naming the
// kernel, the block and the call sites involved: a __syncthreads that some threads reach while
// others exit or wait elsewhere, a warp collective whose lanes disagree or never all arrive,
// __trap(). An executor is reused for many blocks (its fiber stacks stay mapped).
//
// The executor also keeps each thread's cp.async groups (copied when a wait covers them), runs the
// shim's own collectives (WMMA: WarpOp::custom), and when the launch counts, hands the access logs
// of each warp to its AccessCounter at every convergence point (access_counter.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/phases.h"
#include "runtime/sim/access_counter.h"
#include "runtime/sim/fiber_stack_pool.h"
#include "runtime/sim/shim/simt_abi.h"
#include "runtime/sim/thread_order.h"

namespace dcnjit::sim {

// Everything a launch shares between its blocks.
struct GridLaunch {
  std::string kernel_name;
  dcnjit_sim::EntryFunction entry = nullptr;
  const void* params = nullptr;
  dcnjit_sim::Dim3 grid{1, 1, 1};
  dcnjit_sim::Dim3 block{1, 1, 1};
  unsigned dynamic_shared_bytes = 0;
  ThreadOrder order;
  const dcnjit_sim::LaunchContext* context = nullptr;  // what the kernel's threads share (regions, WMMA maps)
  LaunchCounting* counting = nullptr;                  // null: the launch does not count
};

class BlockExecutor {
 public:
  BlockExecutor();
  ~BlockExecutor();
  BlockExecutor(const BlockExecutor&) = delete;
  BlockExecutor& operator=(const BlockExecutor&) = delete;

  // Runs all threads of block `block_idx` to completion. Throws Error(LaunchError) as described above.
  void run(const GridLaunch& launch, dcnjit_sim::Dim3 block_idx);

  // What this executor counted since the last call (counting launches only).
  detail::KernelCounters take_counters() { return counter_.take(); }

  struct SimThread;  // public so the hook trampolines in the .cpp can name it

 private:
  void start_block(const GridLaunch& launch, dcnjit_sim::Dim3 block_idx);
  void resume(SimThread& thread);
  void on_warp_arrival(SimThread& thread, std::vector<unsigned>& released);
  void release_barrier(std::vector<unsigned>& released);
  void complete_custom_collective(const dcnjit_sim::WarpRequest& request, unsigned warp_base);
  // Counting: the requests logged by the lanes `mask` of the warp starting at `warp_base`.
  void flush_access_logs(unsigned warp_base, unsigned mask);
  void flush_all_access_logs();
  [[noreturn]] void fail(const std::string& what);
  std::string describe_waiting_threads() const;
  void abandon_threads() noexcept;

  FiberStackPool stacks_;
  std::vector<std::unique_ptr<SimThread>> threads_;
  unsigned thread_count_ = 0;
  std::vector<unsigned char> dynamic_shared_;  // the block's `extern __shared__` arena
  const GridLaunch* launch_ = nullptr;
  dcnjit_sim::Dim3 block_idx_{0, 0, 0};
  uint64_t block_linear_ = 0;
  std::unique_ptr<dcnjit_sim::CollectiveCall> collective_;
  AccessCounter counter_;
  std::vector<AccessCounter::Lane> lanes_;
};

}  // namespace dcnjit::sim
