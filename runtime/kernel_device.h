// KernelDevice: what the generated-kernel pipeline (im2col -> GEMM -> col2im/coord ...) needs from a
// machine that runs generated kernels. Two implementations: runtime/cuda (NVRTC + Driver API +
// cuBLASLt) and runtime/sim (host compiler + SIMT shim + OpenBLAS). The pipeline is written once,
// against this interface, so both backends run the same sequence of the same kernels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "dcnjit/problem.h"
#include "generator/kernel_source.h"
#include "runtime/phases.h"

namespace dcnjit::detail {

struct LaunchDims {
  unsigned grid[3] = {1, 1, 1};
  unsigned block[3] = {1, 1, 1};
  unsigned dynamic_shared_bytes = 0;
};

// A loaded kernel; opaque to the pipeline.
class LoadedKernel {
 public:
  virtual ~LoadedKernel() = default;
};

// Row-major, strided-batched: for b in [0, batch):
//   C_b[m, n] = alpha * op(A_b)[m, k] * op(B_b)[k, n] + beta * C_b[m, n] (+ bias[m] when bias != null)
// where op(A) = A^T when trans_a (A_b is then stored k x m with leading dimension lda), likewise B.
// Inputs and output are of `dtype`; accumulation is always f32.
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
  const void* bias = nullptr;  // length m, same dtype as C
  DType dtype = DType::f32;
  int algo = 0;  // index into the implementation's candidate list (cuBLASLt heuristic order)
};

class KernelDevice {
 public:
  virtual ~KernelDevice() = default;

  // Scratch memory on the device (column buffers, accumulators).
  virtual void* allocate(std::size_t bytes) = 0;
  virtual void release(void* pointer) = 0;
  virtual void fill_zero(void* pointer, std::size_t bytes) = 0;

  // Compiles (or fetches from the binary cache) and loads the kernel. Returned pointer stays valid
  // for the device's lifetime.
  virtual LoadedKernel* load(const gen::KernelSource& kernel) = 0;
  virtual void launch(LoadedKernel* kernel, const LaunchDims& dims, const void* params, std::size_t params_bytes) = 0;
  virtual void gemm(const GemmDesc& desc) = 0;

  // Largest grid.x this device accepts (kernels use grid-stride loops beyond it).
  virtual unsigned max_grid_x() const = 0;
  virtual void synchronize() = 0;
  virtual void set_stream(void* stream) {}

  // While the device counts (sim only): its running totals, which ScopedPhase turns into per-phase
  // counters. Null when not counting.
  virtual const CounterTotals* counter_totals() const { return nullptr; }
};

}  // namespace dcnjit::detail
