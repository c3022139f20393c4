// The calling convention between the sim execution engine (runtime/sim, compiled into dcnjit) and a
// kernel library the host compiler built against the shim (simt.h). Both sides include this file;
// it holds plain structs and function pointers only, so the two sides need not share anything else
// (no C++ library types cross the boundary). Bump kAbiVersion when a struct changes: the engine
// refuses a library built against another version.
#pragma once

#include <cstdint>

namespace dcnjit_sim {

inline constexpr unsigned kAbiVersion = 2;
inline constexpr unsigned kWarpSize = 32;

struct Dim3 {
  unsigned x, y, z;
};

// The warp-level operations that need every participating lane: each lane posts a request, the
// engine parks it until all lanes named in the mask have arrived, then computes every lane's result.
enum class WarpOp : uint32_t {
  sync,        // __syncwarp
  shfl_idx,    // __shfl_sync
  shfl_up,     // __shfl_up_sync
  shfl_down,   // __shfl_down_sync
  shfl_xor,    // __shfl_xor_sync
  ballot,      // __ballot_sync (also __any_sync / __all_sync, which derive from it)
  match_any,   // __match_any_sync
  match_all,   // __match_all_sync (result: the mask, or 0; predicate via WarpResult::predicate)
  reduce_add,  // __reduce_add_sync (32-bit, wraps)
  reduce_min_signed,
  reduce_max_signed,
  reduce_min_unsigned,
  reduce_max_unsigned,
  reduce_and,
  reduce_or,
  reduce_xor,
  custom,  // the shim's own collective (WMMA): WarpRequest::complete computes every lane's result
};

// ---- Access counters (runtime/sim/README.md "Counters"). ----
// A library compiled for counting (DCNJIT_SIM_COUNTERS) logs every global and shared memory access
// of kernel code: the compiler's instrumentation (simt_counters.h) and the shim's own operations
// (atomics, cp.async, WMMA) append AccessRecords to the running thread's AccessLog; the engine turns
// the logs of a warp into warp-level requests at each convergence point.
enum class AccessKind : uint8_t { load = 0, store = 1, atomic = 2 };
enum class MemorySpace : uint8_t { global = 1, shared = 2 };

struct AccessRecord {
  uintptr_t site;     // the instruction: the return address of the instrumentation call (+ a sub-slot)
  uintptr_t address;  // first byte accessed
  uint32_t bytes;
  AccessKind kind;
  MemorySpace space;
  uint8_t lane;       // set by collectives that log on behalf of every lane; lane logs leave it 0
  uint8_t reserved;
  uint32_t region;    // global accesses: index into LaunchContext::regions
};

struct AccessLog {
  AccessRecord* records;
  uint32_t size;
  uint32_t capacity;
};

// Memory the counters treat as global (device allocations and the tensors of a pass), sorted by
// begin and disjoint. Anything else a kernel touches (its stack, parameters, constants) is local.
struct MemoryRegion {
  uintptr_t begin, end;
};

// WMMA fragment layouts (simt_wmma.h): for each fragment role, the tile position (row * cols + col)
// of element i of lane l is map[l * elements_per_lane + i]. The engine fills them from
// SimOptions::wmma_permutation_seed (identity order for seed 0).
enum WmmaRole : unsigned {
  wmma_a16 = 0,  // matrix_a 16x16 of __half / __nv_bfloat16: 8 elements per lane
  wmma_b16,      // matrix_b 16x16: 8 per lane
  wmma_a_tf32,   // matrix_a 16x8 tf32: 4 per lane
  wmma_b_tf32,   // matrix_b 8x16 tf32: 4 per lane
  wmma_accumulator,  // accumulator 16x16 float: 8 per lane
  wmma_role_count
};

// What every thread of a launch shares.
struct LaunchContext {
  const MemoryRegion* regions;  // counting only
  uint32_t region_count;
  const uint16_t* wmma_maps[wmma_role_count];
};

struct CollectiveCall;

struct WarpRequest {
  WarpOp op;
  unsigned mask;         // lanes that take part, as in CUDA
  int lane_argument;     // srcLane / delta / laneMask for shuffles
  int width;             // shuffle segment width (power of two <= 32)
  uint64_t value;        // the lane's operand (shuffled bytes, predicate, match/reduce value)
  unsigned value_bytes;  // bytes of `value` that are meaningful (match compares only these)
  const char* file;      // call site, for diagnostics
  unsigned line;
  // custom only: the function the engine calls once every lane has arrived (lanes must agree on it),
  // and this lane's operand (a pointer into its own frame; valid while it waits).
  const char* (*complete)(CollectiveCall* call);
  const void* argument;
  const char* name;  // custom: the operation, for messages ("nvcuda::wmma::mma_sync")
};

// What WarpRequest::complete works on. It runs on the engine's stack while every lane of `mask`
// waits, so it can read and write each lane's operand. It returns null, or a message (a string
// literal) that fails the launch like a divergent collective. When the launch counts, it may log
// up to kCollectiveRecords accesses (each with its lane) and count MMA operations.
inline constexpr unsigned kCollectiveRecords = 128;
struct CollectiveCall {
  unsigned mask;
  const void* arguments[kWarpSize];
  const LaunchContext* launch;
  int counting;
  uint32_t record_count;
  AccessRecord records[kCollectiveRecords];
  uint64_t mma_ops;
  uint64_t flops;
};

struct WarpResult {
  uint64_t value;
  int predicate;  // match_all: whether all values were equal
};

struct ThreadContext;

// Entry points of the engine that kernel code calls. A call may switch to another simulated thread
// (fiber) and return later; kernel code reloads its per-thread built-ins afterwards.
struct Hooks {
  // Block barrier. Returns the number of threads of the block that passed a non-zero predicate
  // (__syncthreads_count; __syncthreads passes 0 and ignores the result).
  int (*sync_threads)(ThreadContext* self, int predicate, const char* file, unsigned line);
  WarpResult (*warp_collective)(ThreadContext* self, const WarpRequest* request);
  // __trap / a failed device-side check: ends the launch with an error carrying `message`.
  [[noreturn]] void (*trap)(ThreadContext* self, const char* message);
  // Counting: makes room for more records in self->access_log (at least doubles its capacity).
  void (*grow_access_log)(ThreadContext* self);
  // cp.async (simt_pipeline.h): queue a copy of `bytes - zero_fill` bytes from src then `zero_fill`
  // zeros to dst; close the open group; complete every closed group but the newest `pending`. The
  // copies of a group happen when a wait covers it, never earlier.
  void (*async_copy)(ThreadContext* self, void* dst, const void* src, unsigned bytes, unsigned zero_fill);
  void (*async_commit)(ThreadContext* self);
  void (*async_wait)(ThreadContext* self, unsigned pending);
};

// One simulated thread, as the kernel sees it.
struct ThreadContext {
  Dim3 thread_idx, block_idx, block_dim, grid_dim;
  unsigned lane;          // linear thread index % 32
  unsigned warp_lanes;    // lanes that exist in this thread's warp (a partial last warp has fewer)
  void* dynamic_shared;   // the block's `extern __shared__` memory
  unsigned dynamic_shared_bytes;
  const Hooks* hooks;
  void* engine;           // the engine's own record of this thread; opaque to kernel code
  const LaunchContext* launch;
  AccessLog* access_log;  // null unless the launch counts
};

// What a kernel library exports per kernel (the shim's DCNJIT_SIM_EXPORT_KERNEL writes these):
//   void        <name>_sim_entry(ThreadContext*, const void* params)   runs one thread
//   unsigned    <name>_sim_abi_version()                                kAbiVersion
//   std::size_t <name>_sim_param_bytes()                                sizeof(param struct)
using EntryFunction = void (*)(ThreadContext* self, const void* params);
using AbiVersionFunction = unsigned (*)();
using ParamBytesFunction = unsigned long (*)();

}  // namespace dcnjit_sim
