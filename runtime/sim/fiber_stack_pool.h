// Stacks for the fibers that run simulated CUDA threads. A thread that never waits at a barrier or
// warp collective finishes before the next one starts and hands its stack back, so a kernel without
// synchronization runs all its threads on one reused stack (effectively a plain loop); only threads
// parked at a synchronization point hold a stack of their own. Each stack is an mmap'ed region with
// a guard page below it, so an overflow faults instead of corrupting a neighbour.
#pragma once

#include <boost/context/stack_context.hpp>

#include <cstddef>
#include <vector>

namespace dcnjit::sim {

class FiberStackPool {
 public:
  explicit FiberStackPool(std::size_t stack_bytes);
  ~FiberStackPool();
  FiberStackPool(const FiberStackPool&) = delete;
  FiberStackPool& operator=(const FiberStackPool&) = delete;

  boost::context::stack_context acquire();
  void release(boost::context::stack_context stack) noexcept;

  std::size_t stack_bytes() const { return stack_bytes_; }

 private:
  std::size_t stack_bytes_;
  std::vector<boost::context::stack_context> free_;
  std::vector<void*> mappings_;  // every region this pool created, unmapped on destruction
};

// The StackAllocator boost::context expects; returns stacks to the pool when a fiber ends.
class PooledStackAllocator {
 public:
  explicit PooledStackAllocator(FiberStackPool* pool) : pool_(pool) {}
  boost::context::stack_context allocate() { return pool_->acquire(); }
  void deallocate(boost::context::stack_context& stack) noexcept { pool_->release(stack); }

 private:
  FiberStackPool* pool_;
};

}  // namespace dcnjit::sim
