// Deterministic mode of the fused algorithm on the sim backend (EngineOptions::deterministic: atomic=gather,
// the data gradient's dcol tiles gathered into grad_x over the pixel map, fused_gather.cuh; the weight and
// coordinate gradients were fixed-order already): every output is the same bits under two thread orders
// and on repeated runs, and matches the cpu backend on the shared problem list (tests/support/problems.h)
// in f32, f16 and bf16, NCHW and NHWC, with one chunk and with a partial last chunk, and on the non-finite
// fixtures. A control shows the comparison can fail: the atomic scatter's grad_x differs in its bits
// between two thread orders.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dcnjit/dcnjit.h"
#include "runtime/backend.h"
#include "runtime/sim/sim_backend.h"
#include "tests/support/golden_fixture.h"
#include "tests/support/problems.h"

namespace dcnjit::sim {
namespace {

std::shared_ptr<detail::BackendImpl> sim_backend(ThreadOrder order, bool deterministic, int workers = 2) {
  EngineOptions options;
  options.backend = Backend::sim;
  options.threads = workers;
  options.algorithm = "fused";
  options.deterministic = deterministic;
  return detail::make_sim_backend(options, SimOptions{.threads = unsigned(workers), .order = order});
}

// Forward and backward with every gradient; `config`: knobs of the fused algorithm (empty: the heuristic's).
io::ProblemResults run_on(const std::shared_ptr<detail::BackendImpl>& backend, const io::ProblemArrays& arrays,
                          const std::string& config = "") {
  return test::run_both_passes(backend, arrays, "fused " + config);
}



struct Case {
  test::TestProblem problem;
  DType dtype;
  Layout layout;
};

void PrintTo(const Case& c, std::ostream* os) { *os << test::test_instance_name(c.problem, c.dtype, c.layout); }

// f32 over the whole list in both layouts; f16 and bf16 on its first problem (mask and bias).
std::vector<Case> cases() {
  std::vector<Case> out;
  for (const test::TestProblem& p : test::test_problems())
    for (Layout layout : {Layout::nchw, Layout::nhwc}) out.push_back({p, DType::f32, layout});
  for (DType dtype : {DType::f16, DType::bf16})
    for (Layout layout : {Layout::nchw, Layout::nhwc}) out.push_back({test::test_problems()[0], dtype, layout});
  return out;
}

class SimFusedDeterministic : public ::testing::TestWithParam<Case> {};

// The heuristic's config (one chunk: every test problem's column gradient fits the L2), and a small tile
// with a partial last chunk; each under two thread orders and twice on the first.
TEST_P(SimFusedDeterministic, BitIdenticalAcrossThreadOrdersAndRunsAndMatchesCpu) {
  const Case& c = GetParam();
  const Problem problem = test::problem_of(c.problem, c.dtype, c.layout);
  const io::ProblemArrays arrays = test::random_arrays(problem, 1234);
  EngineOptions cpu_options;
  cpu_options.threads = 2;
  Engine cpu(cpu_options);
  const io::ProblemResults expected = test::run_both_passes(cpu, test::in_layout(arrays, Layout::nchw));
  const auto in_order = sim_backend(ThreadOrder::in_order(), true);
  const auto random = sim_backend(ThreadOrder::random(20240601), true);
  for (const std::string& config :
       {std::string(), fmt::format("bm=32 bn=32 bk=16 wm=1 wn=2 split=2 step={}", c.problem.partial_step)}) {
    SCOPED_TRACE(problem.to_string() + " config '" + config + "'");
    const io::ProblemResults first = run_on(in_order, arrays, config);
    EXPECT_TRUE(test::matches_golden(first, expected, test::tolerance_against_cpu(problem.dtype)));
    EXPECT_TRUE(test::all_same_bits(first, run_on(in_order, arrays, config))) << "a second run";
    EXPECT_TRUE(test::all_same_bits(first, run_on(random, arrays, config))) << "a random thread order";
  }
}

INSTANTIATE_TEST_SUITE_P(SharedProblems, SimFusedDeterministic, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return test::test_instance_name(info.param.problem, info.param.dtype, info.param.layout);
                         });

// The control: the same comparison catches the atomic scatter's order dependence (one worker, so only
// the thread order varies between the two runs; colliding atomics then add in another order). The
// gather agrees with itself under the same two orders, and with the deterministic engine.
TEST(SimFusedDeterministicControl, TheComparisonSeesTheScatterDependOnTheThreadOrder) {
  const Problem problem = test::problem_of(test::test_problems()[0], DType::f32, Layout::nchw);
  const io::ProblemArrays arrays = test::random_arrays(problem, 1234);
  const auto in_order = sim_backend(ThreadOrder::in_order(), false, 1);
  const auto reversed = sim_backend(ThreadOrder::reversed(), false, 1);
  const io::ProblemResults a = run_on(in_order, arrays, "atomic=plain"), b = run_on(reversed, arrays, "atomic=plain");
  EXPECT_FALSE(test::same_bits("grad_x", a.grad_x, b.grad_x)) << "atomics in two orders gave the same bits";
  const io::ProblemResults c = run_on(in_order, arrays, "atomic=gather"), d = run_on(reversed, arrays, "atomic=gather");
  EXPECT_TRUE(test::all_same_bits(c, d));
  EXPECT_TRUE(test::all_same_bits(c, run_on(sim_backend(ThreadOrder::random(3), true), arrays, "atomic=gather")));
}

// NaN and +-Inf land where torchvision puts them (docs/semantics.md) with the gather too.
class SimFusedDeterministicNonFinite : public ::testing::TestWithParam<std::string> {};

TEST_P(SimFusedDeterministicNonFinite, NanAndInfWhereTheReferenceHasThem) {
  const test::GoldenCase golden = test::load_golden_case(GetParam(), test::FixtureSet::nonfinite);
  SCOPED_TRACE(golden.inputs.problem.to_string() + " - " + golden.description);
  const auto backend = sim_backend(ThreadOrder::random(7), true);
  for (Layout layout : {Layout::nchw, Layout::nhwc}) {
    const io::ProblemArrays arrays = test::in_layout(golden.inputs, layout);
    // The fixtures' tolerance against float64 (tests/runtime/sim/sim_golden_test.cpp).
    EXPECT_TRUE(test::matches_golden(run_on(backend, arrays), golden.expected, 1e-5)) << to_string(layout);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SimFusedDeterministicNonFinite,
                         ::testing::ValuesIn(test::list_golden_cases(test::FixtureSet::nonfinite)),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace dcnjit::sim
