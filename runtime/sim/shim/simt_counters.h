// Access logging of the SIMT shim (included by simt.h): what makes the sim's GPU memory counters
// (runtime/sim/README.md "Counters") see the kernel's loads and stores without any change to its
// source.
//
// A kernel library compiled for counting is built with -DDCNJIT_SIM_COUNTERS and the compiler's
// ThreadSanitizer instrumentation (-fsanitize=thread, GCC and clang alike), which calls
// __tsan_read<N>(address) / __tsan_write<N>(address) before every memory access it cannot prove is
// to a local variable. No TSan runtime is linked: this header defines those entry points, and each
// one appends an AccessRecord to the running simulated thread's log. The return address of the call
// identifies the instruction (the "site"), which the engine uses to group the lanes of a warp into
// requests. Addresses are classified here, so the log holds only what counts:
//   shared  the block's dynamic arena, or the kernel library's thread-local storage (`__shared__`
//           is `thread_local` in the sim), minus the shim's own thread-locals (threadIdx, ...);
//   global  one of the launch's MemoryRegions (device allocations, the tensors of a pass);
//   local   anything else (the fiber's stack, the parameter block, constants): not logged.
// A library built without DCNJIT_SIM_COUNTERS contains none of this: counting costs nothing when off.
//
// Why ThreadSanitizer's hooks and not clang's -fsanitize-coverage=trace-loads,trace-stores: they
// exist in both compilers (the default host compiler is GCC, which has no trace-loads), and they
// also report aggregate copies (a float4 or struct load becomes __tsan_read_range / __tsan_memcpy),
// which trace-loads misses. Atomics are the shim's own functions (simt_atomics.h), which log
// themselves and are compiled without instrumentation.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dcnjit_sim/simt_abi.h"

namespace dcnjit_sim {
// The simulated thread running on this worker (simt.h's enter() sets it).
inline thread_local ThreadContext* current_thread = nullptr;
}  // namespace dcnjit_sim

#if defined(DCNJIT_SIM_COUNTERS)

#include <link.h>

// Shim code whose own memory traffic must not be counted (engine state, the atomics' CAS loops).
#define DCNJIT_SIM_NOT_COUNTED __attribute__((no_sanitize("thread")))
// Shim functions that log an access on their caller's behalf: kept out of line so that
// __builtin_return_address(0) names the caller's instruction.
#define DCNJIT_SIM_LOGS_CALLER __attribute__((no_sanitize("thread"), noinline))
#define DCNJIT_SIM_CALL_SITE() reinterpret_cast<uintptr_t>(__builtin_return_address(0))

namespace dcnjit_sim {

// The kernel library's thread-local block on the calling worker thread (found once per thread),
// and the shim's own thread-locals inside it, which are not shared memory.
struct ModuleTls {
  uintptr_t begin, size;
  uintptr_t excluded_begin[8], excluded_size[8];
  unsigned excluded_count;
  bool known;
};
static thread_local ModuleTls module_tls;
// An object of this library's own image: identifies the library among the loaded ones.
static const char module_marker = 0;

DCNJIT_SIM_NOT_COUNTED inline int find_module_tls(dl_phdr_info* info, size_t, void* out) {
  const auto marker = reinterpret_cast<uintptr_t>(&module_marker);
  bool mine = false;
  uintptr_t tls_size = 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& segment = info->dlpi_phdr[i];
    const uintptr_t start = info->dlpi_addr + segment.p_vaddr;
    if (segment.p_type == PT_LOAD && marker - start < segment.p_memsz) mine = true;
    if (segment.p_type == PT_TLS) tls_size = segment.p_memsz;
  }
  if (!mine) return 0;
  auto* tls = static_cast<ModuleTls*>(out);
  tls->begin = reinterpret_cast<uintptr_t>(info->dlpi_tls_data);
  tls->size = info->dlpi_tls_data ? tls_size : 0;
  return 1;
}

DCNJIT_SIM_NOT_COUNTED inline void exclude_shim_thread_locals(ModuleTls& tls);  // simt.h: knows the built-ins

DCNJIT_SIM_NOT_COUNTED inline bool in_module_tls(uintptr_t address) {
  ModuleTls& tls = module_tls;
  if (!tls.known) {
    // The block exists by now: enter() has written the built-ins, which live in it. Marked known
    // first: whatever instrumented code runs inside (dl_iterate_phdr is not) must not come back here.
    tls.known = true;
    dl_iterate_phdr(find_module_tls, &tls);
    exclude_shim_thread_locals(tls);
  }
  if (address - tls.begin >= tls.size) return false;
  for (unsigned i = 0; i < tls.excluded_count; ++i)
    if (address - tls.excluded_begin[i] < tls.excluded_size[i]) return false;
  return true;
}

DCNJIT_SIM_NOT_COUNTED inline bool global_region(const LaunchContext* launch, uintptr_t address, uint32_t& region) {
  if (!launch) return false;
  // Last region whose begin <= address.
  uint32_t low = 0, high = launch->region_count;
  while (low < high) {
    const uint32_t middle = (low + high) / 2;
    if (launch->regions[middle].begin <= address)
      low = middle + 1;
    else
      high = middle;
  }
  if (low == 0 || address >= launch->regions[low - 1].end) return false;
  region = low - 1;
  return true;
}

// Whether `address` is shared or global memory of the running block (false: local, not counted).
DCNJIT_SIM_NOT_COUNTED inline bool classify(const ThreadContext* self, uintptr_t address, MemorySpace& space,
                                            uint32_t& region) {
  region = 0;
  space = MemorySpace::shared;
  if (address - reinterpret_cast<uintptr_t>(self->dynamic_shared) < self->dynamic_shared_bytes ||
      in_module_tls(address))
    return true;
  space = MemorySpace::global;
  return global_region(self->launch, address, region);
}

// Appends one access of the running thread to its log, if it is a global or shared one.
DCNJIT_SIM_NOT_COUNTED inline void log_access(uintptr_t site, const void* pointer, uint32_t bytes, AccessKind kind) {
  ThreadContext* self = current_thread;
  if (!self || !self->access_log) return;
  const auto address = reinterpret_cast<uintptr_t>(pointer);
  MemorySpace space;
  uint32_t region;
  if (!classify(self, address, space, region)) return;
  AccessLog* log = self->access_log;
  if (log->size == log->capacity) self->hooks->grow_access_log(self);
  log->records[log->size++] = AccessRecord{site, address, bytes, kind, space, 0, 0, region};
}

// Logs an access a collective makes on behalf of `lane` into its CollectiveCall (see simt_abi.h).
DCNJIT_SIM_NOT_COUNTED inline void log_collective_access(CollectiveCall* call, unsigned lane, uintptr_t site,
                                                         const void* pointer, uint32_t bytes, AccessKind kind) {
  MemorySpace space;
  uint32_t region;
  const auto address = reinterpret_cast<uintptr_t>(pointer);
  if (!call->counting || call->record_count == kCollectiveRecords || !classify(current_thread, address, space, region))
    return;
  call->records[call->record_count++] = AccessRecord{site, address, bytes, kind, space, uint8_t(lane), 0, region};
}

}  // namespace dcnjit_sim

// ---- The ThreadSanitizer entry points the instrumented code calls. Hidden: each kernel library
// binds its own. ----
#define DCNJIT_SIM_TSAN_ACCESS(name, size, kind)                                                     \
  extern "C" __attribute__((visibility("hidden"))) DCNJIT_SIM_NOT_COUNTED void name(void* address) { \
    dcnjit_sim::log_access(DCNJIT_SIM_CALL_SITE(), address, size, dcnjit_sim::AccessKind::kind);     \
  }
DCNJIT_SIM_TSAN_ACCESS(__tsan_read1, 1, load)
DCNJIT_SIM_TSAN_ACCESS(__tsan_read2, 2, load)
DCNJIT_SIM_TSAN_ACCESS(__tsan_read4, 4, load)
DCNJIT_SIM_TSAN_ACCESS(__tsan_read8, 8, load)
DCNJIT_SIM_TSAN_ACCESS(__tsan_read16, 16, load)
DCNJIT_SIM_TSAN_ACCESS(__tsan_write1, 1, store)
DCNJIT_SIM_TSAN_ACCESS(__tsan_write2, 2, store)
DCNJIT_SIM_TSAN_ACCESS(__tsan_write4, 4, store)
DCNJIT_SIM_TSAN_ACCESS(__tsan_write8, 8, store)
DCNJIT_SIM_TSAN_ACCESS(__tsan_write16, 16, store)
DCNJIT_SIM_TSAN_ACCESS(__tsan_unaligned_read2, 2, load)
DCNJIT_SIM_TSAN_ACCESS(__tsan_unaligned_read4, 4, load)
DCNJIT_SIM_TSAN_ACCESS(__tsan_unaligned_read8, 8, load)
DCNJIT_SIM_TSAN_ACCESS(__tsan_unaligned_read16, 16, load)
DCNJIT_SIM_TSAN_ACCESS(__tsan_unaligned_write2, 2, store)
DCNJIT_SIM_TSAN_ACCESS(__tsan_unaligned_write4, 4, store)
DCNJIT_SIM_TSAN_ACCESS(__tsan_unaligned_write8, 8, store)
DCNJIT_SIM_TSAN_ACCESS(__tsan_unaligned_write16, 16, store)
#undef DCNJIT_SIM_TSAN_ACCESS

extern "C" {
#define DCNJIT_SIM_HIDDEN __attribute__((visibility("hidden"))) DCNJIT_SIM_NOT_COUNTED
// Aggregate copies (GCC) and everything of another size.
DCNJIT_SIM_HIDDEN void __tsan_read_range(void* address, unsigned long bytes) {
  dcnjit_sim::log_access(DCNJIT_SIM_CALL_SITE(), address, uint32_t(bytes), dcnjit_sim::AccessKind::load);
}
DCNJIT_SIM_HIDDEN void __tsan_write_range(void* address, unsigned long bytes) {
  dcnjit_sim::log_access(DCNJIT_SIM_CALL_SITE(), address, uint32_t(bytes), dcnjit_sim::AccessKind::store);
}
// clang replaces memcpy/memmove/memset intrinsics with these (one read and one write each).
DCNJIT_SIM_HIDDEN void* __tsan_memcpy(void* dst, const void* src, unsigned long bytes) {
  dcnjit_sim::log_access(DCNJIT_SIM_CALL_SITE(), src, uint32_t(bytes), dcnjit_sim::AccessKind::load);
  dcnjit_sim::log_access(DCNJIT_SIM_CALL_SITE(), dst, uint32_t(bytes), dcnjit_sim::AccessKind::store);
  return __builtin_memcpy(dst, src, bytes);
}
DCNJIT_SIM_HIDDEN void* __tsan_memmove(void* dst, const void* src, unsigned long bytes) {
  dcnjit_sim::log_access(DCNJIT_SIM_CALL_SITE(), src, uint32_t(bytes), dcnjit_sim::AccessKind::load);
  dcnjit_sim::log_access(DCNJIT_SIM_CALL_SITE(), dst, uint32_t(bytes), dcnjit_sim::AccessKind::store);
  return __builtin_memmove(dst, src, bytes);
}
DCNJIT_SIM_HIDDEN void* __tsan_memset(void* dst, int value, unsigned long bytes) {
  dcnjit_sim::log_access(DCNJIT_SIM_CALL_SITE(), dst, uint32_t(bytes), dcnjit_sim::AccessKind::store);
  return __builtin_memset(dst, value, bytes);
}
// Called by the instrumentation but meaningless here (the sim compiler turns function entry/exit
// instrumentation off; these keep a library loadable whatever the compiler's defaults are).
DCNJIT_SIM_HIDDEN void __tsan_init() {}
DCNJIT_SIM_HIDDEN void __tsan_func_entry(void*) {}
DCNJIT_SIM_HIDDEN void __tsan_func_exit() {}
DCNJIT_SIM_HIDDEN void __tsan_vptr_update(void**, void*) {}
DCNJIT_SIM_HIDDEN void __tsan_vptr_read(void**) {}
#undef DCNJIT_SIM_HIDDEN
}

#else  // !DCNJIT_SIM_COUNTERS

#define DCNJIT_SIM_NOT_COUNTED
#define DCNJIT_SIM_LOGS_CALLER

#endif  // DCNJIT_SIM_COUNTERS
