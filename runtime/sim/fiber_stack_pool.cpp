#include "runtime/sim/fiber_stack_pool.h"

#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dcnjit/error.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

namespace dcnjit::sim {

namespace {
std::size_t page_bytes() { return std::size_t(sysconf(_SC_PAGESIZE)); }
}  // namespace

FiberStackPool::FiberStackPool(std::size_t stack_bytes) {
  const std::size_t page = page_bytes();
  stack_bytes_ = (stack_bytes + page - 1) / page * page;
}

FiberStackPool::~FiberStackPool() {
  const std::size_t page = page_bytes();
  for (void* mapping : mappings_) munmap(mapping, stack_bytes_ + page);
}

boost::context::stack_context FiberStackPool::acquire() {
  if (!free_.empty()) {
    const boost::context::stack_context stack = free_.back();
    free_.pop_back();
    return stack;
  }
  const std::size_t page = page_bytes();
  // MAP_NORESERVE: only the pages a thread touches cost memory.
  void* mapping = mmap(nullptr, stack_bytes_ + page, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mapping == MAP_FAILED)
    throw Error(ErrorCode::LaunchError, fmt::format("sim: cannot map a {} byte fiber stack", stack_bytes_));
  mprotect(mapping, page, PROT_NONE);  // guard page: stacks grow down into it
  mappings_.push_back(mapping);
  free_.reserve(mappings_.size());  // release() must not allocate (it is noexcept)
  boost::context::stack_context stack;
  stack.size = stack_bytes_;
  stack.sp = static_cast<char*>(mapping) + page + stack_bytes_;
  return stack;
}

void FiberStackPool::release(boost::context::stack_context stack) noexcept {
#if defined(__SANITIZE_ADDRESS__)
  // A fiber leaves its entry frames by a context switch, never by returning, so AddressSanitizer's
  // redzones of those frames stay poisoned; the next fiber on this stack lays out different frames
  // there and its stores were reported as stack-buffer-overflows (f64 NHWC coord after other kernels,
  // in one process). A released stack holds no live frame: clear its shadow.
  ASAN_UNPOISON_MEMORY_REGION(static_cast<char*>(stack.sp) - stack.size, stack.size);
#endif
  free_.push_back(stack);
}

}  // namespace dcnjit::sim
