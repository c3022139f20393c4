#include "runtime/sim/sim_gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "dcnjit/error.h"
#include "core/half.h"

namespace dcnjit::sim {
namespace {

using detail::GemmDesc;

// Reference: direct triple loop in double over the same stored operands.
std::vector<double> reference(const GemmDesc& d, const std::vector<float>& a, const std::vector<float>& b,
                              const std::vector<float>& c0, const std::vector<float>& bias, int batch) {
  std::vector<double> out(c0.begin(), c0.end());
  for (int64_t i = 0; i < d.m; ++i)
    for (int64_t j = 0; j < d.n; ++j) {
      double sum = 0;
      for (int64_t p = 0; p < d.k; ++p) {
        const double av = d.trans_a ? a[std::size_t(batch * d.stride_a + p * d.lda + i)]
                                    : a[std::size_t(batch * d.stride_a + i * d.lda + p)];
        const double bv = d.trans_b ? b[std::size_t(batch * d.stride_b + j * d.ldb + p)]
                                    : b[std::size_t(batch * d.stride_b + p * d.ldb + j)];
        sum += av * bv;
      }
      double& c = out[std::size_t(batch * d.stride_c + i * d.ldc + j)];
      c = d.alpha * sum + d.beta * c + (bias.empty() ? 0.0 : bias[std::size_t(i)]);
    }
  return out;
}

std::vector<float> values(std::size_t n, int salt) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = float(int((i * 37 + std::size_t(salt) * 11) % 17) - 8) / 8.0f;
  return v;
}

TEST(SimGemm, F32StridedBatchedWithTransposesBetaAndBiasMatchesDirectLoops) {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      GemmDesc d;
      d.trans_a = ta;
      d.trans_b = tb;
      d.m = 5, d.n = 7, d.k = 3, d.batch = 2;
      d.lda = (ta ? d.m : d.k) + 1;  // padded leading dimensions
      d.ldb = (tb ? d.k : d.n) + 2;
      d.ldc = d.n + 1;
      d.stride_a = d.lda * (ta ? d.k : d.m);
      d.stride_b = d.ldb * (tb ? d.n : d.k);
      d.stride_c = d.ldc * d.m;
      d.alpha = 0.5f;
      d.beta = 2.0f;
      std::vector<float> a = values(std::size_t(d.stride_a * 2), 1), b = values(std::size_t(d.stride_b * 2), 2),
                         c = values(std::size_t(d.stride_c * 2), 3), bias = values(std::size_t(d.m), 4);
      const std::vector<float> c0 = c;
      d.a = a.data(), d.b = b.data(), d.c = c.data(), d.bias = bias.data();
      run_gemm(d);
      for (int batch = 0; batch < 2; ++batch) {
        const std::vector<double> expected = reference(d, a, b, c0, bias, batch);
        for (int64_t i = 0; i < d.m; ++i)
          for (int64_t j = 0; j < d.n; ++j) {
            const std::size_t at = std::size_t(batch * d.stride_c + i * d.ldc + j);
            // Inputs are multiples of 1/8 and sums short: f32 is exact here.
            EXPECT_EQ(double(c[at]), expected[at]) << "ta=" << ta << " tb=" << tb << " batch " << batch;
          }
      }
    }
}

TEST(SimGemm, HalfOperandsAreWidenedAndTheResultRoundedOnce) {
  GemmDesc d;
  d.m = 3, d.n = 4, d.k = 5;
  d.lda = d.k, d.ldb = d.n, d.ldc = d.n;
  d.dtype = DType::f16;
  const std::vector<float> a = values(15, 5), b = values(20, 6), bias = values(3, 7);
  std::vector<uint16_t> ah, bh, ch(12, float_to_half(1.0f)), biash;
  for (float v : a) ah.push_back(float_to_half(v));
  for (float v : b) bh.push_back(float_to_half(v));
  for (float v : bias) biash.push_back(float_to_half(v));
  d.a = ah.data(), d.b = bh.data(), d.c = ch.data(), d.bias = biash.data();
  d.beta = 1.0f;
  run_gemm(d);
  const std::vector<double> expected = reference(d, a, b, std::vector<float>(12, 1.0f), bias, 0);
  // Values are multiples of 1/64 below 64 in magnitude: exactly representable in f16.
  for (int i = 0; i < 12; ++i) EXPECT_EQ(double(half_to_float(ch[std::size_t(i)])), expected[std::size_t(i)]) << i;
}

TEST(SimGemm, HalfOperandsAccumulateIntoAnF32CWithoutRoundingTo16Bits) {
  // 256 * 256 = 65536 is past f16's largest finite value (65504); added to an f32 C of -65000 it must
  // give 536 exactly: the grad_weight GEMMs of f16 problems sum images this way (im2col_passes.cpp).
  GemmDesc d;
  d.m = d.n = d.k = 1;
  d.lda = d.ldb = d.ldc = 1;
  d.dtype = DType::f16;
  d.c_dtype = DType::f32;
  const uint16_t a = float_to_half(256.0f), b = float_to_half(256.0f);
  float c = -65000.0f;
  d.a = &a, d.b = &b, d.c = &c;
  d.beta = 1.0f;
  run_gemm(d);
  EXPECT_EQ(c, 536.0f);
}

TEST(SimGemm, Tf32RoundsF32OperandsOnlyWhenAllowed) {
  // 1 + 2^-12 is not a TF32 value (10 mantissa bits): under TF32 it reads as 1.
  const float a = 1.0f + 0x1p-12f, b = 3.0f;
  GemmDesc d;
  d.m = d.n = d.k = 1;
  d.lda = d.ldb = d.ldc = 1;
  float c = 0.0f;
  d.a = &a, d.b = &b, d.c = &c;
  run_gemm(d);
  EXPECT_EQ(c, 3.0f + 3 * 0x1p-12f) << "f32 by default";
  d.allow_tf32 = true;
  run_gemm(d);
  EXPECT_EQ(c, 3.0f) << "TF32 when allowed";
}

TEST(SimGemm, Tf32RoundingIsToNearestWithTiesAwayAndKeepsSpecials) {
  EXPECT_EQ(round_to_tf32(1.0f + 0x1p-11f), 1.0f + 0x1p-10f);    // a tie: away from zero
  EXPECT_EQ(round_to_tf32(-1.0f - 0x1p-11f), -1.0f - 0x1p-10f);  // on the magnitude
  EXPECT_EQ(round_to_tf32(1.0f + 0x1p-12f), 1.0f);               // below half: down
  EXPECT_EQ(round_to_tf32(1.0f + 0x1p-10f), 1.0f + 0x1p-10f);    // representable: unchanged
  EXPECT_TRUE(std::isinf(round_to_tf32(INFINITY)));
  EXPECT_TRUE(std::isnan(round_to_tf32(NAN)));
}

TEST(SimGemm, AnF32CIsOnlyForHalfOperands) {
  GemmDesc d;
  d.m = d.n = d.k = 1;
  d.lda = d.ldb = d.ldc = 1;
  double x = 1.0;
  d.a = d.b = d.c = &x;
  d.dtype = DType::f64;
  d.c_dtype = DType::f32;
  try {
    run_gemm(d);
    ADD_FAILURE() << "accepted an f32 C for f64 operands";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("f32 C"), std::string::npos) << e.what();
  }
}

TEST(SimGemm, InconsistentDescriptorNamesTheField) {
  GemmDesc d;
  d.m = 2, d.n = 2, d.k = 2, d.lda = 1, d.ldb = 2, d.ldc = 2;
  float x[4] = {};
  d.a = d.b = x;
  d.c = x;
  try {
    run_gemm(d);
    ADD_FAILURE() << "accepted lda=1 for a 2-column A";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("lda=1"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dcnjit::sim
