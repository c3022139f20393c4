// The cpu backend (f32, f64, bf16 native and in f32, f16 in f32, through its BackendImpl) against the
// independent float64 reference: forward and all five gradients on small random problems that cover
// the whole contract of docs/semantics.md.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "runtime/cpu/blas_gemm.h"
#include "runtime/cpu/dcn_cpu_kernels.h"
#include "tests/runtime/cpu/reference_dcn.h"
#include "tests/runtime/cpu/test_support.h"

namespace dcnjit::testing {
namespace {

struct ReferenceCase {
  const char* name;
  const char* problem;  // Problem::parse syntax
  int im2col_step;      // 0 = backend default
  int pixel_tile;
  const char* gemm = nullptr;  // the GEMM library knob, when not the default
};
void PrintTo(const ReferenceCase& c, std::ostream* os) { *os << c.name; }

// Tolerances (relative L2 against float64), per dtype:
//  f32: 1e-5, the bar. The sums have at most a few hundred terms, so float rounding gives ~1e-7.
//  f64: 1e-12. Computed in double throughout (OpenBLAS dgemm); ~1e-16 per operation, a few hundred terms.
//  f16: 1e-3. Inputs and outputs are rounded to 11 significant bits (relative step 2^-11 ~ 4.9e-4 at
//       worst, about half that on average); the reference is computed from the same rounded inputs, and
//       the backend computes in f32 (F16C conversions), so what is left is the rounding of the outputs.
//  bf16: 1e-2. With AVX512-BF16 the backend also rounds every column element (and the permuted weights,
//       already bf16) to 8 significant bits before its f32-accumulated GEMMs: per term a relative error of
//       at most 2^-9 ~ 2e-3 (rms ~1.1e-3, random sign), so the sums carry ~1e-3 relative and the rounded
//       outputs another ~1e-3; 1e-2 is about 5x that and still fails a wrong tap, corner or mask, which
//       moves whole terms (>= 1e-1 relative on these small problems). The f32 fallback (no AVX512-BF16,
//       or gemm=openblas) only rounds the outputs and sits far inside the same bound.
double tolerance(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return 1e-5;
    case DType::f64:
      return 1e-12;
    case DType::f16:
      return 1e-3;
    case DType::bf16:
      return 1e-2;
  }
  return 0;
}

void expect_matches_reference(const Problem& problem, const ReferenceCase& c, uint32_t seed) {
  SCOPED_TRACE(problem.to_string());
  const ReferenceInputs inputs = rounded_to(random_inputs(problem, seed, OffsetStyle::anywhere), problem.dtype);
  const std::vector<double> grad_y = rounded_to(random_values(output_size(problem), seed + 10, -1, 1), problem.dtype);
  const ReferenceOutputs expected = reference_dcn(problem, inputs, grad_y);
  BackendRunOptions options;
  // Knobs a case leaves at 0 take the backend's defaults (an explicit step keeps tile 0 = whole image).
  if (c.im2col_step) options.config.set("step", std::to_string(c.im2col_step));
  if (c.im2col_step || c.pixel_tile) options.config.set("tile", std::to_string(c.pixel_tile));
  if (c.gemm) options.config.set("gemm", c.gemm);
  options.threads = 2;
  const ReferenceOutputs actual = run_cpu_backend(problem, inputs, grad_y, options);
  const double tol = tolerance(problem.dtype);
  EXPECT_LE(relative_l2(actual.y, expected.y), tol) << "y";
  EXPECT_LE(relative_l2(actual.grad_x, expected.grad_x), tol) << "grad_x";
  EXPECT_LE(relative_l2(actual.grad_offset, expected.grad_offset), tol) << "grad_offset";
  EXPECT_LE(relative_l2(actual.grad_mask, expected.grad_mask), tol) << "grad_mask";
  EXPECT_LE(relative_l2(actual.grad_weight, expected.grad_weight), tol) << "grad_weight";
  EXPECT_LE(relative_l2(actual.grad_bias, expected.grad_bias), tol) << "grad_bias";
}

const ReferenceCase kCases[] = {
    {"V2Mask3x3Pad1Bias", "N1 C4 H7 W9 Co5 k3x3 s1x1 p1x1 d1x1 g1 og1 mask bias v2", 0, 0},
    {"V2NoMaskGroups2OffsetGroups2", "N2 C8 H6 W5 Co6 k3x3 s1x1 p1x1 d1x1 g2 og2 nomask bias v2", 1, 0},
    {"V2Kernel2x3Stride2x1Pad0x2Dilation1x2OddBatchStep2", "N3 C6 H9 W7 Co4 k2x3 s2x1 p0x2 d1x2 g1 og3 mask nobias v2",
     2, 0},
    {"V2OffsetGroupsCrossConvGroups", "N2 C12 H5 W6 Co6 k3x3 s1x1 p1x1 d1x1 g3 og2 mask bias v2", 2, 0},
    // Several backward blocks per segment (kChannelBlock channels each, checked below): 128 + 128 + 44
    // channels of one offset group, and 128 + 4 in each of two conv-group x offset-group segments.
    {"V2ThreeBackwardBlocksPixelTile7", "N1 C300 H5 W6 Co4 k3x3 s1x1 p1x1 d1x1 g1 og1 mask nobias v2", 1, 7},
    {"V2TwoBackwardBlocksPerSegmentGroups2OffsetGroups2", "N2 C264 H4 W5 Co4 k3x3 s1x1 p1x1 d1x1 g2 og2 mask bias v2",
     2, 0},
    {"V2ManySamplingTilesBatch3Step2", "N3 C3 H12 W13 Co2 k3x3 s1x1 p1x1 d1x1 g1 og1 mask bias v2", 2, 0},
    {"V1Mask3x3Pad1OffsetGroups2", "N2 C4 H6 W8 Co3 k3x3 s1x1 p1x1 d1x1 g1 og2 mask nobias v1", 0, 0},
    {"V1NoMaskKernel3x2Stride2Pad2x1Dilation2x1Groups3Tile5",
     "N3 C6 H8 W6 Co6 k3x2 s2x2 p2x1 d2x1 g3 og1 nomask bias v1", 2, 5},
};

static_assert(cpu::kChannelBlock == 128, "the two block cases above assume 128-channel backward blocks");

class CpuBackendReferenceTest : public ::testing::TestWithParam<ReferenceCase> {};

TEST_P(CpuBackendReferenceTest, F32MatchesFloat64Reference) {
  Problem problem = Problem::parse(GetParam().problem);
  problem.dtype = DType::f32;
  expect_matches_reference(problem, GetParam(), 100);
}

INSTANTIATE_TEST_SUITE_P(Problems, CpuBackendReferenceTest, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(CpuBackendHalfTest, F16TensorsComputedInF32MatchReference) {
  for (const ReferenceCase& c : {kCases[0], kCases[3], kCases[7]}) {
    Problem problem = Problem::parse(c.problem);
    problem.dtype = DType::f16;
    expect_matches_reference(problem, c, 200);
  }
}

TEST(CpuBackendHalfTest, Bf16TensorsMatchReferenceNativelyAndInTheF32Fallback) {
  for (const ReferenceCase& c : {kCases[1], kCases[2], kCases[4], kCases[8]}) {
    Problem problem = Problem::parse(c.problem);
    problem.dtype = DType::bf16;
    expect_matches_reference(problem, c, 300);  // gemm=onednn: native where the CPU has AVX512-BF16
    ReferenceCase openblas = c;
    openblas.gemm = "openblas";  // OpenBLAS has no bf16 GEMM: the f32 path
    expect_matches_reference(problem, openblas, 300);
  }
}

// On a CPU with AVX512-BF16 the default bf16 path must really be the native one: its columns are rounded
// to bf16, so its results differ from the f32 fallback's (both within tolerance above).
TEST(CpuBackendHalfTest, Bf16RunsNativelyWhereTheCpuHasAvx512Bf16) {
  if (!cpu::cpu_has_native_bf16()) GTEST_SKIP() << "this CPU has no AVX512-BF16 (or oneDNN does not use it)";
  const Problem problem = Problem::parse("N1 C40 H7 W9 Co5 k3x3 s1x1 p1x1 d1x1 g1 og1 mask bias v2 bf16");
  const ReferenceInputs inputs = rounded_to(random_inputs(problem, 400, OffsetStyle::anywhere), problem.dtype);
  const std::vector<double> grad_y = rounded_to(random_values(output_size(problem), 401, -1, 1), problem.dtype);
  BackendRunOptions native;
  native.threads = 2;
  BackendRunOptions f32 = native;
  f32.config = Config::parse("gemm=openblas");
  const ReferenceOutputs a = run_cpu_backend(problem, inputs, grad_y, native);
  const ReferenceOutputs b = run_cpu_backend(problem, inputs, grad_y, f32);
  EXPECT_NE(a.y, b.y);
  EXPECT_NE(a.grad_weight, b.grad_weight);
}

// Subnormal bf16 values: the f32 path keeps them (rounded to nearest even), the native path multiplies
// with vdpbf16ps, which treats subnormal inputs as zero. Sixteen channels fill one vector; channel 0
// samples 0.75 * 2^-130 + 0.25 * 2^-133 = 6.25 * 2^-133, which rounds to 6 * 2^-133 (bf16 bits 0x0006),
// and y is that column times a weight of 1 (the other channels' weights are 0).
TEST(CpuBackendHalfTest, Bf16SubnormalColumnsAreKeptInF32AndZeroNatively) {
  const Problem problem = Problem::parse("N1 C16 H1 W2 Co1 k1x1 s1x1 p0x0 d1x1 g1 og1 nomask nobias v2 bf16");
  ReferenceInputs in;
  in.x.assign(16 * 2, 0.0);
  in.x[0] = std::ldexp(1.0, -130);  // channel 0, pixel (0, 0)
  in.x[1] = std::ldexp(1.0, -133);  // channel 0, pixel (0, 1)
  in.offset = {0.0, 0.0, 0.25, 0.0};  // [dy, dx] x 2 pixels: pixel 0 samples x = 0.25
  in.weight.assign(16, 0.0);
  in.weight[0] = 1.0;
  BackendRunOptions f32;
  f32.backward = false;
  f32.config = Config::parse("gemm=openblas");
  EXPECT_EQ(run_cpu_backend(problem, in, {}, f32).y[0], 6 * std::ldexp(1.0, -133));
  if (!cpu::cpu_has_native_bf16()) GTEST_SKIP() << "this CPU has no AVX512-BF16 (or oneDNN does not use it)";
  BackendRunOptions native;
  native.backward = false;
  EXPECT_EQ(run_cpu_backend(problem, in, {}, native).y[0], 0.0);
}

TEST(CpuBackendF64Test, F64MatchesFloat64Reference) {
  for (const ReferenceCase& c : {kCases[0], kCases[3], kCases[5], kCases[8]}) {
    Problem problem = Problem::parse(c.problem);
    problem.dtype = DType::f64;
    expect_matches_reference(problem, c, 500);
  }
}

}  // namespace
}  // namespace dcnjit::testing
