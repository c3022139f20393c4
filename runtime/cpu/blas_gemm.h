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
#include <type_traits>
#include <vector>

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

// Memory for packed B operands that outlives one pass: the backend keeps one, so packing the weights
// of each call writes into pages it has already touched (a fresh allocation of a few MB costs more in
// page faults than the packing itself).
class PackedStore {
 public:
  // Slot `index`: at least `bytes`, 64-byte aligned; the contents are whatever was left there.
  void* slot(std::size_t index, std::size_t bytes);

 private:
  struct Buffer {
    std::unique_ptr<char[]> memory;
    std::size_t bytes = 0;
  };
  std::vector<Buffer> buffers_;
};

// In -> Out: float -> float (both libraries), double -> double (openblas), Bf16 -> float (onednn).
template <typename In, typename Out>
class Gemm {
 public:
  // The element type of a fixed B as the caller holds it: f32 for the bf16 GEMM (rounded to bf16 by
  // the packing, which is exact for weights that came as bf16).
  using Source = std::conditional_t<std::is_same_v<In, double>, double, float>;

  // B given to each run(). Throws Error(Unsupported) for a type the library lacks or a size it cannot
  // take.
  Gemm(GemmLibrary library, const GemmShape& shape);
  // B fixed for the object's life: copied now into the library's own layout (oneDNN: its blocked
  // weights, which is what makes one B serving many A fast), in `store` slot `slot` (null: memory of
  // its own). OpenBLAS keeps the pointer instead, so B must then outlive the object. run() ignores its b.
  Gemm(GemmLibrary library, const GemmShape& shape, const Source* fixed_b, PackedStore* store, std::size_t slot);
  ~Gemm();
  Gemm(Gemm&&) noexcept;
  Gemm& operator=(Gemm&&) noexcept;

  // The same GEMM with `m` rows of A and C, sharing this one's packed B when the library lays it out
  // the same way for both (else packing it again into memory of its own).
  Gemm with_rows(int64_t m) const;

  const GemmShape& shape() const { return shape_; }

  // Thread-safe: runs of one Gemm may overlap, each single-threaded in its calling thread.
  void run(const In* a, const In* b, Out* c) const;

 private:
  Gemm() = default;
  struct Impl;
  GemmShape shape_;
  std::shared_ptr<Impl> impl_;
};

// Whether this CPU multiplies bf16 natively (AVX512-BF16, which oneDNN's bf16 kernels use); without it
// the backend computes bf16 problems in f32.
bool cpu_has_native_bf16();

// OpenBLAS keeps one process-wide thread count; the backend's GEMMs run single-threaded inside its own
// work items, so it pins OpenBLAS to one thread before a pass that uses it.
void pin_blas_to_one_thread();

}  // namespace dcnjit::cpu
