// The non-finite fixtures (tests/data/nonfinite, scripts/make_nonfinite_golden.py: torchvision in float64
// for v2, the scalar float64 rules of docs/semantics.md for v1) on the cpu backend: NaN and +-Inf in x,
// the mask, the weights and grad_y must reach y and every gradient at exactly the positions IEEE
// arithmetic puts them through the contract's formula, and the finite values must match as in
// golden_test.cpp. The sim and cuda suites run the same cases on their backend.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "tests/support/golden_fixture.h"

namespace dcnjit::test {
namespace {

constexpr double kGoldenTolerance = 1e-5;  // golden_test.cpp derives it

bool has_non_finite(const io::HostArray& array) {
  for (float v : array.data)
    if (!std::isfinite(v)) return true;
  return false;
}

// The fixtures promise: every poisonable input poisoned in some case, both boundary rules, and results
// that do hold NaN or Inf (a case whose results are all finite would not test the rules).
TEST(NonFiniteFixtures, AllCasesPresentAndPoisoned) {
  const auto names = list_golden_cases(FixtureSet::nonfinite);
  ASSERT_GE(names.size(), 6u) << "non-finite fixtures missing under " << golden_root(FixtureSet::nonfinite);
  int x = 0, mask = 0, weight = 0, grad_y = 0, v1 = 0;
  for (const auto& name : names) {
    const GoldenCase golden = load_golden_case(name, FixtureSet::nonfinite);
    const io::ProblemArrays& in = golden.inputs;
    x += has_non_finite(in.x);
    mask += in.mask && has_non_finite(*in.mask);
    weight += has_non_finite(in.weight);
    grad_y += in.grad_y && has_non_finite(*in.grad_y);
    v1 += in.problem.boundary == Boundary::v1;
    EXPECT_TRUE(has_non_finite(golden.expected.y) || has_non_finite(*golden.expected.grad_x) ||
                has_non_finite(*golden.expected.grad_offset) || has_non_finite(*golden.expected.grad_weight))
        << name;
  }
  EXPECT_GE(x, 2);
  EXPECT_GE(mask, 2);
  EXPECT_GE(weight, 2);
  EXPECT_GE(grad_y, 2);
  EXPECT_GE(v1, 2);
}

class NonFiniteGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(NonFiniteGoldenTest, NanAndInfWhereTheReferenceHasThem) {
  const GoldenCase golden = load_golden_case(GetParam(), FixtureSet::nonfinite);
  SCOPED_TRACE(golden.inputs.problem.to_string() + " - " + golden.description);
  const io::ProblemResults results = run_golden_case(golden, Backend::cpu);
  EXPECT_TRUE(matches_golden(results, golden.expected, kGoldenTolerance));
}

INSTANTIATE_TEST_SUITE_P(Cpu, NonFiniteGoldenTest, ::testing::ValuesIn(list_golden_cases(FixtureSet::nonfinite)),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace dcnjit::test
