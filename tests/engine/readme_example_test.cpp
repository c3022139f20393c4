// The README's C++ example, compiled and run so the README cannot drift from the API.
// Keep the code between the markers identical to the README's.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "dcnjit/dcnjit.h"

namespace {

std::vector<float> random_values(std::size_t n, float lo, float hi, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

TEST(ReadmeExample, ForwardAndBackwardOnTheCpuBackend) {
  // --- README example begins
  using namespace dcnjit;
  Problem p = Problem::parse("N2 C16 H12 W10 Co8 k3x3 s1x1 p1x1 d1x1 g1 og1 mask nobias v2 f32");
  Engine engine({.backend = Backend::cpu, .tuning = TuningPolicy::off});
  Plan plan = engine.plan(p);

  const int64_t taps = p.kh * p.kw, Ho = p.Ho(), Wo = p.Wo();
  std::vector<float> x(p.N * p.C * p.H * p.W), offset(p.N * 2 * taps * Ho * Wo), mask(p.N * taps * Ho * Wo),
      weight(p.Co * p.C * taps), y(p.N * p.Co * Ho * Wo);
  // ... fill x, offset, mask, weight ...
  // --- README example pauses
  x = random_values(x.size(), -1, 1, 1);
  offset = random_values(offset.size(), -2, 2, 2);
  mask = random_values(mask.size(), 0, 1, 3);
  weight = random_values(weight.size(), -0.5, 0.5, 4);
  // --- README example resumes
  auto host = [](std::vector<float>& v, std::initializer_list<int64_t> shape) {
    return TensorRef::contiguous(v.data(), DType::f32, Device::cpu, shape);
  };
  ForwardArgs fwd{.x = host(x, {p.N, p.C, p.H, p.W}),
                  .offset = host(offset, {p.N, 2 * taps, Ho, Wo}),
                  .mask = host(mask, {p.N, taps, Ho, Wo}),
                  .weight = host(weight, {p.Co, p.C, p.kh, p.kw}),
                  .y = host(y, {p.N, p.Co, Ho, Wo})};
  plan.forward(fwd);

  // Backward computes any subset of the gradients: a TensorRef left empty is skipped.
  std::vector<float> grad_y(y.size(), 1.0f), grad_x(x.size()), grad_weight(weight.size());
  BackwardArgs bwd{.x = fwd.x, .offset = fwd.offset, .mask = fwd.mask, .weight = fwd.weight,
                   .grad_y = host(grad_y, {p.N, p.Co, Ho, Wo}),
                   .grad_x = host(grad_x, {p.N, p.C, p.H, p.W}),
                   .grad_weight = host(grad_weight, {p.Co, p.C, p.kh, p.kw})};
  plan.backward(bwd);
  // --- README example ends

  // With grad_y = 1, grad_bias would be N*Ho*Wo; here check that y and both gradients were written.
  double y_norm = 0, gx_norm = 0, gw_norm = 0;
  for (float v : y) y_norm += std::abs(v);
  for (float v : grad_x) gx_norm += std::abs(v);
  for (float v : grad_weight) gw_norm += std::abs(v);
  EXPECT_GT(y_norm, 0);
  EXPECT_GT(gx_norm, 0);
  EXPECT_GT(gw_norm, 0);
}

TEST(ReadmeExample, WrongTensorShapeIsAnErrorNamingTheTensor) {
  using namespace dcnjit;
  Problem p = Problem::parse("N1 C4 H6 W6 Co4 k3 p1");
  Engine engine({.backend = Backend::cpu});
  Plan plan = engine.plan(p);
  std::vector<float> buf(4096);
  auto t = [&](std::initializer_list<int64_t> s) { return TensorRef::contiguous(buf.data(), DType::f32, Device::cpu, s); };
  ForwardArgs args{.x = t({1, 4, 6, 6}), .offset = t({1, 17, 6, 6}), .weight = t({4, 4, 3, 3}), .y = t({1, 4, 6, 6})};
  try {
    plan.forward(args);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("offset: expected shape [1, 18, 6, 6]"), std::string::npos) << e.what();
  }
}

}  // namespace
