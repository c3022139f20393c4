#include "runtime/sim/sim_gemm.h"

#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "dcnjit/error.h"
#include "core/half.h"

namespace dcnjit::sim {

namespace {

using detail::GemmDesc;

float load_element(const void* base, int64_t index, DType dtype) {
  switch (dtype) {
    case DType::f32: return static_cast<const float*>(base)[index];
    case DType::f16: return half_to_float(static_cast<const uint16_t*>(base)[index]);
    case DType::bf16: return bf16_to_float(static_cast<const uint16_t*>(base)[index]);
    case DType::f64: break;  // run_gemm multiplies f64 in double, never through these
  }
  throw Error(ErrorCode::Internal, "sim gemm: no f32 view of this dtype");
}

void store_element(void* base, int64_t index, DType dtype, float value) {
  switch (dtype) {
    case DType::f32: static_cast<float*>(base)[index] = value; return;
    case DType::f16: static_cast<uint16_t*>(base)[index] = float_to_half(value); return;
    case DType::bf16: static_cast<uint16_t*>(base)[index] = float_to_bf16(value); return;
    case DType::f64: break;
  }
  throw Error(ErrorCode::Internal, "sim gemm: no f32 view of this dtype");
}

// A rows x cols matrix stored with leading dimension `ld` -> dense f32 (leading dimension cols).
std::vector<float> widen(const void* base, int64_t offset, int64_t rows, int64_t cols, int64_t ld, DType dtype) {
  std::vector<float> out(std::size_t(rows * cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) out[std::size_t(r * cols + c)] = load_element(base, offset + r * ld + c, dtype);
  return out;
}

void check(const GemmDesc& d) {
  auto fail = [](const std::string& what) { throw Error(ErrorCode::InvalidArgument, "sim gemm: " + what); };
  if (d.m < 0 || d.n < 0 || d.k < 0 || d.batch < 0)
    fail(fmt::format("negative size (m={} n={} k={} batch={})", d.m, d.n, d.k, d.batch));
  const int64_t a_cols = d.trans_a ? d.m : d.k, b_cols = d.trans_b ? d.k : d.n;
  if (d.lda < std::max<int64_t>(1, a_cols)) fail(fmt::format("lda={} is less than a row of A ({})", d.lda, a_cols));
  if (d.ldb < std::max<int64_t>(1, b_cols)) fail(fmt::format("ldb={} is less than a row of B ({})", d.ldb, b_cols));
  if (d.ldc < std::max<int64_t>(1, d.n)) fail(fmt::format("ldc={} is less than a row of C ({})", d.ldc, d.n));
  if (d.m && d.n && (!d.c || (d.k && (!d.a || !d.b)))) fail("null operand");
  const DType out = d.output_dtype();
  if (out != d.dtype && !(out == DType::f32 && (d.dtype == DType::f16 || d.dtype == DType::bf16)))
    fail(fmt::format("C of {} for {} operands: only 16-bit operands may write an f32 C", to_string(out),
                     to_string(d.dtype)));
}

// C += bias along rows (bias[i]) or, with bias_per_column, along columns (bias[j]).
template <typename T>
void add_bias(T* c, const GemmDesc& d, const T* bias) {
  for (int64_t i = 0; i < d.m; ++i)
    for (int64_t j = 0; j < d.n; ++j) c[i * d.ldc + j] += bias[d.bias_per_column ? j : i];
}

}  // namespace

// What a tensor core reads of an f32 operand under TF32: 10 explicit mantissa bits, rounded to nearest
// (ties away from zero, as cvt.rna.tf32.f32 does); Inf and NaN pass through.
float round_to_tf32(float v) {
  uint32_t bits = float_to_bits(v);
  if ((bits & 0x7f800000u) == 0x7f800000u) return v;
  bits += 0x1000u;  // half of the 13 dropped bits: round half away from zero on the magnitude
  bits &= 0xffffe000u;
  return bits_to_float(bits);
}

void run_gemm(const GemmDesc& d) {
  check(d);
  if (d.m == 0 || d.n == 0) return;
  const CBLAS_TRANSPOSE ta = d.trans_a ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE tb = d.trans_b ? CblasTrans : CblasNoTrans;
  const int64_t a_rows = d.trans_a ? d.k : d.m, a_cols = d.trans_a ? d.m : d.k;
  const int64_t b_rows = d.trans_b ? d.n : d.k, b_cols = d.trans_b ? d.k : d.n;

  const DType out = d.output_dtype();
  const bool tf32 = d.allow_tf32 && d.dtype == DType::f32;
  for (int b = 0; b < d.batch; ++b) {
    const int64_t c_offset = b * d.stride_c;
    if (d.dtype == DType::f32 && out == DType::f32 && !tf32) {
      const float* a = static_cast<const float*>(d.a) + b * d.stride_a;
      const float* bm = static_cast<const float*>(d.b) + b * d.stride_b;
      float* c = static_cast<float*>(d.c) + c_offset;
      cblas_sgemm(CblasRowMajor, ta, tb, int(d.m), int(d.n), int(d.k), d.alpha, a, int(d.lda), bm, int(d.ldb),
                  d.beta, c, int(d.ldc));
      if (d.bias) add_bias(c, d, static_cast<const float*>(d.bias));
      continue;
    }
    if (d.dtype == DType::f64) {
      const double* a = static_cast<const double*>(d.a) + b * d.stride_a;
      const double* bm = static_cast<const double*>(d.b) + b * d.stride_b;
      double* c = static_cast<double*>(d.c) + c_offset;
      cblas_dgemm(CblasRowMajor, ta, tb, int(d.m), int(d.n), int(d.k), d.alpha, a, int(d.lda), bm, int(d.ldb),
                  d.beta, c, int(d.ldc));
      if (d.bias) add_bias(c, d, static_cast<const double*>(d.bias));
      continue;
    }
    // f16 / bf16 (or f32 operands rounded to TF32, or an f32 C for 16-bit operands): widen, multiply in
    // f32, round the result once into C's type.
    std::vector<float> a = widen(d.a, b * d.stride_a, a_rows, a_cols, d.lda, d.dtype);
    std::vector<float> bm = widen(d.b, b * d.stride_b, b_rows, b_cols, d.ldb, d.dtype);
    if (tf32) {
      for (float& v : a) v = round_to_tf32(v);
      for (float& v : bm) v = round_to_tf32(v);
    }
    std::vector<float> c = d.beta != 0.0f ? widen(d.c, c_offset, d.m, d.n, d.ldc, out)
                                          : std::vector<float>(std::size_t(d.m * d.n), 0.0f);
    cblas_sgemm(CblasRowMajor, ta, tb, int(d.m), int(d.n), int(d.k), d.alpha, a.data(), int(a_cols), bm.data(),
                int(b_cols), d.beta, c.data(), int(d.n));
    for (int64_t i = 0; i < d.m; ++i)
      for (int64_t j = 0; j < d.n; ++j) {
        const float bias = d.bias ? load_element(d.bias, d.bias_per_column ? j : i, out) : 0.0f;
        store_element(d.c, c_offset + i * d.ldc + j, out, c[std::size_t(i * d.n + j)] + bias);
      }
  }
}

detail::KernelCounters gemm_counters(const GemmDesc& desc) {
  const auto element = uint64_t(dtype_size(desc.dtype));
  const auto batch = uint64_t(std::max(desc.batch, 1));
  const auto m = uint64_t(desc.m), n = uint64_t(desc.n), k = uint64_t(desc.k);
  auto sectors = [](uint64_t bytes) { return (bytes + 31) / 32; };
  auto requests = [](uint64_t sector_count) { return (sector_count + 3) / 4; };
  const uint64_t a = sectors(m * k * element * (desc.stride_a ? batch : 1));
  const uint64_t b = sectors(k * n * element * (desc.stride_b ? batch : 1));
  const uint64_t c = sectors(m * n * element * batch);
  const uint64_t bias = desc.bias ? sectors((desc.bias_per_column ? n : m) * element) : 0;
  detail::KernelCounters counters;
  counters.global_load_sectors = a + b + bias + (desc.beta != 0.0f ? c : 0);
  counters.global_load_requests = requests(a) + requests(b) + requests(bias) + (desc.beta != 0.0f ? requests(c) : 0);
  counters.global_store_sectors = c;
  counters.global_store_requests = requests(c);
  counters.global_unique_sectors = a + b + bias + c;
  if (desc.dtype == DType::f16 || desc.dtype == DType::bf16) {
    auto tiles = [](uint64_t extent) { return (extent + 15) / 16; };
    counters.mma_ops = tiles(m) * tiles(n) * tiles(k) * batch;
    counters.flops = 2 * m * n * k * batch;
  }
  return counters;
}

}  // namespace dcnjit::sim
