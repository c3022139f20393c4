// Row-major, strided-batched GEMMs (detail::GemmDesc) on cuBLASLt.
//
// cuBLASLt is column-major. A row-major m x n matrix with leading dimension ld is, byte for byte, a
// column-major n x m matrix with the same ld, so C = op(A) op(B) (row-major) is computed as the
// column-major C^T = op(B)^T op(A)^T: cuBLASLt's first operand is our B, its second our A, its output
// has n rows and m columns, and each operand keeps its own transpose flag. map_row_major_gemm() spells
// that mapping out as plain data so it is tested without a GPU.
//
// Bias. GemmDesc's bias is per row of the row-major C (per output channel in the forward GEMM,
// y[Co, Ho*Wo] = W * columns). After the swap that is per COLUMN of cuBLASLt's D, while
// CUBLASLT_EPILOGUE_BIAS only adds a vector along D's rows (here: along Ho*Wo, the wrong axis), and
// cuBLASLt rejects the bias epilogue on row-ordered (CUBLASLT_ORDER_ROW) matrices. So the bias goes
// in as a rank-1 GEMM first, C = beta*C + bias * ones^T (k = 1, a stride-0 broadcast over the batch),
// and the main GEMM then accumulates into it with beta = 1: one rounding of the final result in
// f16/bf16, and the bias itself is exact (bias * 1 in f32).
#pragma once

#include <cublasLt.h>
#include <cuda.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "algorithms/kernel_device.h"

namespace dcnjit::cuda {

// One operand as cuBLASLt sees it: a column-major rows x cols matrix (before its op) in memory.
struct LtMatrix {
  const void* data = nullptr;
  uint64_t rows = 0, cols = 0;
  int64_t ld = 0;
  int64_t batch_stride = 0;
};

// The column-major problem D = op(A) op(B) cuBLASLt runs for a row-major GemmDesc: D is m x n.
struct LtGemmMapping {
  bool trans_a = false, trans_b = false;  // cuBLASLt's op flags
  uint64_t m = 0, n = 0, k = 0;
  LtMatrix a, b, d;                       // d is both C (input, scaled by beta) and D (output)
  int batch = 1;
};

// Throws Error(Internal) naming the field when the descriptor is malformed (non-positive sizes, a
// leading dimension smaller than its row, missing pointers). GemmDescs come from the pipeline, so a
// bad one is a dcnjit bug, never a user error.
void validate_gemm_desc(const detail::GemmDesc& desc);

// Pure: the cuBLASLt view of `desc` (ignores bias; see bias_broadcast_gemm).
LtGemmMapping map_row_major_gemm(const detail::GemmDesc& desc);

// Pure: the rank-1 GEMM C = desc.beta * C + bias * ones^T over desc's batch, where `ones` holds at
// least desc.n ones of desc.dtype (with bias_per_column: C = beta * C + ones * bias^T, at least desc.m
// ones). Run it, then `desc` with beta = 1 and no bias.
detail::GemmDesc bias_broadcast_gemm(const detail::GemmDesc& desc, const void* ones);

// cuBLASLt's version as "13.1.0".
std::string cublaslt_version();

// A cuBLASLt handle plus, per GEMM shape, the descriptors and the heuristic's candidate algorithms.
// Not thread-safe for concurrent run() on the same instance beyond the cache (guarded); the device
// that owns it serializes its use. The owner's context must be current during every call.
class CublasLtGemm {
 public:
  // How many algorithms the heuristic is asked for; GemmDesc::algo indexes into the returned list.
  static constexpr int kMaxCandidates = 8;

  CublasLtGemm();
  ~CublasLtGemm();
  CublasLtGemm(const CublasLtGemm&) = delete;
  CublasLtGemm& operator=(const CublasLtGemm&) = delete;

  // Runs `desc` (bias must already have been folded in by the caller; see bias_broadcast_gemm) on
  // `stream`. desc.algo indexes the heuristic's candidates; past the last one (the shape offers
  // fewer) is Error(InvalidArgument) naming desc.role. No candidate at all is Error(Unsupported) with
  // the shape. Throws Error(LaunchError) naming the cuBLASLt call and status otherwise.
  void run(const detail::GemmDesc& desc, CUstream stream, void* workspace, std::size_t workspace_bytes);

  // Number of algorithms the heuristic offers for this shape.
  int candidate_count(const detail::GemmDesc& desc, std::size_t workspace_bytes);

 private:
  // Everything the descriptors and the heuristic depend on; pointer alignment matters because
  // cuBLASLt's faster kernels require 16-byte (or wider) aligned operands.
  struct ShapeKey {
    bool trans_a, trans_b;
    int64_t m, n, k, lda, ldb, ldc, stride_a, stride_b, stride_c;
    int batch;
    DType dtype, c_dtype;
    bool tf32;
    unsigned align_a, align_b, align_c;
    std::size_t workspace_bytes;
    auto operator<=>(const ShapeKey&) const = default;
  };
  struct ShapePlan;

  ShapePlan& plan_for(const detail::GemmDesc& desc, std::size_t workspace_bytes);

  cublasLtHandle_t handle_ = nullptr;
  std::mutex mutex_;
  std::map<ShapeKey, std::unique_ptr<ShapePlan>> plans_;
};

}  // namespace dcnjit::cuda
