// The row-major -> cuBLASLt (column-major) mapping, checked without a GPU: a naive GEMM that reads
// memory exactly as cuBLASLt would under the mapped layouts must reproduce the row-major GemmDesc
// definition. Then, with a GPU, cuBLASLt itself against a double-precision reference.
#include "runtime/cuda/cublaslt_gemm.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "dcnjit/error.h"
#include "runtime/cuda/cuda_device.h"
#include "core/half.h"
#include "tests/runtime/cuda/gpu_available.h"

namespace dcnjit::cuda {
namespace {

using detail::GemmDesc;
using ::testing::HasSubstr;

// The GemmDesc contract (kernel_device.h), written out directly: row-major, op per trans flag.
void reference_row_major_gemm(const GemmDesc& d) {
  const auto* a = static_cast<const double*>(d.a);
  const auto* b = static_cast<const double*>(d.b);
  const auto* bias = static_cast<const double*>(d.bias);
  auto* c = static_cast<double*>(d.c);
  for (int batch = 0; batch < d.batch; ++batch)
    for (int64_t i = 0; i < d.m; ++i)
      for (int64_t j = 0; j < d.n; ++j) {
        double sum = 0;
        for (int64_t l = 0; l < d.k; ++l) {
          const double a_il = d.trans_a ? a[batch * d.stride_a + l * d.lda + i] : a[batch * d.stride_a + i * d.lda + l];
          const double b_lj = d.trans_b ? b[batch * d.stride_b + j * d.ldb + l] : b[batch * d.stride_b + l * d.ldb + j];
          sum += a_il * b_lj;
        }
        double& out = c[batch * d.stride_c + i * d.ldc + j];
        out = d.alpha * sum + d.beta * out + (bias ? bias[d.bias_per_column ? j : i] : 0.0);
      }
}

// What cuBLASLt computes for a mapping: column-major D = alpha op(A) op(B) + beta D. It also checks
// the shape rules cuBLASLt enforces (operand dims agree with m, n, k; ld >= rows).
void column_major_gemm_as_cublaslt_reads_it(const LtGemmMapping& lt, double alpha, double beta) {
  const uint64_t a_rows = lt.trans_a ? lt.k : lt.m, a_cols = lt.trans_a ? lt.m : lt.k;
  const uint64_t b_rows = lt.trans_b ? lt.n : lt.k, b_cols = lt.trans_b ? lt.k : lt.n;
  ASSERT_EQ(lt.a.rows, a_rows);
  ASSERT_EQ(lt.a.cols, a_cols);
  ASSERT_EQ(lt.b.rows, b_rows);
  ASSERT_EQ(lt.b.cols, b_cols);
  ASSERT_EQ(lt.d.rows, lt.m);
  ASSERT_EQ(lt.d.cols, lt.n);
  ASSERT_GE(uint64_t(lt.a.ld), lt.a.rows);
  ASSERT_GE(uint64_t(lt.b.ld), lt.b.rows);
  ASSERT_GE(uint64_t(lt.d.ld), lt.d.rows);
  auto at = [](const LtMatrix& matrix, int batch, uint64_t row, uint64_t col) -> const double& {
    return static_cast<const double*>(matrix.data)[batch * matrix.batch_stride + int64_t(col) * matrix.ld + int64_t(row)];
  };
  for (int batch = 0; batch < lt.batch; ++batch)
    for (uint64_t r = 0; r < lt.m; ++r)
      for (uint64_t c = 0; c < lt.n; ++c) {
        double sum = 0;
        for (uint64_t l = 0; l < lt.k; ++l) {
          const double a_rl = lt.trans_a ? at(lt.a, batch, l, r) : at(lt.a, batch, r, l);
          const double b_lc = lt.trans_b ? at(lt.b, batch, c, l) : at(lt.b, batch, l, c);
          sum += a_rl * b_lc;
        }
        auto& out = const_cast<double&>(at(lt.d, batch, r, c));
        out = alpha * sum + beta * out;
      }
}

std::vector<double> random_values(std::size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<double> v(count);
  for (double& x : v) x = dist(rng);
  return v;
}

struct GemmCase {
  bool trans_a, trans_b;
  int batch;
  int64_t m, n, k;
  int64_t ld_pad;  // extra elements per row beyond the minimum leading dimension
};

std::string describe(const GemmCase& c) {
  return std::string(c.trans_a ? "T" : "N") + (c.trans_b ? "T" : "N") + "_m" + std::to_string(c.m) + "n" +
         std::to_string(c.n) + "k" + std::to_string(c.k) + "_batch" + std::to_string(c.batch) + "_ldpad" +
         std::to_string(c.ld_pad);
}
void PrintTo(const GemmCase& c, std::ostream* os) { *os << describe(c); }

std::string case_name(const ::testing::TestParamInfo<GemmCase>& info) { return describe(info.param); }

// Buffers and a GemmDesc for one case; the batch stride leaves a gap of 5 elements between entries
// so that a mapping that ignored the strides would read the wrong data.
struct GemmBuffers {
  std::vector<double> a, b, c, bias;
  GemmDesc desc;

  explicit GemmBuffers(const GemmCase& g, uint32_t seed) {
    desc.trans_a = g.trans_a;
    desc.trans_b = g.trans_b;
    desc.m = g.m;
    desc.n = g.n;
    desc.k = g.k;
    desc.batch = g.batch;
    const int64_t a_rows = g.trans_a ? g.k : g.m, a_row_len = g.trans_a ? g.m : g.k;
    const int64_t b_rows = g.trans_b ? g.n : g.k, b_row_len = g.trans_b ? g.k : g.n;
    desc.lda = a_row_len + g.ld_pad;
    desc.ldb = b_row_len + g.ld_pad;
    desc.ldc = g.n + g.ld_pad;
    desc.stride_a = a_rows * desc.lda + 5;
    desc.stride_b = b_rows * desc.ldb + 5;
    desc.stride_c = g.m * desc.ldc + 5;
    a = random_values(std::size_t(desc.stride_a * g.batch), seed);
    b = random_values(std::size_t(desc.stride_b * g.batch), seed + 1);
    c = random_values(std::size_t(desc.stride_c * g.batch), seed + 2);
    bias = random_values(std::size_t(std::max(g.m, g.n)), seed + 3);  // rows or columns
    desc.a = a.data();
    desc.b = b.data();
    desc.c = c.data();
  }
};

class LtGemmMappingTest : public ::testing::TestWithParam<GemmCase> {};

TEST_P(LtGemmMappingTest, ColumnMajorViewReproducesRowMajorGemm) {
  GemmBuffers expected(GetParam(), 7), actual(GetParam(), 7);
  expected.desc.alpha = actual.desc.alpha = 0.75f;
  expected.desc.beta = actual.desc.beta = 0.5f;
  reference_row_major_gemm(expected.desc);
  column_major_gemm_as_cublaslt_reads_it(map_row_major_gemm(actual.desc), actual.desc.alpha, actual.desc.beta);
  // Same products in the same order in both loops; only the addressing differs. Padding and the
  // gaps between batch entries must come out untouched, so the whole buffer is compared.
  ASSERT_EQ(expected.c.size(), actual.c.size());
  for (std::size_t i = 0; i < expected.c.size(); ++i) ASSERT_DOUBLE_EQ(expected.c[i], actual.c[i]) << "element " << i;
}

TEST_P(LtGemmMappingTest, BiasAsRankOneGemmThenAccumulate_MatchesBiasPerRow) {
  GemmBuffers expected(GetParam(), 11), actual(GetParam(), 11);
  expected.desc.beta = actual.desc.beta = 0.25f;
  expected.desc.bias = expected.bias.data();
  reference_row_major_gemm(expected.desc);

  // The ones vector is longer than n: only its first n entries may be read.
  const std::vector<double> ones(std::size_t(actual.desc.n) + 3, 1.0);
  actual.desc.bias = actual.bias.data();
  const GemmDesc rank1 = bias_broadcast_gemm(actual.desc, ones.data());
  EXPECT_NO_THROW(validate_gemm_desc(rank1));
  EXPECT_EQ(rank1.bias, nullptr);
  column_major_gemm_as_cublaslt_reads_it(map_row_major_gemm(rank1), rank1.alpha, rank1.beta);
  GemmDesc accumulate = actual.desc;
  accumulate.bias = nullptr;
  accumulate.beta = 1.0f;
  column_major_gemm_as_cublaslt_reads_it(map_row_major_gemm(accumulate), accumulate.alpha, accumulate.beta);

  // Different summation order (bias first), so not bit-exact: 1e-12 is far above double rounding
  // of these k <= 40 sums of O(1) terms and far below any layout error (O(1)).
  for (std::size_t i = 0; i < expected.c.size(); ++i) ASSERT_NEAR(expected.c[i], actual.c[i], 1e-12) << "element " << i;
}

// NHWC's forward GEMM: y[images*P, Co] = columns * W^T, with the bias along the output channels (n).
TEST_P(LtGemmMappingTest, BiasPerColumnAsRankOneGemmThenAccumulate_MatchesBiasPerColumn) {
  GemmBuffers expected(GetParam(), 13), actual(GetParam(), 13);
  expected.desc.beta = actual.desc.beta = 0.25f;
  expected.desc.bias = expected.bias.data();
  expected.desc.bias_per_column = true;
  reference_row_major_gemm(expected.desc);

  const std::vector<double> ones(std::size_t(actual.desc.m) + 3, 1.0);  // at least m ones now
  actual.desc.bias = actual.bias.data();
  actual.desc.bias_per_column = true;
  const GemmDesc rank1 = bias_broadcast_gemm(actual.desc, ones.data());
  EXPECT_NO_THROW(validate_gemm_desc(rank1));
  EXPECT_EQ(rank1.a, ones.data());
  EXPECT_EQ(rank1.b, actual.bias.data());
  column_major_gemm_as_cublaslt_reads_it(map_row_major_gemm(rank1), rank1.alpha, rank1.beta);
  GemmDesc accumulate = actual.desc;
  accumulate.bias = nullptr;
  accumulate.beta = 1.0f;
  column_major_gemm_as_cublaslt_reads_it(map_row_major_gemm(accumulate), accumulate.alpha, accumulate.beta);
  for (std::size_t i = 0; i < expected.c.size(); ++i) ASSERT_NEAR(expected.c[i], actual.c[i], 1e-12) << "element " << i;
}

INSTANTIATE_TEST_SUITE_P(
    AllTransposes, LtGemmMappingTest,
    ::testing::Values(GemmCase{false, false, 1, 5, 7, 3, 0}, GemmCase{false, true, 1, 5, 7, 3, 0},
                      GemmCase{true, false, 1, 5, 7, 3, 0}, GemmCase{true, true, 1, 5, 7, 3, 0},
                      GemmCase{false, false, 3, 4, 9, 6, 2}, GemmCase{false, true, 3, 4, 9, 6, 2},
                      GemmCase{true, false, 3, 4, 9, 6, 2}, GemmCase{true, true, 3, 4, 9, 6, 2},
                      // The forward GEMM's shape: y[Co, Ho*Wo] = W[Co, C*kh*kw] * columns.
                      GemmCase{false, false, 2, 8, 30, 36, 0}),
    case_name);

TEST(LtGemmMapping, OperandsSwapSoOutputHasNRowsAndMColumns) {
  GemmDesc desc;
  desc.m = 4;
  desc.n = 6;
  desc.k = 5;
  desc.lda = 5;
  desc.ldb = 6;
  desc.ldc = 6;
  const double dummy = 0;
  desc.a = desc.b = desc.c = const_cast<double*>(&dummy);
  const LtGemmMapping lt = map_row_major_gemm(desc);
  EXPECT_EQ(lt.m, 6u);
  EXPECT_EQ(lt.n, 4u);
  EXPECT_EQ(lt.k, 5u);
  EXPECT_EQ(lt.a.data, desc.b) << "cuBLASLt's first operand is our B";
  EXPECT_EQ(lt.b.data, desc.a) << "cuBLASLt's second operand is our A";
}

TEST(ValidateGemmDesc, LeadingDimensionShorterThanRow_NamesLda) {
  GemmDesc desc;
  desc.m = 4;
  desc.n = 6;
  desc.k = 5;
  desc.lda = 4;  // A is m x k row-major: needs lda >= k = 5
  desc.ldb = 6;
  desc.ldc = 6;
  const double dummy = 0;
  desc.a = desc.b = desc.c = const_cast<double*>(&dummy);
  try {
    validate_gemm_desc(desc);
    FAIL() << "expected Error(Internal)";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Internal);
    EXPECT_THAT(e.what(), HasSubstr("lda=4"));
  }
  desc.lda = 5;
  EXPECT_NO_THROW(validate_gemm_desc(desc));
  desc.trans_a = true;  // A stored k x m: rows of length m = 4 fit in lda = 5
  EXPECT_NO_THROW(validate_gemm_desc(desc));
}

TEST(ValidateGemmDesc, EmptyOrUnsetOperands_AreRejected) {
  GemmDesc desc;
  desc.m = desc.n = desc.k = 2;
  desc.lda = desc.ldb = desc.ldc = 2;
  EXPECT_THROW(validate_gemm_desc(desc), Error) << "null pointers";
  const double dummy = 0;
  desc.a = desc.b = desc.c = const_cast<double*>(&dummy);
  desc.batch = 0;
  EXPECT_THROW(validate_gemm_desc(desc), Error) << "batch 0";
  desc.batch = 1;
  desc.k = 0;
  EXPECT_THROW(validate_gemm_desc(desc), Error) << "k 0";
}

TEST(CublasLtVersion, IsMajorMinorPatchOfTheLinkedLibrary) {
  EXPECT_THAT(cublaslt_version(), ::testing::MatchesRegex("[0-9]+\\.[0-9]+\\.[0-9]+"));
  EXPECT_EQ(cublaslt_version().substr(0, cublaslt_version().find('.')), std::to_string(CUBLAS_VER_MAJOR));
}

// ---- With a GPU: cuBLASLt itself ----

KernelImage no_kernels(const gen::KernelSource& kernel, int) {
  throw Error(ErrorCode::Internal, "this test launches no generated kernel: " + kernel.name);
}

std::vector<uint16_t> to_16bit(const std::vector<double>& values, DType dtype) {
  std::vector<uint16_t> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i)
    out[i] = dtype == DType::f16 ? float_to_half(float(values[i])) : float_to_bf16(float(values[i]));
  return out;
}

double from_16bit(uint16_t bits, DType dtype) { return dtype == DType::f16 ? half_to_float(bits) : bf16_to_float(bits); }

// Host values of `dtype` as doubles: the inputs the GPU sees after rounding, so the reference
// differs only by accumulation and output rounding.
std::vector<double> rounded(const std::vector<double>& values, DType dtype) {
  std::vector<double> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i)
    out[i] = dtype == DType::f32 ? double(float(values[i])) : from_16bit(to_16bit({values[i]}, dtype)[0], dtype);
  return out;
}

struct GpuGemmCase {
  GemmCase shape;
  DType dtype;
  bool bias;
};

class CublasLtGemmGpuTest : public ::testing::TestWithParam<GpuGemmCase> {};

TEST_P(CublasLtGemmGpuTest, MatchesDoubleReference) {
  DCNJIT_REQUIRE_GPU();
  const GpuGemmCase& p = GetParam();
  CudaDevice device(driver(), 0, no_kernels);
  GemmBuffers host(p.shape, 3);
  host.a = rounded(host.a, p.dtype);
  host.b = rounded(host.b, p.dtype);
  host.c = rounded(host.c, p.dtype);
  host.bias = rounded(host.bias, p.dtype);
  host.desc.beta = 0.5f;

  auto upload = [&](const std::vector<double>& values) {
    const std::size_t bytes = values.size() * dtype_size(p.dtype);
    void* d = device.allocate(bytes);
    if (p.dtype == DType::f32) {
      std::vector<float> f(values.begin(), values.end());
      device.copy_to_device(d, f.data(), bytes);
    } else {
      const std::vector<uint16_t> h = to_16bit(values, p.dtype);
      device.copy_to_device(d, h.data(), bytes);
    }
    return d;
  };
  void* a = upload(host.a);
  void* b = upload(host.b);
  void* c = upload(host.c);
  void* bias = upload(host.bias);

  GemmDesc gpu = host.desc;
  gpu.a = a;
  gpu.b = b;
  gpu.c = c;
  gpu.bias = p.bias ? bias : nullptr;
  gpu.dtype = p.dtype;
  EXPECT_GE(device.gemm_candidate_count(gpu), 1);
  device.gemm(gpu);
  device.synchronize();

  std::vector<double> result(host.c.size());
  if (p.dtype == DType::f32) {
    std::vector<float> f(result.size());
    device.copy_to_host(f.data(), c, f.size() * 4);
    result.assign(f.begin(), f.end());
  } else {
    std::vector<uint16_t> h(result.size());
    device.copy_to_host(h.data(), c, h.size() * 2);
    for (std::size_t i = 0; i < h.size(); ++i) result[i] = from_16bit(h[i], p.dtype);
  }
  for (void* buffer : {a, b, c, bias}) device.release(buffer);

  if (p.bias) host.desc.bias = host.bias.data();
  reference_row_major_gemm(host.desc);
  double error = 0, norm = 0;
  for (std::size_t i = 0; i < result.size(); ++i) {
    error += (result[i] - host.c[i]) * (result[i] - host.c[i]);
    norm += host.c[i] * host.c[i];
  }
  // f32: accumulation error of k <= 36 terms ~ 1e-7 relative; f16/bf16: one output rounding
  // (2^-11 and 2^-8 relative) dominates. The tolerances: 1e-5, 1e-3, 1e-2.
  const double tolerance = p.dtype == DType::f32 ? 1e-5 : p.dtype == DType::f16 ? 1e-3 : 1e-2;
  EXPECT_LE(std::sqrt(error / norm), tolerance);
}

std::string describe(const GpuGemmCase& c) {
  return describe(c.shape) + "_" + to_string(c.dtype) + (c.bias ? "_bias" : "_nobias");
}
void PrintTo(const GpuGemmCase& c, std::ostream* os) { *os << describe(c); }

std::string gpu_case_name(const ::testing::TestParamInfo<GpuGemmCase>& info) { return describe(info.param); }

INSTANTIATE_TEST_SUITE_P(
    AllTransposesAndDtypes, CublasLtGemmGpuTest,
    ::testing::Values(GpuGemmCase{{false, false, 3, 8, 30, 36, 0}, DType::f32, true},
                      GpuGemmCase{{false, true, 3, 8, 30, 36, 2}, DType::f32, false},
                      GpuGemmCase{{true, false, 2, 8, 30, 36, 0}, DType::f32, true},
                      GpuGemmCase{{true, true, 1, 8, 30, 36, 0}, DType::f32, false},
                      GpuGemmCase{{false, false, 3, 16, 64, 72, 0}, DType::f16, true},
                      GpuGemmCase{{true, false, 3, 16, 64, 72, 0}, DType::f16, false},
                      GpuGemmCase{{false, false, 3, 16, 64, 72, 0}, DType::bf16, true},
                      GpuGemmCase{{false, true, 2, 16, 64, 72, 0}, DType::bf16, false}),
    gpu_case_name);

}  // namespace
}  // namespace dcnjit::cuda
