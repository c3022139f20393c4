// The golden fixtures (tests/data/golden: torchvision float64 for v2, an independent float64
// formulation for v1) through the public API with `Backend::sim`, by every registered algorithm, under
// two thread orders: what `dcnjit run --backend sim` computes must match the references the cpu backend
// is held to.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "dcnjit/error.h"
#include "tests/support/golden_fixture.h"

namespace dcnjit::sim {
namespace {

// The tolerance of tests/golden/golden_test.cpp for f32 against float64 references (its comment
// derives it: at most ~100 f32 roundings per output, typical error ~1e-7). The sim runs the
// generated kernels with the same f32 arithmetic, so the same bound applies.
constexpr double kGoldenTolerance = 1e-5;

// The engine reads DCNJIT_SIM_ORDER when it creates the sim backend; restore it after each case.
class ScopedThreadOrder {
 public:
  explicit ScopedThreadOrder(const char* order) {
    if (const char* previous = std::getenv("DCNJIT_SIM_ORDER")) previous_ = previous, had_previous_ = true;
    setenv("DCNJIT_SIM_ORDER", order, 1);
  }
  ~ScopedThreadOrder() {
    if (had_previous_) setenv("DCNJIT_SIM_ORDER", previous_.c_str(), 1);
    else unsetenv("DCNJIT_SIM_ORDER");
  }

 private:
  std::string previous_;
  bool had_previous_ = false;
};

using test::AlgorithmCase;

std::string case_name(const ::testing::TestParamInfo<AlgorithmCase>& info) {
  return test::algorithm_case_name(info.param);
}

// Runs `golden` with `algorithm` on the sim backend in `layout`, in order and under `random_order`,
// expecting the reference each time. Where `may_be_unsupported`, an algorithm that cannot run the
// fixture (ErrorCode::Unsupported) skips the test; elsewhere that error fails it.
void expect_reference_under_two_orders(const test::GoldenCase& golden, Layout layout, const std::string& algorithm,
                                       const char* random_order, bool may_be_unsupported) {
  for (const char* order : {"in_order", random_order}) {
    ScopedThreadOrder scoped(order);
    io::ProblemResults results;
    try {
      results = test::run_golden_case(golden, Backend::sim, layout, algorithm);
    } catch (const Error& e) {
      if (may_be_unsupported && e.code() == ErrorCode::Unsupported) GTEST_SKIP() << e.what();
      throw;
    }
    EXPECT_TRUE(test::matches_golden(results, golden.expected, kGoldenTolerance)) << "thread order " << order;
  }
}

class SimGolden : public ::testing::TestWithParam<AlgorithmCase> {};

TEST_P(SimGolden, ForwardAndAllGradientsMatchReferenceUnderTwoOrders) {
  const test::GoldenCase golden = test::load_golden_case(GetParam().fixture);
  SCOPED_TRACE(golden.inputs.problem.to_string() + " - " + golden.description + " - " + GetParam().algorithm);
  expect_reference_under_two_orders(golden, Layout::nchw, GetParam().algorithm, "random:31", true);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SimGolden, ::testing::ValuesIn(test::golden_cases_per_algorithm()), case_name);

// The same fixtures with every activation tensor channels-last (Layout::nhwc): the references hold
// there too, so NHWC equals NCHW on the sim backend.
class SimGoldenNhwc : public ::testing::TestWithParam<AlgorithmCase> {};

TEST_P(SimGoldenNhwc, ForwardAndAllGradientsMatchReferenceUnderTwoOrders) {
  const test::GoldenCase golden = test::load_golden_case(GetParam().fixture);
  SCOPED_TRACE(golden.inputs.problem.to_string() + " nhwc - " + golden.description + " - " + GetParam().algorithm);
  expect_reference_under_two_orders(golden, Layout::nhwc, GetParam().algorithm, "random:11", false);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SimGoldenNhwc, ::testing::ValuesIn(test::golden_cases_per_algorithm()), case_name);

// The non-finite fixtures (tests/data/nonfinite): NaN and +-Inf in x, mask, weight and grad_y must land
// where torchvision puts them (docs/semantics.md), as on the cpu backend (tests/golden).
class SimNonFiniteGolden : public ::testing::TestWithParam<AlgorithmCase> {};

TEST_P(SimNonFiniteGolden, NanAndInfWhereTheReferenceHasThemUnderTwoOrders) {
  const test::GoldenCase golden = test::load_golden_case(GetParam().fixture, test::FixtureSet::nonfinite);
  SCOPED_TRACE(golden.inputs.problem.to_string() + " - " + golden.description + " - " + GetParam().algorithm);
  expect_reference_under_two_orders(golden, Layout::nchw, GetParam().algorithm, "random:7", true);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SimNonFiniteGolden,
                         ::testing::ValuesIn(test::golden_cases_per_algorithm(test::FixtureSet::nonfinite)), case_name);

}  // namespace
}  // namespace dcnjit::sim
