// docs/semantics.md, robustness: NaN, +-Inf and huge (1e30) offsets contribute nothing to the output
// and nothing to any gradient, and never index out of bounds (this suite also runs under ASan+UBSan).
// Non-finite x, mask, weight and grad_y propagate as IEEE arithmetic through torchvision's formula: the
// fixtures of tests/data/nonfinite check that on small problems (tests/golden); here problems wide enough
// for several channel blocks, whose partial sums the backend adds up separately.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "tests/runtime/cpu/test_support.h"

namespace dcnjit::testing {
namespace {

bool all_finite(const std::vector<double>& v) {
  for (double e : v)
    if (!std::isfinite(e)) return false;
  return true;
}

struct Poison {
  int64_t tap_entry;  // index into the offset tensor
  double value;
};

// Poisons offset entries and compares with the same problem where those entries are instead moved far
// outside the image (-100: a sample that contributes exactly 0 in both boundary modes). Both runs do the
// same arithmetic on everything else, so the results must be identical, not just close.
void expect_poison_is_ignored(const Problem& p) {
  SCOPED_TRACE(p.to_string());
  const ReferenceInputs clean = random_inputs(p, 31, OffsetStyle::anywhere);
  const std::vector<double> grad_y = random_values(output_size(p), 32, -1, 1);
  const double inf = std::numeric_limits<double>::infinity();
  const int64_t P = p.Ho() * p.Wo();
  // Entries spread over images, offset groups, taps and both coordinates; two poison both coordinates of a tap.
  const std::vector<Poison> poisons = {{0, std::nan("")},
                                       {P + 3, inf},
                                       {3 * P + 1, -inf},
                                       {4 * P + 2, 1e30},
                                       {4 * P + 2 + P, -1e30},
                                       {int64_t(clean.offset.size()) - 1, std::nan("")},
                                       {int64_t(clean.offset.size()) - 1 - P, inf}};
  ReferenceInputs poisoned = clean, outside = clean;
  for (const Poison& poison : poisons) {
    poisoned.offset[poison.tap_entry] = poison.value;
    outside.offset[poison.tap_entry] = -100;
  }
  BackendRunOptions options;
  options.threads = 2;
  const ReferenceOutputs got = run_cpu_backend(p, poisoned, grad_y, options);
  const ReferenceOutputs want = run_cpu_backend(p, outside, grad_y, options);
  for (const auto* v : {&got.y, &got.grad_x, &got.grad_offset, &got.grad_mask, &got.grad_weight, &got.grad_bias})
    EXPECT_TRUE(all_finite(*v));
  EXPECT_EQ(got.y, want.y);
  EXPECT_EQ(got.grad_x, want.grad_x);
  EXPECT_EQ(got.grad_offset, want.grad_offset);
  EXPECT_EQ(got.grad_mask, want.grad_mask);
  EXPECT_EQ(got.grad_weight, want.grad_weight);
  EXPECT_EQ(got.grad_bias, want.grad_bias);
  for (const Poison& poison : poisons) EXPECT_EQ(got.grad_offset[poison.tap_entry], 0.0);
}

TEST(CpuBackendNonFiniteOffsetTest, V2MaskNanInfHugeOffsetsContributeNothing) {
  expect_poison_is_ignored(Problem::parse("N2 C4 H5 W6 Co3 k3x3 s1x1 p1x1 d1x1 g1 og2 mask bias v2 f32"));
}

TEST(CpuBackendNonFiniteOffsetTest, V2NoMaskNanInfHugeOffsetsContributeNothing) {
  expect_poison_is_ignored(Problem::parse("N1 C3 H6 W4 Co2 k2x3 s1x2 p1x1 d1x1 g1 og1 nomask nobias v2 f32"));
}

TEST(CpuBackendNonFiniteOffsetTest, V1MaskNanInfHugeOffsetsContributeNothing) {
  expect_poison_is_ignored(Problem::parse("N2 C4 H5 W6 Co4 k3x3 s1x1 p1x1 d1x1 g2 og1 mask bias v1 f32"));
}

TEST(CpuBackendNonFiniteOffsetTest, F16InfinityOffsetsContributeNothing) {
  // f16 overflows to Inf above 65504, so huge offsets reach the kernels as Inf.
  expect_poison_is_ignored(Problem::parse("N1 C2 H5 W5 Co2 k3x3 s1x1 p1x1 d1x1 g1 og1 mask nobias v2 f16"));
}

// "nan", "+inf", "-inf" or "finite".
const char* value_class(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "+inf" : "-inf";
  return "finite";
}

// NaN and +-Inf exactly where the reference has them, the finite rest within f32 accuracy.
::testing::AssertionResult same_non_finite_values(const char* name, const std::vector<double>& got,
                                                  const std::vector<double>& want) {
  if (got.size() != want.size()) return ::testing::AssertionFailure() << name << ": size " << got.size();
  std::vector<double> got_finite, want_finite;
  int64_t non_finite = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (std::string(value_class(got[i])) != value_class(want[i]))
      return ::testing::AssertionFailure() << name << "[" << i << "] is " << got[i] << ", the reference has "
                                           << want[i];
    if (std::isfinite(want[i])) {
      got_finite.push_back(got[i]);
      want_finite.push_back(want[i]);
    } else {
      ++non_finite;
    }
  }
  const double error = relative_l2(got_finite, want_finite);
  if (error > 1e-5) return ::testing::AssertionFailure() << name << ": rel L2 " << error << " of the finite values";
  return ::testing::AssertionSuccess() << name << ": " << non_finite << " non-finite values in place";
}

struct InputPoison {
  std::vector<double> ReferenceInputs::*tensor;
  int64_t at;
  double value;
};

// reference_dcn follows torchvision's kernels term by term, non-finite values included (v2).
void expect_reference_non_finite_pattern(const Problem& p, OffsetStyle style) {
  SCOPED_TRACE(p.to_string());
  ReferenceInputs in = rounded_to(random_inputs(p, 77, style), DType::f32);
  std::vector<double> grad_y = rounded_to(random_values(output_size(p), 78, -1, 1), DType::f32);
  const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
  const int64_t plane = p.H * p.W, K = p.taps(), P = p.Ho() * p.Wo();
  const std::vector<InputPoison> poisons = {
      {&ReferenceInputs::x, 130 * plane, nan},                  // element 0 of a plane in the second block
      {&ReferenceInputs::x, 3 * plane + 2, inf},                // row 0
      {&ReferenceInputs::x, 200 * plane + plane - 1, -inf},     // last element, third block
      {&ReferenceInputs::mask, 4 * P + 7, inf},                 // offset group 0
      {&ReferenceInputs::mask, (K + 2) * P + 3, -inf},          // offset group 1
      {&ReferenceInputs::mask, (K + 5) * P + 11, nan},
      {&ReferenceInputs::weight, (1 * (p.C / p.groups) + 140) * K + 4, inf},
  };
  for (const InputPoison& poison : poisons) (in.*poison.tensor)[poison.at] = poison.value;
  grad_y[5] = nan;
  grad_y[P + 9] = -inf;
  const ReferenceOutputs want = reference_dcn(p, in, grad_y);
  // 1 and 2 threads scatter into grad_x inside the coordinate pass; 5 threads (more than the 4 blocks)
  // scatter apart, from the table of samples.
  for (int threads : {1, 2, 5}) {
    BackendRunOptions options;
    options.threads = threads;
    const ReferenceOutputs got = run_cpu_backend(p, in, grad_y, options);
    EXPECT_TRUE(same_non_finite_values("y", got.y, want.y));
    EXPECT_TRUE(same_non_finite_values("grad_x", got.grad_x, want.grad_x));
    EXPECT_TRUE(same_non_finite_values("grad_offset", got.grad_offset, want.grad_offset));
    EXPECT_TRUE(same_non_finite_values("grad_mask", got.grad_mask, want.grad_mask));
    EXPECT_TRUE(same_non_finite_values("grad_weight", got.grad_weight, want.grad_weight));
    EXPECT_TRUE(same_non_finite_values("grad_bias", got.grad_bias, want.grad_bias));
  }
}

// 272 channels, two offset groups: each group's coordinate gradients are two blocks of partial sums
// (128 + 8 channels), an infinite mask among them.
TEST(CpuBackendNonFiniteInputTest, SeveralChannelBlocksIntegerOffsetsFollowTorchvision) {
  expect_reference_non_finite_pattern(
      Problem::parse("N1 C272 H4 W5 Co4 k3x3 s1x1 p1x1 d1x1 g2 og2 mask bias v2 f32"), OffsetStyle::integer);
}

TEST(CpuBackendNonFiniteInputTest, SeveralChannelBlocksAnyOffsetsFollowTorchvision) {
  expect_reference_non_finite_pattern(
      Problem::parse("N1 C272 H4 W5 Co4 k3x3 s1x1 p1x1 d1x1 g2 og2 mask bias v2 f32"), OffsetStyle::anywhere);
}

}  // namespace
}  // namespace dcnjit::testing
