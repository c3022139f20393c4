// The sim backend end to end: every registered algorithm's kernels (im2col's: im2col, col2im, coord,
// col2im_coord, bias_grad, and for f16/bf16 the accumulator casts), over a sample of each one's config space, on the
// shared problem list (tests/support/problems.h) in every dtype and both layouts, compared with the cpu
// backend (the oracle, itself checked against torchvision) under two thread orders. NHWC runs are
// compared with the cpu backend's NCHW results, so they also show that NHWC equals NCHW. Problems are
// tiny: the cost is the host compiles (cached per process and on disk), so configs are sampled.
#include <gtest/gtest.h>

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

// For every algorithm that can run the problem, up to `count` configs spread over its enumeration (the
// defaults and the last always included); for im2col also a chunk size that leaves a partial last chunk.
std::vector<Config> sample_configs(const detail::BackendImpl& backend, const Problem& problem, std::size_t count,
                                   int partial_step) {
  std::vector<Config> out;
  for (const std::string& algorithm : backend.usable_algorithms(problem)) {
    const std::vector<Config> all = backend.knobs(algorithm).enumerate(problem, Direction::backward);
    if (all.size() <= count) out.insert(out.end(), all.begin(), all.end());
    else
      for (std::size_t i = 0; i < count; ++i) out.push_back(all[i * (all.size() - 1) / (count - 1)]);
    if (backend.knobs(algorithm).find("step"))
      out.push_back(backend.resolve(problem, Config::parse(algorithm + " step=" + std::to_string(partial_step))));
  }
  return out;
}

std::shared_ptr<detail::BackendImpl> sim_backend(ThreadOrder order) {
  EngineOptions options;
  options.backend = Backend::sim;
  options.threads = 2;
  return detail::make_sim_backend(options, SimOptions{.threads = 2, .order = order});
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
  // The other dtypes on the first problem: f32 accumulators + casts (f16, bf16), the double compute type (f64).
  for (DType dtype : {DType::f16, DType::bf16, DType::f64})
    for (Layout layout : {Layout::nchw, Layout::nhwc}) out.push_back({test::test_problems()[0], dtype, layout});
  return out;
}

class SimMatchesCpu : public ::testing::TestWithParam<Case> {};

TEST_P(SimMatchesCpu, ForwardAndAllGradientsOverSampledConfigsAndTwoThreadOrders) {
  const Case& c = GetParam();
  const Problem problem = test::problem_of(c.problem, c.dtype, c.layout);
  const io::ProblemArrays arrays = test::random_arrays(problem, 1234);

  EngineOptions cpu_options;
  cpu_options.threads = 2;
  Engine cpu(cpu_options);
  const io::ProblemArrays nchw = test::in_layout(arrays, Layout::nchw);
  const io::ProblemResults expected = test::run_both_passes(cpu, nchw);

  const std::shared_ptr<detail::BackendImpl> orders[] = {sim_backend(ThreadOrder::in_order()),
                                                         sim_backend(ThreadOrder::random(20240601))};
  // Forward and backward configs come from one enumeration per algorithm (backward's is the larger: it
  // adds the backward-only knobs); each sampled config runs both passes.
  for (const Config& config : sample_configs(*orders[0], problem, 3, c.problem.partial_step)) {
    for (const auto& backend : orders) {
      io::DeviceProblem device(arrays, /*backward=*/true,
                               [&](std::size_t bytes) { return DeviceBuffer(backend, bytes); });
      const Plan plan(problem, backend->resolve(problem, config), backend);
      plan.forward(device.forward_args());
      plan.backward(device.backward_args());
      const io::ProblemResults actual = test::to_nchw(device.download(), problem);
      EXPECT_TRUE(test::matches_golden(actual, expected, test::tolerance_against_cpu(c.dtype)))
          << problem.to_string() << " config " << config.to_string() << " order "
          << (backend == orders[0] ? "in_order" : "random");
    }
  }
}

INSTANTIATE_TEST_SUITE_P(SharedProblems, SimMatchesCpu, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return test::test_instance_name(info.param.problem, info.param.dtype, info.param.layout);
                         });

}  // namespace
}  // namespace dcnjit::sim
