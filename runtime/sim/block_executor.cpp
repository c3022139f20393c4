#include "runtime/sim/block_executor.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/context/fiber.hpp>
#include <boost/context/preallocated.hpp>
#include <cstring>
#include <exception>
#include <map>
#include <utility>

#include "dcnjit/error.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define DCNJIT_SIM_ASAN 1
#endif

namespace dcnjit::sim {

namespace ctx = boost::context;
using dcnjit_sim::AccessRecord;
using dcnjit_sim::CollectiveCall;
using dcnjit_sim::Dim3;
using dcnjit_sim::ThreadContext;
using dcnjit_sim::WarpOp;
using dcnjit_sim::WarpRequest;
using dcnjit_sim::WarpResult;

namespace {

// Fiber stacks: kernel frames are small, but a sanitizer build inflates them.
#if defined(DCNJIT_SIM_ASAN)
constexpr std::size_t kStackBytes = 1u << 20;
#else
constexpr std::size_t kStackBytes = 256u << 10;
#endif

// Byte pattern the dynamic shared arena is filled with at each block start: NaN as f32/f16, -1 as
// an integer, so a kernel that reads shared memory it never wrote produces visibly wrong output
// instead of a lucky zero.
constexpr unsigned char kUninitializedShared = 0xff;
constexpr std::size_t kSharedAlignment = 128;

// Thrown by the __trap hook inside a fiber and caught at the fiber's entry.
struct KernelTrap {};

enum class State { not_started, ready, at_barrier, at_warp, finished };

// One cp.async: `bytes - zero_fill` bytes from src, then zeros.
struct AsyncCopy {
  void* dst;
  const void* src;
  unsigned bytes, zero_fill;
};

}  // namespace

struct BlockExecutor::SimThread {
  ThreadContext context{};
  unsigned linear = 0;
  State state = State::not_started;
  ctx::fiber fiber;    // the parked thread (empty before it starts and after it ends)
  ctx::fiber resumer;  // while running: the executor, to switch back to
  ctx::stack_context stack{};
  // Barrier bookkeeping.
  int predicate = 0;
  int barrier_result = 0;
  const char* site_file = nullptr;
  unsigned site_line = 0;
  // Warp collective bookkeeping.
  WarpRequest request{};
  WarpResult result{};
  std::string trap_message;
  std::exception_ptr failure;  // anything else kernel code threw
  // Counting: the accesses since the last convergence point (records live in log_storage).
  std::vector<AccessRecord> log_storage;
  dcnjit_sim::AccessLog log{nullptr, 0, 0};
  // cp.async: queued copies in issue order; group_ends[g] = copies.size() when group g was committed.
  std::vector<AsyncCopy> copies;
  std::vector<std::size_t> group_ends;
#if defined(DCNJIT_SIM_ASAN)
  void* fake_stack = nullptr;
  const void* resumer_stack_bottom = nullptr;
  std::size_t resumer_stack_size = 0;
#endif

  // Called on the fiber: hands control back to the executor until the executor resumes this thread,
  // or abandons it: then boost's forced_unwind comes out of resume() and unwinds the kernel frames.
  // Either way ASan must learn that execution is back on this fiber's stack before anything else.
  void park() {
#if defined(DCNJIT_SIM_ASAN)
    __sanitizer_start_switch_fiber(&fake_stack, resumer_stack_bottom, resumer_stack_size);
    try {
      resumer = std::move(resumer).resume();
    } catch (const ctx::detail::forced_unwind&) {
      __sanitizer_finish_switch_fiber(fake_stack, &resumer_stack_bottom, &resumer_stack_size);
      throw;
    }
    __sanitizer_finish_switch_fiber(fake_stack, &resumer_stack_bottom, &resumer_stack_size);
#else
    resumer = std::move(resumer).resume();
#endif
  }

  // Called on the executor: runs `jump`, which switches onto this thread's fiber stack and returns
  // when the thread parks, ends or has been unwound, with ASan told about both stack changes.
  template <typename Jump>
  void on_fiber_stack(Jump jump) {
#if defined(DCNJIT_SIM_ASAN)
    void* executor_fake_stack = nullptr;
    __sanitizer_start_switch_fiber(&executor_fake_stack, static_cast<char*>(stack.sp) - stack.size, stack.size);
#endif
    jump();
#if defined(DCNJIT_SIM_ASAN)
    __sanitizer_finish_switch_fiber(executor_fake_stack, nullptr, nullptr);
#endif
  }
};

namespace {

using SimThread = BlockExecutor::SimThread;

SimThread& owner(ThreadContext* self) { return *static_cast<SimThread*>(self->engine); }

int hook_sync_threads(ThreadContext* self, int predicate, const char* file, unsigned line) {
  SimThread& thread = owner(self);
  thread.state = State::at_barrier;
  thread.predicate = predicate;
  thread.site_file = file;
  thread.site_line = line;
  thread.park();
  return thread.barrier_result;
}

WarpResult hook_warp_collective(ThreadContext* self, const WarpRequest* request) {
  SimThread& thread = owner(self);
  thread.state = State::at_warp;
  thread.request = *request;
  thread.site_file = request->file;
  thread.site_line = request->line;
  thread.park();
  return thread.result;
}

[[noreturn]] void hook_trap(ThreadContext* self, const char* message) {
  owner(self).trap_message = message ? message : "trap";
  throw KernelTrap{};
}

void hook_grow_access_log(ThreadContext* self) {
  SimThread& thread = owner(self);
  thread.log_storage.resize(std::max<std::size_t>(256, 2 * thread.log_storage.size()));
  thread.log.records = thread.log_storage.data();
  thread.log.capacity = uint32_t(thread.log_storage.size());
}

void hook_async_copy(ThreadContext* self, void* dst, const void* src, unsigned bytes, unsigned zero_fill) {
  owner(self).copies.push_back(AsyncCopy{dst, src, bytes, zero_fill});
}

void hook_async_commit(ThreadContext* self) {
  SimThread& thread = owner(self);
  thread.group_ends.push_back(thread.copies.size());
}

// Completes the committed groups except the newest `pending`, oldest first, in issue order.
void hook_async_wait(ThreadContext* self, unsigned pending) {
  SimThread& thread = owner(self);
  if (thread.group_ends.size() <= pending) return;
  const std::size_t groups = thread.group_ends.size() - pending;
  const std::size_t done = thread.group_ends[groups - 1];
  for (std::size_t i = 0; i < done; ++i) {
    const AsyncCopy& copy = thread.copies[i];
    const unsigned copied = copy.bytes - copy.zero_fill;
    std::memcpy(copy.dst, copy.src, copied);
    std::memset(static_cast<char*>(copy.dst) + copied, 0, copy.zero_fill);
  }
  thread.copies.erase(thread.copies.begin(), thread.copies.begin() + std::ptrdiff_t(done));
  thread.group_ends.erase(thread.group_ends.begin(), thread.group_ends.begin() + std::ptrdiff_t(groups));
  for (std::size_t& end : thread.group_ends) end -= done;
}

constexpr dcnjit_sim::Hooks kHooks{hook_sync_threads,    hook_warp_collective, hook_trap,       hook_grow_access_log,
                                   hook_async_copy,      hook_async_commit,    hook_async_wait};

const char* op_name(WarpOp op) {
  switch (op) {
    case WarpOp::sync: return "__syncwarp";
    case WarpOp::shfl_idx: return "__shfl_sync";
    case WarpOp::shfl_up: return "__shfl_up_sync";
    case WarpOp::shfl_down: return "__shfl_down_sync";
    case WarpOp::shfl_xor: return "__shfl_xor_sync";
    case WarpOp::ballot: return "__ballot_sync";
    case WarpOp::match_any: return "__match_any_sync";
    case WarpOp::match_all: return "__match_all_sync";
    case WarpOp::reduce_add: return "__reduce_add_sync";
    case WarpOp::reduce_min_signed:
    case WarpOp::reduce_min_unsigned: return "__reduce_min_sync";
    case WarpOp::reduce_max_signed:
    case WarpOp::reduce_max_unsigned: return "__reduce_max_sync";
    case WarpOp::reduce_and: return "__reduce_and_sync";
    case WarpOp::reduce_or: return "__reduce_or_sync";
    case WarpOp::reduce_xor: return "__reduce_xor_sync";
    case WarpOp::custom: return "a shim collective";
  }
  return "warp collective";
}

bool is_shuffle(WarpOp op) {
  return op == WarpOp::shfl_idx || op == WarpOp::shfl_up || op == WarpOp::shfl_down || op == WarpOp::shfl_xor;
}

// The lane a shuffle reads, following PTX shfl.sync: the operand is taken mod 32; `width` splits
// the warp into segments; reading outside the own segment (up/down) or beyond it (xor) yields the
// lane's own value.
unsigned shuffle_source(WarpOp op, unsigned lane, int argument, int width) {
  const unsigned b = unsigned(argument) & 31u;
  const unsigned segment_start = lane & ~unsigned(width - 1);
  const unsigned segment_last = segment_start + unsigned(width) - 1;
  switch (op) {
    case WarpOp::shfl_idx: return segment_start | (b & unsigned(width - 1));
    case WarpOp::shfl_up: return (lane >= b && lane - b >= segment_start) ? lane - b : lane;
    case WarpOp::shfl_down: return (lane + b <= segment_last) ? lane + b : lane;
    case WarpOp::shfl_xor: return ((lane ^ b) <= segment_last) ? (lane ^ b) : lane;
    default: return lane;
  }
}

uint64_t reduce(WarpOp op, uint64_t a, uint64_t b) {
  const auto ua = uint32_t(a), ub = uint32_t(b);
  const auto sa = int32_t(ua), sb = int32_t(ub);
  switch (op) {
    case WarpOp::reduce_add: return uint32_t(ua + ub);
    case WarpOp::reduce_min_signed: return uint32_t(std::min(sa, sb));
    case WarpOp::reduce_max_signed: return uint32_t(std::max(sa, sb));
    case WarpOp::reduce_min_unsigned: return std::min(ua, ub);
    case WarpOp::reduce_max_unsigned: return std::max(ua, ub);
    case WarpOp::reduce_and: return ua & ub;
    case WarpOp::reduce_or: return ua | ub;
    case WarpOp::reduce_xor: return ua ^ ub;
    default: return a;
  }
}

const char* op_name(const WarpRequest& request) {
  return request.op == WarpOp::custom && request.name ? request.name : op_name(request.op);
}

std::string site(const char* file, unsigned line) {
  return file ? fmt::format("{}:{}", file, line) : std::string("?");
}

}  // namespace

BlockExecutor::BlockExecutor() : stacks_(kStackBytes), collective_(std::make_unique<CollectiveCall>()) {}

BlockExecutor::~BlockExecutor() { abandon_threads(); }

void BlockExecutor::abandon_threads() noexcept {
  // Destroying a parked fiber unwinds its stack: boost resumes it with forced_unwind thrown from
  // park(), which the fiber's entry lets through; the stack goes back to the pool.
  for (unsigned i = 0; i < thread_count_; ++i) {
    SimThread& thread = *threads_[i];
    if (thread.fiber) thread.on_fiber_stack([&thread] { thread.fiber = ctx::fiber(); });
    thread.state = State::finished;
  }
}

void BlockExecutor::start_block(const GridLaunch& launch, Dim3 block_idx) {
  launch_ = &launch;
  block_idx_ = block_idx;
  block_linear_ = block_idx.x + uint64_t(launch.grid.x) * (block_idx.y + uint64_t(launch.grid.y) * block_idx.z);
  thread_count_ = launch.block.x * launch.block.y * launch.block.z;
  while (threads_.size() < thread_count_) threads_.push_back(std::make_unique<SimThread>());

  // Over-allocated so the arena can start on a 128-byte boundary (CUDA aligns dynamic shared memory
  // at least to 16 bytes; kernels cast it to vector types).
  if (dynamic_shared_.size() < launch.dynamic_shared_bytes + kSharedAlignment)
    dynamic_shared_.resize(launch.dynamic_shared_bytes + kSharedAlignment);
  const auto address = reinterpret_cast<std::uintptr_t>(dynamic_shared_.data());
  unsigned char* arena = dynamic_shared_.data() + (kSharedAlignment - address % kSharedAlignment) % kSharedAlignment;
  std::memset(arena, kUninitializedShared, launch.dynamic_shared_bytes);

  const unsigned warps = (thread_count_ + dcnjit_sim::kWarpSize - 1) / dcnjit_sim::kWarpSize;
  for (unsigned linear = 0; linear < thread_count_; ++linear) {
    SimThread& thread = *threads_[linear];
    thread.linear = linear;
    thread.state = State::not_started;
    thread.trap_message.clear();
    thread.failure = nullptr;
    thread.log.size = 0;
    thread.copies.clear();
    thread.group_ends.clear();
    ThreadContext& c = thread.context;
    c.thread_idx = {linear % launch.block.x, (linear / launch.block.x) % launch.block.y,
                    linear / (launch.block.x * launch.block.y)};
    c.block_idx = block_idx;
    c.block_dim = launch.block;
    c.grid_dim = launch.grid;
    c.lane = linear % dcnjit_sim::kWarpSize;
    const unsigned warp = linear / dcnjit_sim::kWarpSize;
    const unsigned lanes_in_warp =
        warp + 1 < warps ? dcnjit_sim::kWarpSize : thread_count_ - warp * dcnjit_sim::kWarpSize;
    c.warp_lanes = lanes_in_warp == 32 ? 0xffffffffu : ((1u << lanes_in_warp) - 1u);
    c.dynamic_shared = launch.dynamic_shared_bytes ? arena : nullptr;
    c.dynamic_shared_bytes = launch.dynamic_shared_bytes;
    c.hooks = &kHooks;
    c.engine = &thread;
    c.launch = launch.context;
    c.access_log = launch.counting ? &thread.log : nullptr;
  }
}

void BlockExecutor::resume(SimThread& thread) {
  if (thread.state == State::not_started) {
    thread.stack = stacks_.acquire();
    const GridLaunch* launch = launch_;
    thread.fiber = ctx::fiber(
        std::allocator_arg, ctx::preallocated(thread.stack.sp, thread.stack.size, thread.stack),
        PooledStackAllocator(&stacks_), [&thread, launch](ctx::fiber&& resumer) {
#if defined(DCNJIT_SIM_ASAN)
          __sanitizer_finish_switch_fiber(nullptr, &thread.resumer_stack_bottom, &thread.resumer_stack_size);
#endif
          thread.resumer = std::move(resumer);
          try {
            launch->entry(&thread.context, launch->params);
          } catch (const ctx::detail::forced_unwind&) {
            // The executor abandons this thread: let boost finish unwinding it, which ends on the
            // executor's stack.
#if defined(DCNJIT_SIM_ASAN)
            __sanitizer_start_switch_fiber(nullptr, thread.resumer_stack_bottom, thread.resumer_stack_size);
#endif
            throw;
          } catch (const KernelTrap&) {
            // trap_message is set.
          } catch (...) {
            thread.failure = std::current_exception();
          }
          thread.state = State::finished;
#if defined(DCNJIT_SIM_ASAN)
          __sanitizer_start_switch_fiber(nullptr, thread.resumer_stack_bottom, thread.resumer_stack_size);
#endif
          return std::move(thread.resumer);
        });
  }
  thread.state = State::ready;
  thread.on_fiber_stack([&thread] { thread.fiber = std::move(thread.fiber).resume(); });
}

void BlockExecutor::run(const GridLaunch& launch, Dim3 block_idx) {
  start_block(launch, block_idx);
  std::vector<unsigned> ready(thread_count_), next;
  for (unsigned i = 0; i < thread_count_; ++i) ready[i] = i;
  uint64_t phase = 0;
  try {
    for (;;) {
      while (!ready.empty()) {
        std::sort(ready.begin(), ready.end());
        launch.order.arrange(ready, block_linear_, phase++);
        next.clear();
        for (unsigned id : ready) {
          SimThread& thread = *threads_[id];
          resume(thread);
          if (!thread.trap_message.empty())
            fail(fmt::format("thread ({},{},{}) trapped: {}", thread.context.thread_idx.x, thread.context.thread_idx.y,
                             thread.context.thread_idx.z, thread.trap_message));
          if (thread.failure) std::rethrow_exception(thread.failure);
          if (thread.state == State::at_warp) on_warp_arrival(thread, next);
        }
        std::swap(ready, next);
      }
      // Nothing can run: either every thread finished, or all live ones wait at a barrier.
      bool all_finished = true;
      for (unsigned i = 0; i < thread_count_; ++i) all_finished &= threads_[i]->state == State::finished;
      if (all_finished) {
        flush_all_access_logs();
        return;
      }
      release_barrier(ready);
    }
  } catch (...) {
    abandon_threads();
    throw;
  }
}

void BlockExecutor::on_warp_arrival(SimThread& thread, std::vector<unsigned>& released) {
  const WarpRequest& request = thread.request;
  const unsigned warp_base = thread.linear - thread.context.lane;
  const unsigned lanes = thread.context.warp_lanes;
  if (!(request.mask & (1u << thread.context.lane)))
    fail(fmt::format("{} at {}: lane {} calls it with mask {:#010x}, which does not include itself",
                     op_name(request), site(request.file, request.line), thread.context.lane, request.mask));
  if (request.mask & ~lanes)
    fail(fmt::format("{} at {}: mask {:#010x} names lanes that do not exist (the warp has lanes {:#010x}; block of "
                     "{} threads)",
                     op_name(request), site(request.file, request.line), request.mask, lanes, thread_count_));
  if (is_shuffle(request.op) && (request.width < 1 || request.width > 32 || (request.width & (request.width - 1))))
    fail(fmt::format("{} at {}: width {} is not a power of two in [1, 32]", op_name(request),
                     site(request.file, request.line), request.width));

  // Wait until every lane of the mask has arrived.
  for (unsigned lane = 0; lane < 32; ++lane)
    if ((request.mask >> lane & 1u) && threads_[warp_base + lane]->state != State::at_warp) return;

  for (unsigned lane = 0; lane < 32; ++lane) {
    if (!(request.mask >> lane & 1u)) continue;
    const WarpRequest& other = threads_[warp_base + lane]->request;
    if (other.op != request.op || other.mask != request.mask || other.width != request.width ||
        other.complete != request.complete)
      fail(fmt::format("warp {} disagrees at a collective: lane {} calls {} (mask {:#010x}) at {}, lane {} calls {} "
                       "(mask {:#010x}) at {}",
                       warp_base / 32, thread.context.lane, op_name(request), request.mask,
                       site(request.file, request.line), lane, op_name(other), other.mask,
                       site(other.file, other.line)));
  }

  // Every lane of the mask is here: a convergence point of these lanes.
  flush_access_logs(warp_base, request.mask);
  if (request.op == WarpOp::custom) complete_custom_collective(request, warp_base);

  auto value_of = [&](unsigned lane) { return threads_[warp_base + lane]->request.value; };
  for (unsigned lane = 0; lane < 32; ++lane) {
    if (!(request.mask >> lane & 1u)) continue;
    SimThread& target = *threads_[warp_base + lane];
    WarpResult result{0, 0};
    const WarpOp op = request.op;
    if (is_shuffle(op)) {
      const unsigned source = shuffle_source(op, lane, target.request.lane_argument, request.width);
      if (!(request.mask >> source & 1u))
        fail(fmt::format("{} at {}: lane {} reads lane {}, which is not in the mask {:#010x} (undefined on the GPU)",
                         op_name(op), site(request.file, request.line), lane, source, request.mask));
      result.value = value_of(source);
    } else if (op == WarpOp::ballot) {
      for (unsigned l = 0; l < 32; ++l)
        if ((request.mask >> l & 1u) && value_of(l)) result.value |= 1ull << l;
    } else if (op == WarpOp::match_any) {
      for (unsigned l = 0; l < 32; ++l)
        if ((request.mask >> l & 1u) && value_of(l) == value_of(lane)) result.value |= 1ull << l;
    } else if (op == WarpOp::match_all) {
      bool equal = true;
      for (unsigned l = 0; l < 32; ++l)
        if ((request.mask >> l & 1u) && value_of(l) != value_of(lane)) equal = false;
      result.value = equal ? request.mask : 0;
      result.predicate = equal;
    } else if (op != WarpOp::sync && op != WarpOp::custom) {
      bool first = true;
      for (unsigned l = 0; l < 32; ++l) {
        if (!(request.mask >> l & 1u)) continue;
        result.value = first ? uint32_t(value_of(l)) : reduce(op, result.value, value_of(l));
        first = false;
      }
    }
    target.result = result;
  }
  for (unsigned lane = 0; lane < 32; ++lane) {
    if (!(request.mask >> lane & 1u)) continue;
    threads_[warp_base + lane]->state = State::ready;
    released.push_back(warp_base + lane);
  }
}

void BlockExecutor::release_barrier(std::vector<unsigned>& released) {
  const SimThread* first_waiter = nullptr;
  bool consistent = true;
  int count = 0;
  for (unsigned i = 0; i < thread_count_; ++i) {
    const SimThread& thread = *threads_[i];
    if (thread.state != State::at_barrier) {
      consistent = false;  // exited, or parked at a warp collective that can never complete
      continue;
    }
    if (!first_waiter) first_waiter = &thread;
    if (thread.site_line != first_waiter->site_line || std::strcmp(thread.site_file, first_waiter->site_file) != 0)
      consistent = false;
    count += thread.predicate;
  }
  if (!first_waiter)
    fail(fmt::format("a warp collective can never complete (a lane of its mask exited or waits elsewhere; on a "
                     "GPU this hangs):\n{}",
                     describe_waiting_threads()));
  if (!consistent)
    fail(fmt::format("divergent synchronization: not every thread reaches the same __syncthreads "
                     "(on a GPU this hangs or corrupts shared memory):\n{}",
                     describe_waiting_threads()));
  flush_all_access_logs();
  if (launch_->counting) counter_.count_barrier();
  released.clear();
  for (unsigned i = 0; i < thread_count_; ++i) {
    threads_[i]->barrier_result = count;
    threads_[i]->state = State::ready;
    released.push_back(i);
  }
}

void BlockExecutor::complete_custom_collective(const WarpRequest& request, unsigned warp_base) {
  CollectiveCall& call = *collective_;
  call.mask = request.mask;
  for (unsigned lane = 0; lane < dcnjit_sim::kWarpSize; ++lane)
    call.arguments[lane] = (request.mask >> lane & 1u) ? threads_[warp_base + lane]->request.argument : nullptr;
  call.launch = launch_->context;
  call.counting = launch_->counting != nullptr;
  call.record_count = 0;
  call.mma_ops = 0;
  call.flops = 0;
  if (const char* error = request.complete(&call))
    fail(fmt::format("{} at {} (warp {}): {}", op_name(request), site(request.file, request.line), warp_base / 32,
                     error));
  if (launch_->counting) counter_.count_collective(call, *launch_->counting);
}

void BlockExecutor::flush_access_logs(unsigned warp_base, unsigned mask) {
  if (!launch_->counting) return;
  lanes_.clear();
  for (unsigned lane = 0; lane < dcnjit_sim::kWarpSize; ++lane)
    if ((mask >> lane & 1u) && warp_base + lane < thread_count_)
      lanes_.push_back(AccessCounter::Lane{lane, &threads_[warp_base + lane]->log});
  counter_.flush(lanes_, *launch_->counting);
}

void BlockExecutor::flush_all_access_logs() {
  if (!launch_->counting) return;
  for (unsigned warp_base = 0; warp_base < thread_count_; warp_base += dcnjit_sim::kWarpSize)
    flush_access_logs(warp_base, 0xffffffffu);
}

std::string BlockExecutor::describe_waiting_threads() const {
  // Groups consecutive threads that are in the same situation: "threads 0-31: wait at k.cu:12".
  auto situation = [&](const SimThread& thread) -> std::string {
    switch (thread.state) {
      case State::finished: return "exited";
      case State::at_barrier: return fmt::format("wait at __syncthreads {}", site(thread.site_file, thread.site_line));
      case State::at_warp:
        return fmt::format("wait at {} {} (mask {:#010x})", op_name(thread.request),
                           site(thread.site_file, thread.site_line), thread.request.mask);
      default: return "running";
    }
  };
  std::string out;
  unsigned begin = 0;
  while (begin < thread_count_) {
    const std::string what = situation(*threads_[begin]);
    unsigned end = begin + 1;
    while (end < thread_count_ && situation(*threads_[end]) == what) ++end;
    out += end - begin == 1 ? fmt::format("  thread {}: {}\n", begin, what)
                            : fmt::format("  threads {}-{}: {}\n", begin, end - 1, what);
    begin = end;
  }
  return out;
}

void BlockExecutor::fail(const std::string& what) {
  throw Error(ErrorCode::LaunchError,
              fmt::format("sim: kernel {} block ({},{},{}) of grid ({},{},{}) x block ({},{},{}): {}",
                          launch_->kernel_name, block_idx_.x, block_idx_.y, block_idx_.z, launch_->grid.x,
                          launch_->grid.y, launch_->grid.z, launch_->block.x, launch_->block.y, launch_->block.z,
                          what));
}

}  // namespace dcnjit::sim
