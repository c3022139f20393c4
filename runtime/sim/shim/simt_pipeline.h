// cp.async for the SIMT shim: the primitives of CUDA's <cuda_pipeline_primitives.h> (kernels include
// <cuda_pipeline.h> or <cuda_pipeline_primitives.h>; the sim finds these through dcnjit_sim/cuda):
//
//   void __pipeline_memcpy_async(void* dst_shared, const void* src_global, size_t size_and_align,
//                                size_t zfill = 0);   // 4, 8 or 16 bytes, both pointers aligned to it
//   void __pipeline_commit();                          // closes the thread's open group of copies
//   void __pipeline_wait_prior(size_t prior);          // all committed groups but the newest `prior`
//                                                      // are complete and visible to this thread
//
// Semantics of the sim: a copy happens when the first wait that covers its group runs, never earlier,
// in issue order (bytes size - zfill from the source, then zfill zeros). So a kernel that reads its
// shared buffer before waiting (or before the __syncthreads after the wait, for other threads' copies)
// sees the old contents, as it may on a GPU; the source is read at the wait too. Copies of a thread
// that never waits are dropped at its exit. Groups are per thread, as on the GPU.
// Counting: each copy logs a global load of size - zfill bytes and a shared store of size bytes at
// its call site (one LDGSTS instruction).
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(DCNJIT_SIM_COUNTERS)
#define DCNJIT_SIM_ASYNC_SITE DCNJIT_SIM_CALL_SITE()
#else
#define DCNJIT_SIM_ASYNC_SITE uintptr_t(0)
#endif

DCNJIT_SIM_LOGS_CALLER inline void __pipeline_memcpy_async(void* __restrict__ dst_shared,
                                                           const void* __restrict__ src_global,
                                                           std::size_t size_and_align, std::size_t zfill = 0) {
  if (size_and_align != 4 && size_and_align != 8 && size_and_align != 16)
    dcnjit_sim::trap("__pipeline_memcpy_async: size_and_align must be 4, 8 or 16");
  if (zfill > size_and_align) dcnjit_sim::trap("__pipeline_memcpy_async: zfill is larger than size_and_align");
  if (reinterpret_cast<uintptr_t>(dst_shared) % size_and_align ||
      reinterpret_cast<uintptr_t>(src_global) % size_and_align)
    dcnjit_sim::trap("__pipeline_memcpy_async: a pointer is not aligned to size_and_align");
  const uintptr_t site = DCNJIT_SIM_ASYNC_SITE;
  (void)site;
#if defined(DCNJIT_SIM_COUNTERS)
  if (size_and_align > zfill)
    dcnjit_sim::log_access(site, src_global, uint32_t(size_and_align - zfill), dcnjit_sim::AccessKind::load);
  dcnjit_sim::log_access(site, dst_shared, uint32_t(size_and_align), dcnjit_sim::AccessKind::store);
#endif
  dcnjit_sim::ThreadContext* self = dcnjit_sim::current_thread;
  self->hooks->async_copy(self, dst_shared, src_global, unsigned(size_and_align), unsigned(zfill));
}

DCNJIT_SIM_NOT_COUNTED inline void __pipeline_commit() {
  dcnjit_sim::ThreadContext* self = dcnjit_sim::current_thread;
  self->hooks->async_commit(self);
}

DCNJIT_SIM_NOT_COUNTED inline void __pipeline_wait_prior(std::size_t prior) {
  dcnjit_sim::ThreadContext* self = dcnjit_sim::current_thread;
  self->hooks->async_wait(self, prior > 0xffffffffu ? 0xffffffffu : unsigned(prior));
}
