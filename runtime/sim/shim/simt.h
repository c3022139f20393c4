// The SIMT shim: lets a CUDA translation unit compile with the host C++ compiler so the sim backend
// runs the very same generated kernels on the CPU (think TRITON_INTERPRET=1). The sim compiler
// force-includes this header before the generated source (`-include dcnjit_sim/simt.h`).
//
// Model. The engine (runtime/sim/block_executor.cpp) runs one block at a time per OS worker thread
// and each CUDA thread of the block as a fiber on that worker. Kernel code sees its coordinates
// through thread_local built-ins (threadIdx, blockIdx, ...) that the shim reloads every time the
// fiber resumes. Fibers switch only inside the engine hooks: __syncthreads and warp collectives.
//
//   __shared__          thread_local: one instance per worker thread, and a worker runs one block at
//                       a time, so one instance per running block (blocks never see each other's).
//   extern __shared__   the sim compiler rewrites `extern __shared__ T name[];` (block scope) into
//                       `T* name = dcnjit_sim::dynamic_shared<T>();` (C++ cannot declare a per-block
//                       array of unknown size); the memory is the block's dynamic arena.
//   atomics             real atomics (std::atomic_ref): blocks run concurrently on several workers.
//   warp collectives    each lane posts its operand, the engine parks it until every lane in the
//                       mask has arrived, then hands each lane its result.
//
//   tensor cores        <mma.h> (nvcuda::wmma) and <cuda_pipeline.h> (cp.async) resolve to the shim's
//   and cp.async        emulations in dcnjit_sim/cuda (simt_wmma.h, simt_pipeline.h).
//   counting            a library built with -DDCNJIT_SIM_COUNTERS and TSan instrumentation logs every
//                       global/shared access for the GPU counters (simt_counters.h).
// runtime/sim/README.md describes the model, the counters and the emulations.
//
// Templates can test DCNJIT_SIM to give a construct without a host equivalent (inline PTX) a host
// implementation with the same semantics.
#pragma once

#define DCNJIT_SIM 1

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <vector_types.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <source_location>
#include <type_traits>

#include "dcnjit_sim/simt_abi.h"
#include "dcnjit_sim/simt_counters.h"

// ---- Qualifiers. The CUDA headers define some of these as empty in host mode; be explicit. ----
#undef __global__
#undef __device__
#undef __host__
#undef __shared__
#undef __constant__
#undef __managed__
#undef __forceinline__
#undef __noinline__
#undef __launch_bounds__
#define __global__
#define __device__
#define __host__
#define __constant__
#define __managed__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __shared__ thread_local
// __restrict__ and __align__(n) are understood by g++/clang++ (the latter via crt/host_defines.h).

inline constexpr int warpSize = 32;

// ---- Built-in variables: the current fiber's coordinates, reloaded after every switch. ----
inline thread_local uint3 threadIdx;
inline thread_local uint3 blockIdx;
inline thread_local dim3 blockDim;
inline thread_local dim3 gridDim;

namespace dcnjit_sim {

#if defined(DCNJIT_SIM_COUNTERS)
// The shim's own thread-locals are in the library's thread-local block but are not shared memory.
DCNJIT_SIM_NOT_COUNTED inline void exclude_thread_local(ModuleTls& tls, const void* object, uintptr_t bytes) {
  tls.excluded_begin[tls.excluded_count] = reinterpret_cast<uintptr_t>(object);
  tls.excluded_size[tls.excluded_count++] = bytes;
}

DCNJIT_SIM_NOT_COUNTED inline void exclude_shim_thread_locals(ModuleTls& tls) {
  exclude_thread_local(tls, &threadIdx, sizeof threadIdx);
  exclude_thread_local(tls, &blockIdx, sizeof blockIdx);
  exclude_thread_local(tls, &blockDim, sizeof blockDim);
  exclude_thread_local(tls, &gridDim, sizeof gridDim);
  exclude_thread_local(tls, &current_thread, sizeof current_thread);
  exclude_thread_local(tls, &module_tls, sizeof module_tls);
}
#endif

// Makes `self` the running thread of this worker: called when a fiber starts and whenever it
// returns from a hook (another fiber may have run in between and changed the built-ins).
DCNJIT_SIM_NOT_COUNTED inline void enter(ThreadContext* self) {
  current_thread = self;
  threadIdx = uint3{self->thread_idx.x, self->thread_idx.y, self->thread_idx.z};
  blockIdx = uint3{self->block_idx.x, self->block_idx.y, self->block_idx.z};
  // Member by member: dim3's constructor is an instrumented function in a counting build.
  blockDim.x = self->block_dim.x;
  blockDim.y = self->block_dim.y;
  blockDim.z = self->block_dim.z;
  gridDim.x = self->grid_dim.x;
  gridDim.y = self->grid_dim.y;
  gridDim.z = self->grid_dim.z;
}

// The block's dynamic shared memory (target of the `extern __shared__` rewrite).
template <typename T>
DCNJIT_SIM_NOT_COUNTED inline T* dynamic_shared() {
  return static_cast<T*>(current_thread->dynamic_shared);
}

[[noreturn]] DCNJIT_SIM_NOT_COUNTED inline void trap(const char* message) {
  ThreadContext* self = current_thread;
  self->hooks->trap(self, message);
}

}  // namespace dcnjit_sim

// ---- Block barrier. ----
inline void __syncthreads(std::source_location where = std::source_location::current()) {
  dcnjit_sim::ThreadContext* self = dcnjit_sim::current_thread;
  self->hooks->sync_threads(self, 0, where.file_name(), where.line());
  dcnjit_sim::enter(self);
}

inline int __syncthreads_count(int predicate, std::source_location where = std::source_location::current()) {
  dcnjit_sim::ThreadContext* self = dcnjit_sim::current_thread;
  const int count = self->hooks->sync_threads(self, predicate != 0, where.file_name(), where.line());
  dcnjit_sim::enter(self);
  return count;
}

inline int __syncthreads_or(int predicate, std::source_location where = std::source_location::current()) {
  return __syncthreads_count(predicate, where) != 0;
}

inline int __syncthreads_and(int predicate, std::source_location where = std::source_location::current()) {
  const dim3 block = blockDim;
  return __syncthreads_count(predicate, where) == int(block.x * block.y * block.z);
}

[[noreturn]] inline void __trap() { dcnjit_sim::trap("__trap() called"); }

#include "dcnjit_sim/simt_atomics.h"
#include "dcnjit_sim/simt_math.h"
#include "dcnjit_sim/simt_warp.h"

// ---- Export of a kernel for the engine (the sim compiler appends one line per kernel). ----
// `kernel` is the generated extern "C" __global__ entry point, `Params` its one by-value argument.
#define DCNJIT_SIM_EXPORT_KERNEL(kernel, Params)                                                   \
  extern "C" void kernel(Params);                                                                  \
  extern "C" void kernel##_sim_entry(dcnjit_sim::ThreadContext* self, const void* params) {        \
    dcnjit_sim::enter(self);                                                                       \
    kernel(*static_cast<const Params*>(params));                                                   \
  }                                                                                                \
  extern "C" unsigned kernel##_sim_abi_version() { return dcnjit_sim::kAbiVersion; }               \
  extern "C" unsigned long kernel##_sim_param_bytes() { return sizeof(Params); }
