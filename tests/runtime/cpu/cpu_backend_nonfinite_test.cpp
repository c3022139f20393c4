// design.md section 1, robustness: NaN, +-Inf and huge (1e30) offsets contribute nothing to the output
// and nothing to any gradient, and never index out of bounds (this suite also runs under ASan+UBSan).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

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

}  // namespace
}  // namespace dcnjit::testing
