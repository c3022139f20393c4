// KernelDevice: what an algorithm (algorithms/algorithm.h) needs from a machine that runs generated
// kernels. Two implementations: runtime/cuda (NVRTC + Driver API + cuBLASLt) and runtime/sim (host
// compiler + SIMT shim + OpenBLAS). Each algorithm's launch sequence is written once, against this
// interface, so both backends run the same sequence of the same kernels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "dcnjit/config.h"
#include "dcnjit/problem.h"
#include "generator/kernel_source.h"
#include "generator/kernel_spec.h"
#include "core/phases.h"

namespace dcnjit::detail {

// What algorithms and their knob tables may assume about the device: limits that decide which configs
// can run, and sizes that decide the heuristic's defaults.
struct DeviceTraits {
  Backend backend = Backend::sim;
  int arch = 90;                                      // sm_XX the kernels are compiled for (sim: modelled)
  int sm_count = 132;
  std::size_t l2_bytes = std::size_t(50) << 20;
  unsigned max_grid_x = 0x7fffffffu;
  std::size_t max_dynamic_shared_bytes = 227u * 1024u;  // per block, after opting in
  int gemm_algorithms = 1;  // candidates the device offers per GEMM (cuBLASLt's heuristic list; sim: 1)
};

struct LaunchDims {
  unsigned grid[3] = {1, 1, 1};
  unsigned block[3] = {1, 1, 1};
  unsigned dynamic_shared_bytes = 0;
};

// A loaded kernel; opaque to the algorithms.
class LoadedKernel {
 public:
  virtual ~LoadedKernel() = default;
};

// Row-major, strided-batched: for b in [0, batch):
//   C_b[m, n] = alpha * op(A_b)[m, k] * op(B_b)[k, n] + beta * C_b[m, n]
//               (+ bias[m], or bias[n] with bias_per_column, when bias != null)
// where op(A) = A^T when trans_a (A_b is then stored k x m with leading dimension lda), likewise B.
// A and B are of `dtype`; C is of `c_dtype` (`dtype` unless set: f32 for a 16-bit GEMM that accumulates
// into an f32 buffer); accumulation is f32 (f64 for f64), TF32 for f32 inputs only with allow_tf32.
struct GemmDesc {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  const void* a = nullptr;
  int64_t lda = 0, stride_a = 0;
  const void* b = nullptr;
  int64_t ldb = 0, stride_b = 0;
  void* c = nullptr;
  int64_t ldc = 0, stride_c = 0;
  int batch = 1;
  float alpha = 1.0f, beta = 0.0f;
  const void* bias = nullptr;  // length m (or n with bias_per_column), same dtype as C
  bool bias_per_column = false;
  DType dtype = DType::f32;
  std::optional<DType> c_dtype;  // C's element type when it differs from dtype (f32 accumulators)
  bool allow_tf32 = false;       // f32 inputs may be rounded to TF32 on tensor cores (EngineOptions::allow_tf32)
  int algo = 0;                  // index into the implementation's candidate list (cuBLASLt heuristic order)
  std::string_view role = "gemm";  // the knob that chose `algo` ("gemm_fwd"), for messages

  DType output_dtype() const { return c_dtype.value_or(dtype); }
};

class KernelDevice {
 public:
  virtual ~KernelDevice() = default;

  // Scratch memory on the device (column buffers, accumulators).
  virtual void* allocate(std::size_t bytes) = 0;
  virtual void release(void* pointer) noexcept = 0;  // never throws: it runs in destructors
  virtual void fill_zero(void* pointer, std::size_t bytes) = 0;

  // Compiles (or fetches from the binary cache) and loads the kernel. Returned pointer stays valid
  // for the device's lifetime.
  virtual LoadedKernel* load(const gen::KernelSource& kernel) = 0;
  virtual void launch(LoadedKernel* kernel, const LaunchDims& dims, const void* params, std::size_t params_bytes) = 0;
  virtual void gemm(const GemmDesc& desc) = 0;

  // Limits and sizes of the device (grid.x beyond traits().max_grid_x: kernels grid-stride).
  virtual const DeviceTraits& traits() const = 0;
  virtual void synchronize() = 0;
  // Why the compiled kernel of `spec` would not run well on this device (spilled registers, more
  // registers or shared memory per block than an SM has); empty when fine or unknown (the sim).
  virtual std::string resource_problem(const gen::KernelSpec& spec) { return {}; }
  virtual void set_stream(void* stream) {}

  // While the device counts (sim only): its running totals, which ScopedPhase turns into per-phase
  // counters. Null when not counting.
  virtual const CounterTotals* counter_totals() const { return nullptr; }
};

}  // namespace dcnjit::detail
