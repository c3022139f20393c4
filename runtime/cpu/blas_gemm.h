// Row-major GEMM on OpenBLAS for the CPU backend's float (sgemm) and double (dgemm) paths:
//   C = alpha * op(A) * op(B) + beta * C,  op(A) is M x K, op(B) is K x N, C is M x N.
// CBLAS takes 32-bit sizes; gemm() throws Error(Unsupported) naming the operand when a size or leading
// dimension does not fit, instead of letting it wrap.
#pragma once

#include <cstdint>

namespace dcnjit::cpu {

struct GemmShape {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  int64_t lda = 0, ldb = 0, ldc = 0;
};

template <typename T>
void gemm(const GemmShape& shape, T alpha, const T* a, const T* b, T beta, T* c);

// OpenBLAS keeps one process-wide thread count; the backend sets it before each pass.
void set_blas_threads(int threads);

}  // namespace dcnjit::cpu
