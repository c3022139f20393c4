// Every golden fixture (tests/data/golden, from torchvision in float64 for v2 and an independent float64
// formulation for v1) run forward and backward through the public API on each backend under test.
#include <gtest/gtest.h>

#include <string>
#include <tuple>

#include "dcnjit/error.h"
#include "tests/support/golden_fixture.h"

namespace dcnjit::test {
namespace {

// f32 results against a float64 reference. Each output element is a sum of at most C/groups*kh*kw <= 54
// products (y, grad_x, grad_offset, grad_mask: per sample point; grad_weight, grad_bias: over N*Ho*Wo <= 96
// terms) plus the bilinear weights computed from f32 coordinates; with f32 unit roundoff 6e-8 the worst
// case bound is ~100 * 6e-8 = 6e-6, and errors of random sign add up like sqrt(terms), so typical errors
// are ~1e-7. 1e-5 passes correct float32 code and fails any wrong tap, corner or border rule, which moves
// whole terms (>= 1e-2 relative on these tiny problems). The reference itself is rounded to f32 when read
// (<= 6e-8 relative), which does not matter at this tolerance.
constexpr double kGoldenTolerance = 1e-5;

// The fixtures that exist when this file was written; a missing directory must fail loudly, not turn
// into zero instantiated tests.
constexpr std::size_t kMinimumCases = 18;

TEST(GoldenFixtures, AllCasesPresentAndLoadable) {
  const auto names = list_golden_cases();
  ASSERT_GE(names.size(), kMinimumCases) << "golden fixtures missing under " << golden_root();
  int v1 = 0, masked = 0, offset_groups = 0, groups = 0;
  for (const auto& name : names) {
    const GoldenCase golden = load_golden_case(name);
    v1 += golden.inputs.problem.boundary == Boundary::v1;
    masked += golden.inputs.problem.mask;
    offset_groups += golden.inputs.problem.offset_groups > 1;
    groups += golden.inputs.problem.groups > 1;
  }
  // The coverage the fixtures promise (scripts/make_golden.py).
  EXPECT_GE(v1, 5);
  EXPECT_GE(masked, 5);
  EXPECT_LT(masked, int(names.size()));
  EXPECT_GE(offset_groups, 3);
  EXPECT_GE(groups, 2);
}

using GoldenParam = std::tuple<std::string, Backend>;

class GoldenTest : public ::testing::TestWithParam<GoldenParam> {};

TEST_P(GoldenTest, ForwardAndAllGradientsMatchReference) {
  const auto& [name, backend] = GetParam();
  const GoldenCase golden = load_golden_case(name);
  SCOPED_TRACE(golden.inputs.problem.to_string() + " - " + golden.description);
  const io::ProblemResults results = run_golden_case(golden, backend);
  EXPECT_TRUE(matches_golden(results, golden.expected, kGoldenTolerance));
}

std::string param_name(const ::testing::TestParamInfo<GoldenParam>& info) {
  return std::get<0>(info.param) + "_" + to_string(std::get<1>(info.param));
}

// The backends checked here; the sim and cuda suites instantiate the same cases with their backend.
INSTANTIATE_TEST_SUITE_P(Cpu, GoldenTest,
                         ::testing::Combine(::testing::ValuesIn(list_golden_cases()), ::testing::Values(Backend::cpu)),
                         param_name);

}  // namespace
}  // namespace dcnjit::test
