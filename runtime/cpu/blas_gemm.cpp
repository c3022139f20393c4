#include "runtime/cpu/blas_gemm.h"

#include <cblas.h>
#include <fmt/format.h>

#include <climits>

#include "dcnjit/error.h"

namespace dcnjit::cpu {
namespace {

int blas_int(int64_t value, const char* name) {
  if (value < 0 || value > INT_MAX)
    throw Error(ErrorCode::Unsupported,
                fmt::format("cpu backend: GEMM {}={} exceeds the 32-bit range of CBLAS", name, value));
  return int(value);
}

struct BlasArgs {
  CBLAS_TRANSPOSE ta, tb;
  int m, n, k, lda, ldb, ldc;
};

BlasArgs to_blas(const GemmShape& s) {
  return {s.trans_a ? CblasTrans : CblasNoTrans,
          s.trans_b ? CblasTrans : CblasNoTrans,
          blas_int(s.m, "M"),
          blas_int(s.n, "N"),
          blas_int(s.k, "K"),
          blas_int(s.lda, "lda"),
          blas_int(s.ldb, "ldb"),
          blas_int(s.ldc, "ldc")};
}

}  // namespace

template <>
void gemm<float>(const GemmShape& shape, float alpha, const float* a, const float* b, float beta, float* c) {
  if (shape.m == 0 || shape.n == 0) return;
  const BlasArgs g = to_blas(shape);
  cblas_sgemm(CblasRowMajor, g.ta, g.tb, g.m, g.n, g.k, alpha, a, g.lda, b, g.ldb, beta, c, g.ldc);
}

template <>
void gemm<double>(const GemmShape& shape, double alpha, const double* a, const double* b, double beta, double* c) {
  if (shape.m == 0 || shape.n == 0) return;
  const BlasArgs g = to_blas(shape);
  cblas_dgemm(CblasRowMajor, g.ta, g.tb, g.m, g.n, g.k, alpha, a, g.lda, b, g.ldb, beta, c, g.ldc);
}

void set_blas_threads(int threads) { openblas_set_num_threads(threads < 1 ? 1 : threads); }

}  // namespace dcnjit::cpu
