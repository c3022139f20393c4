// The cpu backend's one seam to GEMM libraries. Every GEMM of a pass is a Gemm object: one shape, built
// once per pass, then run many times from the pool's threads, each run single-threaded in the calling
// thread (the backend parallelizes over its own work items, so the split of the work, and with it
// every result bit, is the same for any thread count).
//
//   C (m x n, row stride ldc) = A (m x k, lda) * B   [+ C when `accumulate`]
//   B is k x n with row stride ldb, or, with `b_transposed`, stored n x k (ldb).
//
// Libraries (docs/perf.md has the measurements that chose them):
//   onednn    oneDNN's matmul primitive (brgemm kernels, AVX-512 and AVX512-BF16): f32, and bf16 inputs
//             with f32 accumulation and output. The default.
//   openblas  cblas_sgemm / cblas_dgemm: f32 and f64 (oneDNN has no f64 GEMM).
// Sizes must fit in 32 bits for OpenBLAS; a shape that does not is Error(Unsupported) naming the operand.
#pragma once

#include <cstdint>
#include <memory>

#include "runtime/cpu/bf16.h"

namespace dcnjit::cpu {

enum class GemmLibrary { onednn, openblas };
const char* to_string(GemmLibrary library);

struct GemmShape {
  int64_t m = 0, n = 0, k = 0;
  int64_t lda = 0, ldb = 0, ldc = 0;
  bool b_transposed = false;
  bool accumulate = false;
};

// In -> Out: float -> float (both libraries), double -> double (openblas), Bf16 -> float (onednn).
template <typename In, typename Out>
class Gemm {
 public:
  // B given to each run(). Throws Error(Unsupported) for a type the library lacks or a size it cannot
  // take.
  Gemm(GemmLibrary library, const GemmShape& shape);
  // B fixed for the object's life: copied now into the library's own layout (oneDNN: its blocked
  // weights, which is what makes one B serving many A fast; OpenBLAS: the pointer is kept, so B must
  // outlive the object). run() then ignores its `b`.
  Gemm(GemmLibrary library, const GemmShape& shape, const In* fixed_b);
  ~Gemm();
  Gemm(Gemm&&) noexcept;
  Gemm& operator=(Gemm&&) noexcept;

  const GemmShape& shape() const { return shape_; }

  // Thread-safe: runs of one Gemm may overlap, each single-threaded in its calling thread.
  void run(const In* a, const In* b, Out* c) const;

 private:
  struct Impl;
  GemmShape shape_;
  std::unique_ptr<Impl> impl_;
};

// Whether this CPU multiplies bf16 natively (AVX512-BF16, which oneDNN's bf16 kernels use); without it
// the backend computes bf16 problems in f32.
bool cpu_has_native_bf16();

// OpenBLAS keeps one process-wide thread count; the backend's GEMMs run single-threaded inside its own
// work items, so it pins OpenBLAS to one thread before a pass that uses it.
void pin_blas_to_one_thread();

}  // namespace dcnjit::cpu
