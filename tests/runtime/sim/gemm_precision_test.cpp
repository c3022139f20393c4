// What the im2col algorithm's GEMMs promise about precision, run end to end on the sim backend (whose
// GEMM models cuBLASLt's compute types, runtime/sim/sim_gemm.h):
//   - f16/bf16 grad_weight sums its images in f32 and rounds once: per-image partials past f16's range
//     (65504) must not turn a small total into inf or NaN;
//   - f32 GEMMs use TF32 only when EngineOptions::allow_tf32 asks for it, and then stay within TF32's
//     error of the cpu backend.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "dcnjit/engine.h"
#include "runtime/sim/sim_backend.h"
#include "tests/support/golden_fixture.h"
#include "tests/support/problems.h"
#include "tools/io/device_problem.h"

namespace dcnjit::sim {
namespace {

std::shared_ptr<detail::BackendImpl> sim_backend(bool allow_tf32) {
  EngineOptions options;
  options.backend = Backend::sim;
  options.threads = 2;
  options.allow_tf32 = allow_tf32;
  return detail::make_sim_backend(options, SimOptions{.threads = 2, .order = ThreadOrder::in_order()});
}

io::ProblemResults run_on(const std::shared_ptr<detail::BackendImpl>& backend, const io::ProblemArrays& arrays,
                          const Config& config) {
  io::DeviceProblem device(arrays, /*backward=*/true, [&](std::size_t bytes) { return DeviceBuffer(backend, bytes); });
  const Plan plan(arrays.problem, backend->resolve(arrays.problem, config), backend);
  plan.forward(device.forward_args());
  plan.backward(device.backward_args());
  return device.download();
}

// Two images of one pixel, one channel, a 1x1 kernel at offset 0: grad_weight = x * (dy0 + dy1), the
// sum of one term per image. Every value given is exact in `dtype`.
io::ProblemArrays two_image_terms(DType dtype, float x, float dy0, float dy1) {
  io::ProblemArrays arrays;
  arrays.problem = Problem::parse("N2 C1 H1 W1 Co1 k1x1 nomask nobias v2");
  arrays.problem.dtype = dtype;
  arrays.x = {{2, 1, 1, 1}, {x, x}};
  arrays.offset = {{2, 2, 1, 1}, {0.0f, 0.0f, 0.0f, 0.0f}};
  arrays.weight = {{1, 1, 1, 1}, {1.0f}};
  arrays.grad_y = io::HostArray{{2, 1, 1, 1}, {dy0, dy1}};
  return arrays;
}

TEST(SimGemmPrecision, F16GradWeightRoundsTheSumOverImagesOnce) {
  // Terms 2 * 40000 = 80000 and 2 * -39936 = -79872 are both past f16's largest finite value (65504):
  // stored per image they are +inf and -inf (a NaN total); summed in f32 they give 128.
  const io::ProblemArrays arrays = two_image_terms(DType::f16, 2.0f, 40000.0f, -39936.0f);
  const auto backend = sim_backend(false);
  // One chunk of both images (one GEMM per image into the f32 accumulator) and one image per chunk
  // (the accumulator carried across chunks).
  for (const char* config : {"im2col step=2", "im2col step=1"}) {
    const io::ProblemResults results = run_on(backend, arrays, Config::parse(config));
    ASSERT_TRUE(results.grad_weight);
    EXPECT_EQ(results.grad_weight->data[0], 128.0f) << config;
  }
}

TEST(SimGemmPrecision, Bf16GradWeightRoundsTheSumOverImagesOnce) {
  // bf16 has f32's range but 8 significant bits: the terms 3 * 40192 = 120576 (a tie between bf16
  // neighbours 512 apart, rounded to even: 120832) and 3 * -39936 = -119808 (exact) would sum to 1024 if
  // stored per image; summed in f32 they give 768, itself exact in bf16.
  const io::ProblemArrays arrays = two_image_terms(DType::bf16, 3.0f, 40192.0f, -39936.0f);
  const io::ProblemResults results = run_on(sim_backend(false), arrays, Config::parse("im2col step=2"));
  ASSERT_TRUE(results.grad_weight);
  EXPECT_EQ(results.grad_weight->data[0], 768.0f);
}

TEST(SimGemmPrecision, Tf32OnlyWhenAllowedAndWithinItsErrorOfTheCpuBackend) {
  const Problem problem = test::problem_of(test::test_problems()[0], DType::f32, Layout::nchw);
  const io::ProblemArrays arrays = test::random_arrays(problem, 99);
  EngineOptions cpu_options;
  cpu_options.threads = 2;
  Engine cpu(cpu_options);
  const io::ProblemResults expected = test::run_both_passes(cpu, arrays);

  const Config config = Config::parse("im2col");
  const io::ProblemResults exact = run_on(sim_backend(false), arrays, config);
  const io::ProblemResults tf32 = run_on(sim_backend(true), arrays, config);
  EXPECT_TRUE(test::matches_golden(exact, expected, test::tolerance_against_cpu(DType::f32)));
  // TF32 keeps 10 of f32's 23 mantissa bits: each operand carries up to 2^-11 ~ 4.9e-4 relative error,
  // a product up to ~1e-3, and a sum of independent errors less. 2e-3 relative L2 admits that and still
  // fails a wrong term (>= 1e-2, see tolerance_against_cpu).
  EXPECT_TRUE(test::matches_golden(tf32, expected, 2e-3));
  // ... and TF32 did change y (the random inputs are not TF32 values), so the option reached the GEMMs.
  EXPECT_FALSE(test::matches_golden(tf32, exact, 1e-6));
}

}  // namespace
}  // namespace dcnjit::sim
