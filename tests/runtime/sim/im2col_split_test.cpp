// The im2col algorithm's `split` knob on the sim backend (tap_geometry.cuh: `split` lanes share a work
// item and walk its channels interleaved; the coordinate sums are reduced across them by a fixed
// butterfly). Against the cpu backend for every split with a group whose channels the split does not
// divide, with one and two items per thread, plain and warp-aggregated atomics, fused and split
// backward, both layouts; the non-finite fixtures (NaN and Inf where torchvision puts them) at splits
// above 1; and the coordinate gradients bit-identical across thread orders and runs.
#include <gtest/gtest.h>

#include <fmt/format.h>

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

std::shared_ptr<detail::BackendImpl> sim_backend(ThreadOrder order) {
  EngineOptions options;
  options.backend = Backend::sim;
  options.threads = 2;
  return detail::make_sim_backend(options, SimOptions{.threads = 2, .order = order});
}

io::ProblemResults run_on(const std::shared_ptr<detail::BackendImpl>& backend, const io::ProblemArrays& arrays,
                          const std::string& config) {
  return test::run_both_passes(backend, arrays, config);
}


// 12 channels per offset group: splits 8 (and 16 past the group) leave lanes without a channel in the
// last step. Offsets from random_arrays: cell borders, points far outside and a NaN.
constexpr const char* kProblem = "N2 C24 H9 W11 Co6 k3x3 s1x1 p1x1 d1x1 g1 og2 mask bias v2";

class SimIm2colSplit : public ::testing::TestWithParam<Layout> {};

TEST_P(SimIm2colSplit, MatchesTheCpuBackendForEverySplitItemsAndAtomics) {
  Problem problem = Problem::parse(kProblem);
  problem.layout = GetParam();
  const io::ProblemArrays arrays = test::random_arrays(problem, 99);
  EngineOptions cpu_options;
  cpu_options.threads = 2;
  Engine cpu(cpu_options);
  const io::ProblemResults expected = test::run_both_passes(cpu, test::in_layout(arrays, Layout::nchw));
  const auto backend = sim_backend(ThreadOrder::random(5));
  for (int split : {1, 2, 4, 8})
    for (const char* items : {"threads=256 items=1", "threads=128 items=2"})
      for (const char* backward : {"bwd=fused atomic=plain", "bwd=fused atomic=warp", "bwd=split atomic=plain"}) {
        const std::string config = fmt::format("im2col step=2 split={} {} {}", split, items, backward);
        EXPECT_TRUE(test::matches_golden(run_on(backend, arrays, config), expected,
                                         test::tolerance_against_cpu(DType::f32)))
            << config;
      }
}

TEST_P(SimIm2colSplit, SixteenBitStorageAtTheLargestSplit) {
  for (DType dtype : {DType::f16, DType::bf16}) {
    Problem problem = Problem::parse(kProblem);
    problem.layout = GetParam();
    problem.dtype = dtype;
    const io::ProblemArrays arrays = test::random_arrays(problem, 3);
    Engine cpu(EngineOptions{});
    const io::ProblemResults expected = test::run_both_passes(cpu, test::in_layout(arrays, Layout::nchw));
    const auto backend = sim_backend(ThreadOrder::in_order());
    for (const char* config : {"im2col split=8 bwd=fused atomic=warp", "im2col split=8 items=2 threads=128 bwd=split"})
      EXPECT_TRUE(test::matches_golden(run_on(backend, arrays, config), expected, test::tolerance_against_cpu(dtype)))
          << to_string(dtype) << " " << config;
  }
}

// The coordinate gradients come from per-lane partial sums reduced by a fixed butterfly: the same bits
// whatever order the threads run in and on every run (grad_x's atomics may differ; not compared).
TEST_P(SimIm2colSplit, CoordinateGradientsAreBitIdenticalAcrossThreadOrdersAndRuns) {
  Problem problem = Problem::parse(kProblem);
  problem.layout = GetParam();
  const io::ProblemArrays arrays = test::random_arrays(problem, 17);
  for (const char* config : {"im2col split=4 bwd=fused", "im2col split=8 items=2 threads=128 bwd=split"}) {
    const auto in_order = sim_backend(ThreadOrder::in_order());
    const auto random = sim_backend(ThreadOrder::random(123));
    const io::ProblemResults first = run_on(in_order, arrays, config);
    for (const io::ProblemResults& other : {run_on(in_order, arrays, config), run_on(random, arrays, config)}) {
      EXPECT_TRUE(test::same_bits("y", first.y, other.y)) << config;
      EXPECT_TRUE(test::same_bits("grad_offset", first.grad_offset, other.grad_offset)) << config;
      EXPECT_TRUE(test::same_bits("grad_mask", first.grad_mask, other.grad_mask)) << config;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, SimIm2colSplit, ::testing::Values(Layout::nchw, Layout::nhwc),
                         [](const ::testing::TestParamInfo<Layout>& info) { return to_string(info.param); });

// The non-finite fixtures (tests/data/nonfinite, 4 channels in 1 or 2 offset groups) at every split the
// groups allow: the split's partial sums are non-finite exactly when the whole sum is, so the exact
// fallback (deform_col2im_coord.cuh) sees the same items and NaN and Inf land where torchvision has them.
class SimIm2colSplitNonFinite : public ::testing::TestWithParam<std::string> {};

TEST_P(SimIm2colSplitNonFinite, NanAndInfWhereTheReferenceHasThem) {
  const test::GoldenCase golden = test::load_golden_case(GetParam(), test::FixtureSet::nonfinite);
  SCOPED_TRACE(golden.inputs.problem.to_string() + " - " + golden.description);
  const Problem& problem = golden.inputs.problem;
  const int64_t channels = problem.C / problem.offset_groups;
  const auto backend = sim_backend(ThreadOrder::random(7));
  int runs = 0;
  for (int split : {2, 4, 8}) {
    if (split > channels) continue;
    for (const char* backward : {"bwd=fused atomic=plain", "bwd=fused atomic=warp", "bwd=split atomic=plain"}) {
      const std::string config = fmt::format("im2col split={} {}", split, backward);
      // The fixtures' tolerance against float64 (tests/runtime/sim/sim_golden_test.cpp).
      EXPECT_TRUE(test::matches_golden(run_on(backend, golden.inputs, config), golden.expected, 1e-5)) << config;
      ++runs;
    }
  }
  EXPECT_GE(runs, 3) << "every fixture has at least 2 channels per offset group";
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SimIm2colSplitNonFinite,
                         ::testing::ValuesIn(test::list_golden_cases(test::FixtureSet::nonfinite)),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace dcnjit::sim
