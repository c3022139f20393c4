// The calling convention between the sim execution engine (runtime/sim, compiled into dcnjit) and a
// kernel library the host compiler built against the shim (simt.h). Both sides include this file;
// it holds plain structs and function pointers only, so the two sides need not share anything else
// (no C++ library types cross the boundary). Bump kAbiVersion when a struct changes: the engine
// refuses a library built against another version.
#pragma once

#include <cstdint>

namespace dcnjit_sim {

inline constexpr unsigned kAbiVersion = 1;
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
};

struct WarpRequest {
  WarpOp op;
  unsigned mask;         // lanes that take part, as in CUDA
  int lane_argument;     // srcLane / delta / laneMask for shuffles
  int width;             // shuffle segment width (power of two <= 32)
  uint64_t value;        // the lane's operand (shuffled bytes, predicate, match/reduce value)
  unsigned value_bytes;  // bytes of `value` that are meaningful (match compares only these)
  const char* file;      // call site, for diagnostics
  unsigned line;
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
};

// What a kernel library exports per kernel (the shim's DCNJIT_SIM_EXPORT_KERNEL writes these):
//   void        <name>_sim_entry(ThreadContext*, const void* params)   runs one thread
//   unsigned    <name>_sim_abi_version()                                kAbiVersion
//   std::size_t <name>_sim_param_bytes()                                sizeof(param struct)
using EntryFunction = void (*)(ThreadContext* self, const void* params);
using AbiVersionFunction = unsigned (*)();
using ParamBytesFunction = unsigned long (*)();

}  // namespace dcnjit_sim
