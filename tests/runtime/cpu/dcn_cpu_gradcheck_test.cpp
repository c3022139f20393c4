// The double instantiation of the CPU core (dcn_cpu.h) against central finite differences of its own
// forward, for all five gradients, and the exact-border convention (docs/semantics.md) on cases worked
// out by hand.
#include <gtest/gtest.h>

#include <functional>
#include <numeric>

#include "runtime/cpu/dcn_cpu.h"
#include "tests/runtime/cpu/reference_dcn.h"
#include "tests/runtime/cpu/test_support.h"

namespace dcnjit::testing {
namespace {

using cpu::BackwardTensors;
using cpu::CpuConfig;
using cpu::CpuContext;
using cpu::ForwardTensors;
using cpu::ThreadPool;

// The double core runs its GEMMs on OpenBLAS (oneDNN has no f64 GEMM).
CpuConfig f64_config(int64_t pixel_tile = 0) {
  CpuConfig config;
  config.im2col_step = 1;
  config.pixel_tile = pixel_tile;
  config.gemm = cpu::GemmLibrary::openblas;
  return config;
}

std::vector<double> forward_double(const Problem& p, const CpuConfig& config, const ReferenceInputs& in) {
  ThreadPool pool(1);
  std::vector<double> y(output_size(p));
  ForwardTensors<cpu::F64> t;
  t.x = in.x.data();
  t.offset = in.offset.data();
  t.mask = p.mask ? in.mask.data() : nullptr;
  t.weight = in.weight.data();
  t.bias = p.bias ? in.bias.data() : nullptr;
  t.y = y.data();
  cpu::dcn_forward<cpu::F64>(p, config, t, CpuContext{pool}, nullptr);
  return y;
}

ReferenceOutputs backward_double(const Problem& p, const CpuConfig& config, const ReferenceInputs& in,
                                 const std::vector<double>& grad_y) {
  ThreadPool pool(1);
  ReferenceOutputs out;
  out.grad_x.resize(in.x.size());
  out.grad_offset.resize(in.offset.size());
  out.grad_mask.resize(in.mask.size());
  out.grad_weight.resize(in.weight.size());
  out.grad_bias.resize(std::size_t(p.Co));
  BackwardTensors<cpu::F64> t;
  t.x = in.x.data();
  t.offset = in.offset.data();
  t.mask = p.mask ? in.mask.data() : nullptr;
  t.weight = in.weight.data();
  t.grad_y = grad_y.data();
  t.grad_x = out.grad_x.data();
  t.grad_offset = out.grad_offset.data();
  t.grad_mask = p.mask ? out.grad_mask.data() : nullptr;
  t.grad_weight = out.grad_weight.data();
  t.grad_bias = out.grad_bias.data();
  cpu::dcn_backward<cpu::F64>(p, config, t, CpuContext{pool}, nullptr);
  return out;
}

// d loss / d values[i] by central differences, loss = sum(y * grad_y).
std::vector<double> finite_difference(const Problem& p, const CpuConfig& config, ReferenceInputs in,
                                      std::vector<double> ReferenceInputs::*tensor, const std::vector<double>& grad_y) {
  // The loss is linear in x, mask, weight and bias, and linear along each coordinate axis inside one
  // bilinear cell, so the central difference has no truncation error; h only has to keep both probes
  // inside the cell (offsets are >= 0.1 from a cell border) and large enough that rounding of the loss
  // (~1e-16 relative) stays far below the tolerance.
  const double h = 1e-6;
  auto loss = [&] {
    const std::vector<double> y = forward_double(p, config, in);
    return std::inner_product(y.begin(), y.end(), grad_y.begin(), 0.0);
  };
  std::vector<double>& values = in.*tensor;
  std::vector<double> grad(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double keep = values[i];
    values[i] = keep + h;
    const double up = loss();
    values[i] = keep - h;
    const double down = loss();
    values[i] = keep;
    grad[i] = (up - down) / (2 * h);
  }
  return grad;
}

struct GradcheckCase {
  const char* name;
  const char* problem;
  int pixel_tile;
};
void PrintTo(const GradcheckCase& c, std::ostream* os) { *os << c.name; }

class DcnCpuDoubleGradcheckTest : public ::testing::TestWithParam<GradcheckCase> {};

// Sample points are kept >= 0.1 away from every cell border (integer coordinates) by construction:
// there the bilinear interpolant has a kink, the derivative is one-sided by convention, and a central
// difference would straddle two cells. The borders are tested separately below.
TEST_P(DcnCpuDoubleGradcheckTest, AllFiveGradientsMatchCentralDifferences) {
  const Problem p = Problem::parse(GetParam().problem);
  const CpuConfig config = f64_config(GetParam().pixel_tile);
  const ReferenceInputs in = random_inputs(p, 7, OffsetStyle::away_from_cell_borders);
  const std::vector<double> grad_y = random_values(output_size(p), 8, -1, 1);
  const ReferenceOutputs analytic = backward_double(p, config, in, grad_y);
  // Rounding only (see finite_difference): 1e-16 * |loss| / h ~ 1e-9 absolute per entry.
  constexpr double kTolerance = 1e-7;
  EXPECT_LE(relative_l2(analytic.grad_x, finite_difference(p, config, in, &ReferenceInputs::x, grad_y)), kTolerance);
  EXPECT_LE(relative_l2(analytic.grad_offset, finite_difference(p, config, in, &ReferenceInputs::offset, grad_y)),
            kTolerance);
  EXPECT_LE(relative_l2(analytic.grad_weight, finite_difference(p, config, in, &ReferenceInputs::weight, grad_y)),
            kTolerance);
  if (p.mask) {
    EXPECT_LE(relative_l2(analytic.grad_mask, finite_difference(p, config, in, &ReferenceInputs::mask, grad_y)),
              kTolerance);
  }
  if (p.bias) {
    EXPECT_LE(relative_l2(analytic.grad_bias, finite_difference(p, config, in, &ReferenceInputs::bias, grad_y)),
              kTolerance);
  }
}

const GradcheckCase kGradcheckCases[] = {
    {"V2MaskGroups2OffsetGroups2Kernel3x2Stride1x2Dilation2x1",
     "N2 C4 H5 W6 Co4 k3x2 s1x2 p1x1 d2x1 g2 og2 mask bias v2", 0},
    {"V1NoMaskKernel2x2Pad0x1PixelTile5", "N1 C3 H6 W5 Co2 k2x2 s1x1 p0x1 d1x1 g1 og1 nomask bias v1", 5},
    {"V1MaskStride2", "N2 C2 H7 W6 Co3 k3x3 s2x2 p1x1 d1x1 g1 og1 mask bias v1", 0},
    {"V2TwoChannelBlocksMask", "N1 C36 H3 W4 Co2 k2x2 s1x1 p1x0 d1x1 g1 og1 mask nobias v2", 0},
};

INSTANTIATE_TEST_SUITE_P(Problems, DcnCpuDoubleGradcheckTest, ::testing::ValuesIn(kGradcheckCases),
                         [](const auto& info) { return std::string(info.param.name); });

// One 2x2 input plane [[3, 5], [7, 11]], a 1x1 kernel of weight 2, pad 1, zero offsets and grad_y = 1:
// the 4x4 output samples the points (ho - 1, wo - 1), so every sample lies exactly on grid lines.
struct BorderCase {
  ReferenceInputs in{{3, 5, 7, 11}, std::vector<double>(2 * 16, 0.0), {}, {2}, {}};
  std::vector<double> grad_y = std::vector<double>(16, 1.0);
  Problem problem(Boundary boundary) const {
    Problem p = Problem::parse("N1 C1 H2 W2 Co1 k1x1 s1x1 p1x1 d1x1 g1 og1 nomask nobias");
    p.boundary = boundary;
    return p;
  }
  static double dy(const ReferenceOutputs& out, int ho, int wo) { return out.grad_offset[ho * 4 + wo]; }
  static double dx(const ReferenceOutputs& out, int ho, int wo) { return out.grad_offset[16 + ho * 4 + wo]; }
};

// torchvision's convention: the derivative of the zero-padded interpolant on [floor(p), floor(p) + 1].
TEST(DcnCpuExactBorderTest, V2ZeroOffsetsPad1FollowTorchvisionConvention) {
  const BorderCase c;
  const Problem p = c.problem(Boundary::v2);
  const ReferenceOutputs g = backward_double(p, f64_config(), c.in, c.grad_y);
  const std::vector<double> y = forward_double(p, f64_config(), c.in);
  // (py, px) = (-1, 0): value 0, but d/dpy sees row 0 through the cell [-1, 0]: 2 * x[0][0] = 6.
  EXPECT_DOUBLE_EQ(y[1], 0.0);
  EXPECT_DOUBLE_EQ(BorderCase::dy(g, 0, 1), 6.0);
  EXPECT_DOUBLE_EQ(BorderCase::dx(g, 0, 1), 0.0);  // the rows of that cell that move with px are row -1 (zero)
  // (0, 0): forward differences 2 * (7 - 3) and 2 * (5 - 3).
  EXPECT_DOUBLE_EQ(y[5], 6.0);
  EXPECT_DOUBLE_EQ(BorderCase::dy(g, 1, 1), 8.0);
  EXPECT_DOUBLE_EQ(BorderCase::dx(g, 1, 1), 4.0);
  // (1, 1), the last pixel: its cell [1, 2] x [1, 2] fades to the zero padding: 2 * (0 - 11).
  EXPECT_DOUBLE_EQ(y[10], 22.0);
  EXPECT_DOUBLE_EQ(BorderCase::dy(g, 2, 2), -22.0);
  EXPECT_DOUBLE_EQ(BorderCase::dx(g, 2, 2), -22.0);
  // (2, 2) == (H, W): outside, no value and no gradient.
  EXPECT_DOUBLE_EQ(BorderCase::dy(g, 3, 3), 0.0);
  EXPECT_DOUBLE_EQ(BorderCase::dx(g, 3, 3), 0.0);
  // grad_x: every in-image sample sits on one pixel with weight 1: 2 per sample, one sample per pixel.
  EXPECT_EQ(g.grad_x, (std::vector<double>{2, 2, 2, 2}));
}

// MXNet DCNv1: nothing for a point at -1, the last row/column repeated with a zero derivative.
TEST(DcnCpuExactBorderTest, V1ZeroOffsetsPad1ClampLastRowAndColumn) {
  const BorderCase c;
  const Problem p = c.problem(Boundary::v1);
  const ReferenceOutputs g = backward_double(p, f64_config(), c.in, c.grad_y);
  EXPECT_DOUBLE_EQ(BorderCase::dy(g, 0, 1), 0.0);  // py = -1 < 0: outside in v1
  EXPECT_DOUBLE_EQ(BorderCase::dy(g, 1, 1), 8.0);
  EXPECT_DOUBLE_EQ(BorderCase::dx(g, 1, 1), 4.0);
  EXPECT_DOUBLE_EQ(BorderCase::dy(g, 2, 2), 0.0);  // py = H - 1: clamped axis
  EXPECT_DOUBLE_EQ(BorderCase::dx(g, 2, 2), 0.0);
  EXPECT_DOUBLE_EQ(BorderCase::dy(g, 1, 2), 2.0 * (11 - 5));  // py = 0 free, px = W - 1 clamped
  EXPECT_DOUBLE_EQ(BorderCase::dx(g, 1, 2), 0.0);
}

// Grid-point samples on random problems: the float backend against the reference's own (independent)
// implementation of the same convention. Tolerance as for random offsets (f32, 1e-5).
TEST(DcnCpuExactBorderTest, ZeroAndIntegerOffsetsMatchReferenceBothBoundaries) {
  for (const char* text : {"N2 C4 H5 W6 Co3 k3x3 s1x1 p1x1 d1x1 g1 og2 mask bias v2",
                           "N2 C4 H5 W6 Co3 k3x3 s1x1 p1x1 d1x1 g1 og2 mask bias v1",
                           "N1 C6 H4 W7 Co2 k3x2 s2x1 p1x1 d1x2 g2 og1 nomask nobias v2"}) {
    for (OffsetStyle style : {OffsetStyle::zero, OffsetStyle::integer}) {
      const Problem p = Problem::parse(text);
      SCOPED_TRACE(p.to_string() + (style == OffsetStyle::zero ? " zero offsets" : " integer offsets"));
      const ReferenceInputs in = rounded_to(random_inputs(p, 21, style), DType::f32);
      const std::vector<double> grad_y = rounded_to(random_values(output_size(p), 22, -1, 1), DType::f32);
      const ReferenceOutputs expected = reference_dcn(p, in, grad_y);
      const ReferenceOutputs actual = run_cpu_backend(p, in, grad_y, BackendRunOptions{});
      EXPECT_LE(relative_l2(actual.y, expected.y), 1e-5);
      EXPECT_LE(relative_l2(actual.grad_x, expected.grad_x), 1e-5);
      EXPECT_LE(relative_l2(actual.grad_offset, expected.grad_offset), 1e-5);
      EXPECT_LE(relative_l2(actual.grad_mask, expected.grad_mask), 1e-5);
      EXPECT_LE(relative_l2(actual.grad_weight, expected.grad_weight), 1e-5);
    }
  }
}

}  // namespace
}  // namespace dcnjit::testing
