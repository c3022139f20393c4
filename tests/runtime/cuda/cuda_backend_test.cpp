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
  // The tuning database's environment key (design.md section 3).
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

// ---- Random problems against the CPU backend ----

io::HostArray random_array(std::vector<int64_t> shape, float low, float high, std::mt19937& rng) {
  io::HostArray array;
  array.shape = std::move(shape);
  std::uniform_real_distribution<float> dist(low, high);
  array.data.resize(std::size_t(array.numel()));
  for (float& v : array.data) v = dist(rng);
  return array;
}

io::ProblemArrays random_arrays(const Problem& p, uint32_t seed) {
  std::mt19937 rng(seed);
  io::ProblemArrays a;
  a.problem = p;
  const int64_t og = p.offset_groups, taps = p.taps();
  a.x = random_array({p.N, p.C, p.H, p.W}, -1, 1, rng);
  // Offsets up to +-2.5 pixels: samples cross cell borders and leave the image at the edges.
  a.offset = random_array({p.N, 2 * og * taps, p.Ho(), p.Wo()}, -2.5f, 2.5f, rng);
  if (p.mask) a.mask = random_array({p.N, og * taps, p.Ho(), p.Wo()}, 0, 1, rng);
  a.weight = random_array({p.Co, p.C / p.groups, p.kh, p.kw}, -1, 1, rng);
  if (p.bias) a.bias = random_array({p.Co}, -1, 1, rng);
  a.grad_y = random_array({p.N, p.Co, p.Ho(), p.Wo()}, -1, 1, rng);
  return a;
}

struct RandomCase {
  std::string name;
  std::string problem;  // Problem::parse syntax, without the dtype
  int im2col_step;      // chosen not to divide N
};

const std::vector<RandomCase>& random_cases() {
  static const std::vector<RandomCase> cases = {
      {"mask_bias_pad1_N3_step2", "N3 C8 H9 W11 Co6 k3x3 s1x1 p1x1 d1x1 g1 og1 mask bias v2", 2},
      {"v1_groups2_og2_stride2_dil2_N5_step3", "N5 C8 H12 W10 Co4 k3x3 s2x2 p2x2 d2x2 g2 og2 nomask bias v1", 3},
      {"k1x3_groups3_og3_N4_step3", "N4 C6 H10 W6 Co9 k1x3 s1x2 p0x1 d1x1 g3 og3 mask nobias v2", 3},
  };
  return cases;
}

void PrintTo(const RandomCase& c, std::ostream* os) { *os << c.name; }

// Runs without a GPU: keeps the GPU cases themselves from being wrong where nobody would notice.
TEST(CudaVsCpuCases, AreValidProblemsWithAPartialLastChunk) {
  for (const RandomCase& c : random_cases()) {
    const Problem problem = Problem::parse(c.problem);
    EXPECT_NO_THROW(problem.validate()) << c.name;
    EXPECT_NE(problem.N % c.im2col_step, 0) << c.name << ": the last chunk must be partial";
    EXPECT_LT(c.im2col_step, problem.N) << c.name;
  }
}

using RandomParam = std::tuple<RandomCase, DType>;

// The tolerances, relative L2 against the CPU backend on the same (rounded) inputs:
// f32 1e-5 (summation order only); f16 1e-3 and bf16 1e-2 (the column buffer and the outputs are
// rounded to 11 and 8 mantissa bits, 2^-11 ~ 4.9e-4 and 2^-8 ~ 3.9e-3 relative per element).
double tolerance_for(DType dtype) { return dtype == DType::f32 ? 1e-5 : dtype == DType::f16 ? 1e-3 : 1e-2; }

io::ProblemResults run_both_passes(Engine& engine, const io::ProblemArrays& arrays, const Config* config) {
  io::DeviceProblem device_problem(engine, arrays, /*backward=*/true);
  const Plan plan = config ? engine.plan(arrays.problem, *config) : engine.plan(arrays.problem);
  plan.forward(device_problem.forward_args());
  plan.backward(device_problem.backward_args());
  return device_problem.download();
}

void expect_close(const char* name, const std::optional<io::HostArray>& actual,
                  const std::optional<io::HostArray>& expected, double tolerance) {
  ASSERT_EQ(actual.has_value(), expected.has_value()) << name;
  if (!expected) return;
  EXPECT_LE(test::relative_l2(actual->data, expected->data), tolerance) << name;
}

class CudaVsCpuTest : public ::testing::TestWithParam<RandomParam> {};

TEST_P(CudaVsCpuTest, ForwardAndAllGradientsMatchCpuBackend) {
  DCNJIT_REQUIRE_GPU();
  const auto& [random_case, dtype] = GetParam();
  Problem problem = Problem::parse(random_case.problem);
  problem.dtype = dtype;
  ASSERT_NE(problem.N % random_case.im2col_step, 0) << "the case must leave a partial last chunk";
  const io::ProblemArrays arrays = random_arrays(problem, 1234);

  EngineOptions cpu_options;
  cpu_options.backend = Backend::cpu;
  Engine cpu(cpu_options);
  const io::ProblemResults expected = run_both_passes(cpu, arrays, nullptr);

  Engine gpu(cuda_options());
  Config config;
  config.im2col_step = random_case.im2col_step;
  const io::ProblemResults actual = run_both_passes(gpu, arrays, &config);

  const double tolerance = tolerance_for(dtype);
  expect_close("y", actual.y, expected.y, tolerance);
  expect_close("grad_x", actual.grad_x, expected.grad_x, tolerance);
  expect_close("grad_offset", actual.grad_offset, expected.grad_offset, tolerance);
  expect_close("grad_mask", actual.grad_mask, expected.grad_mask, tolerance);
  expect_close("grad_weight", actual.grad_weight, expected.grad_weight, tolerance);
  expect_close("grad_bias", actual.grad_bias, expected.grad_bias, tolerance);
}

INSTANTIATE_TEST_SUITE_P(
    ProblemsAndDtypes, CudaVsCpuTest,
    ::testing::Combine(::testing::ValuesIn(random_cases()), ::testing::Values(DType::f32, DType::f16, DType::bf16)),
    [](const ::testing::TestParamInfo<RandomParam>& info) {
      return std::get<0>(info.param).name + "_" + to_string(std::get<1>(info.param));
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
  const Problem problem = Problem::parse(random_cases()[0].problem);
  const io::ProblemArrays arrays = random_arrays(problem, 99);
  Engine gpu(cuda_options());
  const io::ProblemResults full = run_both_passes(gpu, arrays, nullptr);

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
