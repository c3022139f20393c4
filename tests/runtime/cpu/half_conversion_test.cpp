// core/half.h: the host f16/bf16 conversions the CPU backend stages its tensors through, checked
// against bit patterns from the IEEE 754 binary16 and bfloat16 formats; and the cpu backend's bulk
// conversions (F16C for f16, the branch-free bf16 rounding) against core/half.h.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "core/half.h"
#include "runtime/cpu/bf16.h"
#include "runtime/cpu/float_staging.h"

#include <random>
#include <vector>

namespace dcnjit {
namespace {

TEST(HalfConversionTest, FloatToHalfKnownBitPatterns) {
  EXPECT_EQ(float_to_half(1.0f), 0x3c00);
  EXPECT_EQ(float_to_half(-2.0f), 0xc000);
  EXPECT_EQ(float_to_half(0.0f), 0x0000);
  EXPECT_EQ(float_to_half(-0.0f), 0x8000);
  EXPECT_EQ(float_to_half(65504.0f), 0x7bff);  // largest finite
  EXPECT_EQ(float_to_half(65519.0f), 0x7bff);  // still rounds down
  EXPECT_EQ(float_to_half(65520.0f), 0x7c00);  // ties away to Inf (the even neighbour)
  EXPECT_EQ(float_to_half(1e30f), 0x7c00);
  EXPECT_EQ(float_to_half(-std::numeric_limits<float>::infinity()), 0xfc00);
  EXPECT_EQ(float_to_half(0.333333343f), 0x3555);
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -14)), 0x0400);  // smallest normal
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -25)), 0x0000);  // tie between 0 and 2^-24: even (0)
  EXPECT_EQ(float_to_half(std::ldexp(3.0f, -25)), 0x0002);  // tie between 1 and 2: even (2)
  EXPECT_EQ(float_to_half(1e-8f), 0x0000);
  EXPECT_EQ(float_to_half(1.0f + std::ldexp(1.0f, -11)), 0x3c00);                          // tie: even
  EXPECT_EQ(float_to_half(1.0f + std::ldexp(3.0f, -11)), 0x3c02);                          // tie: even
  EXPECT_EQ(float_to_half(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20)), 0x3c01);  // above tie
  const uint16_t nan = float_to_half(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7c00, 0x7c00);
  EXPECT_NE(nan & 0x03ff, 0);
}

TEST(HalfConversionTest, HalfToFloatKnownValues) {
  EXPECT_EQ(half_to_float(0x3c00), 1.0f);
  EXPECT_EQ(half_to_float(0x7bff), 65504.0f);
  EXPECT_EQ(half_to_float(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(half_to_float(0x8400), -std::ldexp(1.0f, -14));
  EXPECT_EQ(half_to_float(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(half_to_float(0x7e00)));
  EXPECT_TRUE(std::signbit(half_to_float(0x8000)));
}

TEST(HalfConversionTest, EveryHalfRoundTripsThroughFloat) {
  for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const uint16_t h = uint16_t(bits);
    const float f = half_to_float(h);
    if (std::isnan(f)) continue;
    ASSERT_EQ(float_to_half(f), h) << std::hex << bits;
  }
}

TEST(Bf16ConversionTest, KnownBitPatternsAndRoundToNearestEven) {
  auto bits = [](uint32_t b) { return bits_to_float(b); };
  EXPECT_EQ(float_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(float_to_bf16(-2.0f), 0xc000);
  EXPECT_EQ(float_to_bf16(bits(0x3f808000)), 0x3f80);  // tie: even (down)
  EXPECT_EQ(float_to_bf16(bits(0x3f818000)), 0x3f82);  // tie: even (up)
  EXPECT_EQ(float_to_bf16(bits(0x3f808001)), 0x3f81);  // above the tie
  EXPECT_EQ(float_to_bf16(bits(0x7f7fffff)), 0x7f80);  // FLT_MAX rounds to Inf
  EXPECT_EQ(float_to_bf16(std::numeric_limits<float>::infinity()), 0x7f80);
  const uint16_t nan = float_to_bf16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_TRUE(std::isnan(bf16_to_float(nan)));
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(bits(0x7f800001)))));  // a NaN whose payload rounds away
  EXPECT_EQ(bf16_to_float(0x4049), bits(0x40490000));                       // 3.140625
}

// Floats that exercise every rounding case: all exponents, random mantissas, ties, subnormals, Inf, NaN.
std::vector<float> conversion_probe() {
  std::vector<float> v;
  std::mt19937 rng(5);
  for (uint32_t exponent = 0; exponent < 256; ++exponent)
    for (int i = 0; i < 512; ++i) {
      const uint32_t mantissa = i < 8 ? (uint32_t(i) << 12 | 0x1000u) : rng() & 0x7fffffu;  // some exact ties
      v.push_back(bits_to_float((rng() & 0x80000000u) | exponent << 23 | mantissa));
    }
  return v;
}

TEST(CpuBulkConversionTest, F16MatchesCoreHalfBitForBitExceptNanPayloads) {
  std::vector<uint16_t> every(65536);
  for (uint32_t h = 0; h < 65536; ++h) every[h] = uint16_t(h);
  std::vector<float> widened(every.size());
  cpu::f16_to_f32(every.data(), widened.data(), every.size());
  for (uint32_t h = 0; h < 65536; ++h) {
    const float expected = half_to_float(uint16_t(h));
    if (std::isnan(expected)) EXPECT_TRUE(std::isnan(widened[h])) << h;
    else EXPECT_EQ(float_to_bits(widened[h]), float_to_bits(expected)) << h;
  }
  const std::vector<float> probe = conversion_probe();
  std::vector<uint16_t> narrowed(probe.size());
  cpu::f32_to_f16(probe.data(), narrowed.data(), probe.size());
  for (std::size_t i = 0; i < probe.size(); ++i) {
    if (std::isnan(probe[i])) EXPECT_TRUE(std::isnan(half_to_float(narrowed[i]))) << probe[i];
    else EXPECT_EQ(narrowed[i], float_to_half(probe[i])) << probe[i];
  }
}

TEST(CpuBulkConversionTest, Bf16RoundingMatchesCoreHalfBitForBit) {
  const std::vector<float> probe = conversion_probe();
  std::vector<uint16_t> narrowed(probe.size());
  cpu::f32_to_bf16(probe.data(), narrowed.data(), probe.size());
  for (std::size_t i = 0; i < probe.size(); ++i) {
    EXPECT_EQ(narrowed[i], float_to_bf16(probe[i])) << probe[i];
    EXPECT_EQ(cpu::to_bf16(probe[i]).bits, float_to_bf16(probe[i])) << probe[i];
  }
}

}  // namespace
}  // namespace dcnjit
