// Channels-last (NHWC) problems on the cpu backend through the public API: the shared problem list in
// every dtype, NHWC against NCHW results on the same values, and the golden fixtures stored NHWC. The
// backend reads and writes NHWC activations where they are (runtime/cpu/README.md), so what differs
// from NCHW is only where each element sits.
#include <gtest/gtest.h>

#include <string>

#include "dcnjit/engine.h"
#include "tests/support/golden_fixture.h"
#include "tests/support/problems.h"

namespace dcnjit::testing {
namespace {

struct LayoutCase {
  test::TestProblem problem;
  DType dtype;
};

std::vector<LayoutCase> layout_cases() {
  std::vector<LayoutCase> out;
  for (const test::TestProblem& p : test::test_problems())
    for (DType dtype : {DType::f32, DType::f64, DType::bf16, DType::f16}) out.push_back({p, dtype});
  return out;
}

class CpuNhwcMatchesNchw : public ::testing::TestWithParam<LayoutCase> {};

// NHWC must equal NCHW bit for bit: both layouts feed the same values to the same arithmetic in the same
// order (the NCHW x is copied channels-last, NHWC's is read in place; offsets and masks are only read at
// other strides), and the GEMMs see the same shapes. Every config the test runs also cuts a partial last
// chunk and several tiles, and the 2-thread engine takes the separate grad_x scatter on batch 1.
TEST_P(CpuNhwcMatchesNchw, ForwardAndAllGradientsAreTheSameBits) {
  const LayoutCase& c = GetParam();
  const Problem problem = test::problem_of(c.problem, c.dtype, Layout::nhwc);
  const io::ProblemArrays nhwc = test::random_arrays(problem, 77);
  const io::ProblemArrays nchw = test::in_layout(nhwc, Layout::nchw);
  for (int threads : {1, 2}) {
    EngineOptions options;
    options.threads = threads;
    Engine engine(options);
    for (const char* knobs : {"", "tile=7", "tile=16"}) {
      Config config = Config::parse(knobs);
      config.set("step", std::to_string(c.problem.partial_step));
      const io::ProblemResults expected = test::run_both_passes(engine, nchw, &config);
      const io::ProblemResults actual = test::to_nchw(test::run_both_passes(engine, nhwc, &config), problem);
      SCOPED_TRACE(problem.to_string() + " config " + config.to_string() + " threads " + std::to_string(threads));
      ASSERT_TRUE(actual.grad_x && actual.grad_offset && actual.grad_weight);
      EXPECT_TRUE(test::all_same_bits(actual, expected));
      // Not trivially equal: the outputs were written (the random inputs make none of them all zeros).
      EXPECT_NE(actual.grad_x->data, std::vector<float>(actual.grad_x->data.size(), 0.0f));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(SharedProblems, CpuNhwcMatchesNchw, ::testing::ValuesIn(layout_cases()),
                         [](const ::testing::TestParamInfo<LayoutCase>& info) {
                           return test::test_instance_name(info.param.problem, info.param.dtype, Layout::nhwc);
                         });

// The golden fixtures (tests/golden/golden_test.cpp runs them NCHW), stored channels-last: the same
// float64 references and the same f32 tolerance (1e-5; tests/golden/golden_test.cpp derives it).
// The non-finite fixtures too (tests/data/nonfinite: NaN and Inf where torchvision has them).
struct GoldenParam {
  test::FixtureSet set;
  std::string name;
};

std::vector<GoldenParam> golden_params() {
  std::vector<GoldenParam> out;
  for (test::FixtureSet set : {test::FixtureSet::golden, test::FixtureSet::nonfinite})
    for (const std::string& name : test::list_golden_cases(set)) out.push_back({set, name});
  return out;
}

class CpuNhwcGolden : public ::testing::TestWithParam<GoldenParam> {};

TEST_P(CpuNhwcGolden, ForwardAndAllGradientsMatchReference) {
  const test::GoldenCase golden = test::load_golden_case(GetParam().name, GetParam().set);
  const io::ProblemArrays nhwc = test::in_layout(golden.inputs, Layout::nhwc);
  SCOPED_TRACE(nhwc.problem.to_string() + " - " + golden.description);
  EngineOptions options;
  options.threads = 2;
  Engine engine(options);
  const io::ProblemResults results = test::to_nchw(test::run_both_passes(engine, nhwc), nhwc.problem);
  EXPECT_TRUE(test::matches_golden(results, golden.expected, 1e-5));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CpuNhwcGolden, ::testing::ValuesIn(golden_params()),
                         [](const ::testing::TestParamInfo<GoldenParam>& info) {
                           return std::string(info.param.set == test::FixtureSet::nonfinite ? "nonfinite_" : "") +
                                  info.param.name;
                         });

}  // namespace
}  // namespace dcnjit::testing
