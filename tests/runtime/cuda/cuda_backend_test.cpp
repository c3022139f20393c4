// The cuda backend behind Engine: without a driver it fails cleanly with NoDevice. With a GPU: its
// memory hooks and environment key, every golden fixture, and random problems against the CPU backend
// in f32, f16 and bf16 for forward and every gradient (and gradient subsets), with batch sizes that
// the im2col step does not divide.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "dcnjit/engine.h"
#include "runtime/backend.h"
#include "tests/runtime/cuda/gpu_available.h"
#include "tests/support/golden_fixture.h"
#include "tests/support/problems.h"
#include "tools/io/device_problem.h"
#include "tools/io/problem_arrays.h"

namespace dcnjit {
namespace {

using ::testing::HasSubstr;

EngineOptions cuda_options(int device = 0) {
  EngineOptions options;
  options.backend = Backend::cuda;
  options.device = device;
  return options;
}

TEST(CudaBackendWithoutGpu, EngineConstruction_IsNoDeviceWithTheLoaderMessage) {
  const std::string why = cuda::testing::why_no_gpu();
  if (why.empty()) GTEST_SKIP() << "a GPU is present; the no-device path cannot be observed";
  try {
    Engine engine(cuda_options());
    FAIL() << "expected Error(NoDevice)";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::NoDevice);
    EXPECT_THAT(e.what(), HasSubstr("CUDA"));
    EXPECT_EQ(std::string(e.what()), why) << "the Engine reports the driver loader's reason unchanged";
  }
}

TEST(CudaBackendGpu, DeviceBuffer_IsZeroFilledAndRoundTrips) {
  DCNJIT_REQUIRE_GPU();
  Engine engine(cuda_options());
  DeviceBuffer buffer = engine.allocate(1000 * sizeof(float));
  std::vector<float> host(1000, -1.0f);
  buffer.download(host.data(), host.size() * sizeof(float));
  for (float v : host) ASSERT_EQ(v, 0.0f);
  for (int i = 0; i < 1000; ++i) host[std::size_t(i)] = float(i) * 0.5f;
  buffer.upload(host.data(), host.size() * sizeof(float));
  std::vector<float> back(1000);
  buffer.download(back.data(), back.size() * sizeof(float));
  EXPECT_EQ(back, host);
  EXPECT_EQ(buffer.tensor(DType::f32, {10, 100}).device, Device::cuda);
}

TEST(CudaBackendGpu, DeviceIndexPastTheLastGpu_IsNoDevice) {
  DCNJIT_REQUIRE_GPU();
  try {
    Engine engine(cuda_options(4096));
    FAIL() << "expected Error(NoDevice)";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::NoDevice);
    EXPECT_THAT(e.what(), HasSubstr("4096"));
  }
}

TEST(CudaBackendGpu, Environment_SpellsArchDeviceAndVersions) {
  DCNJIT_REQUIRE_GPU();
  // The tuning database's environment key (docs/architecture.md, caches and keys).
  const auto backend = detail::make_cuda_backend(cuda_options());
  EXPECT_THAT(backend->environment(),
              ::testing::MatchesRegex("sm_[0-9]+:.+:[0-9]+:driver=[0-9.]+:nvrtc=[0-9.]+:cublasLt=[0-9.]+:gen=[0-9]+"));
  EXPECT_EQ(backend->device(), Device::cuda);
}

// ---- Golden fixtures (torchvision float64 for v2, an independent float64 formulation for v1) ----

class CudaGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CudaGoldenTest, ForwardAndAllGradientsMatchReference) {
  DCNJIT_REQUIRE_GPU();
  const test::GoldenCase golden = test::load_golden_case(GetParam());
  SCOPED_TRACE(golden.inputs.problem.to_string() + " - " + golden.description);
  const io::ProblemResults results = test::run_golden_case(golden, Backend::cuda);
  // The same bound as the CPU golden test (tests/golden/golden_test.cpp): f32 against float64, sums of at
  // most ~100 terms, so 1e-5 relative L2 passes correct f32 code and fails any wrong tap or border rule.
  EXPECT_TRUE(test::matches_golden(results, golden.expected, 1e-5));
}

INSTANTIATE_TEST_SUITE_P(AllFixtures, CudaGoldenTest, ::testing::ValuesIn(test::list_golden_cases()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// The fixtures with channels-last activations: NHWC equals NCHW on the GPU too.
class CudaGoldenNhwcTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CudaGoldenNhwcTest, ForwardAndAllGradientsMatchReference) {
  DCNJIT_REQUIRE_GPU();
  const test::GoldenCase golden = test::load_golden_case(GetParam());
  SCOPED_TRACE(golden.inputs.problem.to_string() + " nhwc - " + golden.description);
  EXPECT_TRUE(test::matches_golden(test::run_golden_case(golden, Backend::cuda, Layout::nhwc), golden.expected, 1e-5));
}

INSTANTIATE_TEST_SUITE_P(AllFixtures, CudaGoldenNhwcTest, ::testing::ValuesIn(test::list_golden_cases()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// NaN and +-Inf in x, mask, weight and grad_y where torchvision puts them (docs/semantics.md; the cpu
// and sim backends run the same fixtures).
class CudaNonFiniteGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CudaNonFiniteGoldenTest, NanAndInfWhereTheReferenceHasThem) {
  DCNJIT_REQUIRE_GPU();
  const test::GoldenCase golden = test::load_golden_case(GetParam(), test::FixtureSet::nonfinite);
  SCOPED_TRACE(golden.inputs.problem.to_string() + " - " + golden.description);
  const io::ProblemResults results = test::run_golden_case(golden, Backend::cuda);
  EXPECT_TRUE(test::matches_golden(results, golden.expected, 1e-5));
}

INSTANTIATE_TEST_SUITE_P(AllFixtures, CudaNonFiniteGoldenTest,
                         ::testing::ValuesIn(test::list_golden_cases(test::FixtureSet::nonfinite)),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// ---- The shared problems against the CPU backend ----

struct SharedCase {
  test::TestProblem problem;
  DType dtype;
  Layout layout;
};

void PrintTo(const SharedCase& c, std::ostream* os) { *os << test::test_instance_name(c.problem, c.dtype, c.layout); }

std::vector<SharedCase> shared_cases() {
  std::vector<SharedCase> out;
  for (const test::TestProblem& p : test::test_problems())
    for (DType dtype : {DType::f32, DType::f16, DType::bf16})
      for (Layout layout : {Layout::nchw, Layout::nhwc}) out.push_back({p, dtype, layout});
  return out;
}

// Runs without a GPU: keeps the GPU cases themselves from being wrong where nobody would notice.
TEST(CudaVsCpuCases, AreValidProblemsWithAPartialLastChunk) {
  for (const test::TestProblem& p : test::test_problems()) {
    const Problem problem = Problem::parse(p.text);
    EXPECT_NO_THROW(problem.validate()) << p.name;
    EXPECT_GT(problem.N, 1) << p.name;
    EXPECT_NE(problem.N % p.partial_step, 0) << p.name << ": the last chunk must be partial";
  }
}

class CudaVsCpuTest : public ::testing::TestWithParam<SharedCase> {};

// Forward and every gradient against the cpu backend (NCHW, same rounded inputs), for every algorithm
// with its default config (and for im2col a chunk size that leaves a partial last chunk); NHWC results
// permuted back to NCHW.
TEST_P(CudaVsCpuTest, ForwardAndAllGradientsMatchCpuBackend) {
  DCNJIT_REQUIRE_GPU();
  const SharedCase& c = GetParam();
  const Problem problem = test::problem_of(c.problem, c.dtype, c.layout);
  const io::ProblemArrays arrays = test::random_arrays(problem, 1234);
  Engine cpu{EngineOptions{}};
  const io::ProblemResults expected = test::run_both_passes(cpu, test::in_layout(arrays, Layout::nchw));
  Engine gpu(cuda_options());
  const auto backend = detail::make_cuda_backend(cuda_options());
  std::vector<Config> configs;
  for (const std::string& algorithm : backend->usable_algorithms(problem)) {
    configs.push_back(Config::parse(algorithm));
    if (backend->knobs(algorithm).find("step"))
      configs.push_back(Config::parse(algorithm + " step=" + std::to_string(c.problem.partial_step)));
  }
  for (const Config& config : configs) {
    const io::ProblemResults actual = test::to_nchw(test::run_both_passes(gpu, arrays, &config), problem);
    EXPECT_TRUE(test::matches_golden(actual, expected, test::tolerance_against_cpu(c.dtype))) << config.to_string();
  }
}

INSTANTIATE_TEST_SUITE_P(SharedProblems, CudaVsCpuTest, ::testing::ValuesIn(shared_cases()),
                         [](const ::testing::TestParamInfo<SharedCase>& info) {
                           return test::test_instance_name(info.param.problem, info.param.dtype, info.param.layout);
                         });

// Each subset of gradients alone gives the same values as the full backward, and the gradients that
// were not requested are left untouched (they stay at DeviceBuffer's zero fill).
struct GradientSubset {
  const char* name;
  bool x, offset, mask, weight, bias;
};

void PrintTo(const GradientSubset& subset, std::ostream* os) { *os << subset.name; }

class CudaGradientSubsetTest : public ::testing::TestWithParam<GradientSubset> {};

TEST_P(CudaGradientSubsetTest, RequestedGradientsMatchFullBackwardOthersUntouched) {
  DCNJIT_REQUIRE_GPU();
  const GradientSubset& subset = GetParam();
  const Problem problem = Problem::parse(test::test_problems()[0].text);
  const io::ProblemArrays arrays = test::random_arrays(problem, 99);
  Engine gpu(cuda_options());
  const io::ProblemResults full = test::run_both_passes(gpu, arrays);

  io::DeviceProblem device_problem(gpu, arrays, /*backward=*/true);
  const Plan plan = gpu.plan(problem);
  BackwardArgs args = device_problem.backward_args();
  if (!subset.x) args.grad_x.data = nullptr;
  if (!subset.offset) args.grad_offset.data = nullptr;
  if (!subset.mask) args.grad_mask.data = nullptr;
  if (!subset.weight) args.grad_weight.data = nullptr;
  if (!subset.bias) args.grad_bias.data = nullptr;
  plan.backward(args);
  const io::ProblemResults partial = device_problem.download();

  auto check = [&](const char* name, bool requested, const std::optional<io::HostArray>& got,
                   const std::optional<io::HostArray>& want) {
    ASSERT_TRUE(got && want) << name;
    if (requested) {
      // Same kernels, same order: only atomics may reorder additions (f32).
      EXPECT_LE(test::relative_l2(got->data, want->data), 1e-5) << name;
    } else {
      for (float v : got->data) ASSERT_EQ(v, 0.0f) << name << " was written although not requested";
    }
  };
  check("grad_x", subset.x, partial.grad_x, full.grad_x);
  check("grad_offset", subset.offset, partial.grad_offset, full.grad_offset);
  check("grad_mask", subset.mask, partial.grad_mask, full.grad_mask);
  check("grad_weight", subset.weight, partial.grad_weight, full.grad_weight);
  check("grad_bias", subset.bias, partial.grad_bias, full.grad_bias);
}

INSTANTIATE_TEST_SUITE_P(Subsets, CudaGradientSubsetTest,
                         ::testing::Values(GradientSubset{"x_only", true, false, false, false, false},
                                           GradientSubset{"offset_mask", false, true, true, false, false},
                                           GradientSubset{"weight_bias", false, false, false, true, true},
                                           GradientSubset{"offset_only", false, true, false, false, false}),
                         [](const ::testing::TestParamInfo<GradientSubset>& info) { return info.param.name; });

}  // namespace
}  // namespace dcnjit
