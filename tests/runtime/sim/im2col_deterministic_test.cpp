// Deterministic mode of the im2col algorithm on the sim backend (EngineOptions::deterministic: the
// gather col2im, deform_col2im_gather.cuh, and no floating-point atomics anywhere): every output is the
// same bits under two thread orders and on repeated runs, and matches the cpu backend on the shared
// problem list (tests/support/problems.h) in every dtype and layout, on offsets that converge on a few
// pixels (long entry lists: the heapsort path) and on the non-finite fixtures. A control shows the
// comparison can fail: the atomic col2im differs in its bits between two thread orders.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <memory>
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
  options.deterministic = deterministic;
  return detail::make_sim_backend(options, SimOptions{.threads = unsigned(workers), .order = order});
}

// Forward and backward with every gradient; `config` empty: the backend's heuristic config.
io::ProblemResults run_on(const std::shared_ptr<detail::BackendImpl>& backend, const io::ProblemArrays& arrays,
                          const std::string& config = "") {
  return test::run_both_passes(backend, arrays, config.empty() ? "im2col" : config);
}



// Runs `arrays` deterministically under two thread orders, twice on the first, with the heuristic config
// and `other_config`: the same bits each time, and within the dtype's tolerance of the cpu backend.
void expect_deterministic_and_correct(const io::ProblemArrays& arrays, const std::string& other_config) {
  const Problem& problem = arrays.problem;
  EngineOptions cpu_options;
  cpu_options.threads = 2;
  Engine cpu(cpu_options);
  const io::ProblemResults expected = test::run_both_passes(cpu, test::in_layout(arrays, Layout::nchw));
  const auto in_order = sim_backend(ThreadOrder::in_order(), true);
  const auto random = sim_backend(ThreadOrder::random(20240601), true);
  for (const std::string& config : {std::string(), other_config}) {
    SCOPED_TRACE(problem.to_string() + " config '" + config + "'");
    const io::ProblemResults first = run_on(in_order, arrays, config);
    EXPECT_TRUE(test::matches_golden(first, expected, test::tolerance_against_cpu(problem.dtype)));
    EXPECT_TRUE(test::all_same_bits(first, run_on(in_order, arrays, config))) << "a second run";
    EXPECT_TRUE(test::all_same_bits(first, run_on(random, arrays, config))) << "a random thread order";
  }
}

struct Case {
  test::TestProblem problem;
  DType dtype;
  Layout layout;
};

void PrintTo(const Case& c, std::ostream* os) { *os << test::test_instance_name(c.problem, c.dtype, c.layout); }

std::vector<Case> cases() {
  std::vector<Case> out;
  for (const test::TestProblem& p : test::test_problems())
    for (Layout layout : {Layout::nchw, Layout::nhwc}) out.push_back({p, DType::f32, layout});
  for (DType dtype : {DType::f16, DType::bf16, DType::f64})
    for (Layout layout : {Layout::nchw, Layout::nhwc}) out.push_back({test::test_problems()[0], dtype, layout});
  return out;
}

class SimIm2colDeterministic : public ::testing::TestWithParam<Case> {};

TEST_P(SimIm2colDeterministic, BitIdenticalAcrossThreadOrdersAndRunsAndMatchesCpu) {
  const Case& c = GetParam();
  const Problem problem = test::problem_of(c.problem, c.dtype, c.layout);
  // A second config: two items per thread, 128 threads (the scan's tiles change), the partial chunk.
  expect_deterministic_and_correct(
      test::random_arrays(problem, 1234),
      fmt::format("im2col step={} threads=128 items=2 split=2", c.problem.partial_step));
}

INSTANTIATE_TEST_SUITE_P(SharedProblems, SimIm2colDeterministic, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return test::test_instance_name(info.param.problem, info.param.dtype, info.param.layout);
                         });

// Offsets that pull every sample point of an image towards a few pixels: each of them gets hundreds of
// entries (the sort's heapsort path, past 32 entries), and the scatter col2im's atomics would all collide.
io::ProblemArrays converging_arrays(Layout layout) {
  Problem problem = Problem::parse("N2 C16 H12 W12 Co8 k3x3 s1x1 p1x1 d1x1 g1 og2 mask bias v2");
  const io::ProblemArrays nchw = test::random_arrays(problem, 77);
  io::ProblemArrays arrays = nchw;
  const int64_t K = problem.taps(), Ho = problem.Ho(), Wo = problem.Wo();
  for (int64_t n = 0; n < problem.N; ++n)
    for (int64_t g = 0; g < problem.offset_groups; ++g)
      for (int64_t t = 0; t < K; ++t)
        for (int64_t ho = 0; ho < Ho; ++ho)
          for (int64_t wo = 0; wo < Wo; ++wo) {
            const int64_t i = t / problem.kw, j = t % problem.kw;
            const double y = double(ho - 1 + i), x = double(wo - 1 + j);  // the tap's regular position
            // Targets (5.25, 6.5) and (2.75, 8.0) by group, plus a per-item fraction from the random field.
            const int64_t dy_at = ((n * 2 * problem.offset_groups * K + g * 2 * K + 2 * t) * Ho + ho) * Wo + wo;
            const int64_t dx_at = dy_at + Ho * Wo;
            const float jitter = 0.1f * std::fabs(nchw.offset.data[std::size_t(dy_at)]);
            const double ty = g == 0 ? 5.25 : 2.75, tx = g == 0 ? 6.5 : 8.0;
            arrays.offset.data[std::size_t(dy_at)] = float(ty - y) + (std::isnan(jitter) ? 0.0f : jitter);
            arrays.offset.data[std::size_t(dx_at)] = float(tx - x);
          }
  return test::in_layout(arrays, layout);
}

TEST(SimIm2colDeterministicMap, OffsetsConvergingOnAFewPixels) {
  for (Layout layout : {Layout::nchw, Layout::nhwc})
    expect_deterministic_and_correct(converging_arrays(layout), "im2col split=4 threads=512");
}

// The control: the same comparison catches the atomic col2im's order dependence (one worker, so only the
// thread order varies between the two runs; colliding atomics then add in another order).
TEST(SimIm2colDeterministicMap, TheComparisonSeesTheAtomicCol2imDependOnTheThreadOrder) {
  const io::ProblemArrays arrays = converging_arrays(Layout::nchw);
  const auto in_order = sim_backend(ThreadOrder::in_order(), false, 1);
  const auto reversed = sim_backend(ThreadOrder::reversed(), false, 1);
  const std::string atomic = "im2col split=1 bwd=split atomic=plain";
  const io::ProblemResults a = run_on(in_order, arrays, atomic), b = run_on(reversed, arrays, atomic);
  EXPECT_FALSE(test::same_bits("grad_x", a.grad_x, b.grad_x)) << "atomics in two orders gave the same bits";
  // With the gather, the same two orders agree, and agree with the deterministic engine.
  const std::string gather = "im2col split=1 bwd=split atomic=gather";
  const io::ProblemResults c = run_on(in_order, arrays, gather), d = run_on(reversed, arrays, gather);
  EXPECT_TRUE(test::all_same_bits(c, d));
  EXPECT_TRUE(test::all_same_bits(c, run_on(sim_backend(ThreadOrder::random(3), true), arrays, gather)));
}

// NaN and +-Inf land where torchvision puts them (docs/semantics.md) with the gather too.
class SimIm2colDeterministicNonFinite : public ::testing::TestWithParam<std::string> {};

TEST_P(SimIm2colDeterministicNonFinite, NanAndInfWhereTheReferenceHasThem) {
  const test::GoldenCase golden = test::load_golden_case(GetParam(), test::FixtureSet::nonfinite);
  SCOPED_TRACE(golden.inputs.problem.to_string() + " - " + golden.description);
  const auto backend = sim_backend(ThreadOrder::random(7), true);
  for (Layout layout : {Layout::nchw, Layout::nhwc}) {
    const io::ProblemArrays arrays = test::in_layout(golden.inputs, layout);
    // The fixtures' tolerance against float64 (tests/runtime/sim/sim_golden_test.cpp).
    EXPECT_TRUE(test::matches_golden(run_on(backend, arrays), golden.expected, 1e-5)) << to_string(layout);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SimIm2colDeterministicNonFinite,
                         ::testing::ValuesIn(test::list_golden_cases(test::FixtureSet::nonfinite)),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace dcnjit::sim
