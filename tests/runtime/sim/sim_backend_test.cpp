// The sim backend end to end: every generated kernel family (im2col, col2im, coord, col2im_coord,
// bias_grad, and for f16 reduce + cast), over a sample of each problem's config space, on random
// problems, compared with the cpu backend (the oracle, itself checked against torchvision) under two
// thread orders. Problems are tiny: the cost is the host compiles (~1-3 s each, cached per process
// and on disk), so configs are sampled, not enumerated.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "dcnjit/dcnjit.h"
#include "generator/config_space.h"
#include "runtime/backend.h"
#include "runtime/half.h"
#include "runtime/sim/sim_backend.h"

namespace dcnjit::sim {
namespace {

// f32: both backends compute the same sums of f32 products (each output a sum of at most
// C/groups*kh*kw = 36 terms, grad_weight of N*Ho*Wo <= 60) in different orders (blocked GEMMs,
// atomics in any order); the worst-case reordering error is ~terms * 6e-8 = 4e-6, typical errors
// sqrt(terms) * 6e-8 ~ 4e-7. 1e-5 (the bound) passes that and fails any wrong tap, corner,
// mask or scatter, which changes whole terms (>= 1e-2 relative at these sizes).
constexpr double kF32Tolerance = 1e-5;
// f16: each backend rounds its outputs (and the f32 column/accumulator results it stores as f16)
// to f16, unit roundoff 4.9e-4; two independent roundings of the same value differ by <= 1 ulp.
// 4e-3 allows a few ulps of accumulated intermediate rounding and still fails a wrong term.
constexpr double kF16Tolerance = 4e-3;

struct Tensors {
  std::vector<float> x, offset, mask, weight, bias, grad_y;
};

// Offsets mix integers (exact cell borders), fractions, points outside the image and a NaN, so the
// border rules and the robustness contract are part of every comparison.
Tensors random_tensors(const Problem& p, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  Tensors t;
  auto fill = [&](std::vector<float>& v, int64_t n) {
    v.resize(std::size_t(n));
    for (float& e : v) e = unit(rng);
  };
  const int og = p.offset_groups, taps = p.taps();
  fill(t.x, p.N * p.C * p.H * p.W);
  fill(t.offset, p.N * 2 * og * taps * p.Ho() * p.Wo());
  for (std::size_t i = 0; i < t.offset.size(); ++i) {
    if (i % 7 == 0) t.offset[i] = std::round(t.offset[i] * 2.0f);  // integer: exactly on a cell border
    else if (i % 11 == 0) t.offset[i] *= 6.0f;                      // often outside the image
    else t.offset[i] *= 1.5f;
  }
  if (!t.offset.empty()) t.offset[t.offset.size() / 2] = std::nanf("");
  if (p.mask) fill(t.mask, p.N * og * taps * p.Ho() * p.Wo());
  fill(t.weight, p.Co * (p.C / p.groups) * taps);
  if (p.bias) fill(t.bias, p.Co);
  fill(t.grad_y, p.N * p.Co * p.Ho() * p.Wo());
  return t;
}

// A tensor of `dtype` holding `values` (converted), owned here.
struct Buffer {
  std::vector<float> f32;
  std::vector<uint16_t> half;
  DType dtype;
  Buffer(const std::vector<float>& values, DType type) : dtype(type) {
    if (dtype == DType::f32) {
      f32 = values;
    } else {
      for (float v : values) half.push_back(dtype == DType::f16 ? float_to_half(v) : float_to_bf16(v));
    }
  }
  void* data() { return dtype == DType::f32 ? static_cast<void*>(f32.data()) : static_cast<void*>(half.data()); }
  std::size_t size() const { return dtype == DType::f32 ? f32.size() : half.size(); }
  std::vector<float> as_float() const {
    if (dtype == DType::f32) return f32;
    std::vector<float> out;
    for (uint16_t h : half) out.push_back(dtype == DType::f16 ? half_to_float(h) : bf16_to_float(h));
    return out;
  }
  TensorRef ref(std::initializer_list<int64_t> shape) {
    return size() ? TensorRef::contiguous(data(), dtype, Device::cpu, shape) : TensorRef{};
  }
};

struct Results {
  std::vector<float> y, grad_x, grad_offset, grad_mask, grad_weight, grad_bias;
};

Results run(const Plan& plan, const Tensors& t) {
  const Problem& p = plan.problem();
  const DType d = p.dtype;
  const int og = p.offset_groups, taps = p.taps();
  const int64_t Ho = p.Ho(), Wo = p.Wo();
  Buffer x(t.x, d), offset(t.offset, d), mask(t.mask, d), weight(t.weight, d), bias(t.bias, d), grad_y(t.grad_y, d);
  Buffer y(std::vector<float>(t.grad_y.size(), 0.0f), d), grad_x(std::vector<float>(t.x.size(), 0.0f), d),
      grad_offset(std::vector<float>(t.offset.size(), 0.0f), d), grad_mask(std::vector<float>(t.mask.size(), 0.0f), d),
      grad_weight(std::vector<float>(t.weight.size(), 0.0f), d), grad_bias(std::vector<float>(std::size_t(p.Co), 0.0f), d);

  ForwardArgs forward;
  forward.x = x.ref({p.N, p.C, p.H, p.W});
  forward.offset = offset.ref({p.N, 2 * og * taps, Ho, Wo});
  forward.mask = mask.ref({p.N, og * taps, Ho, Wo});
  forward.weight = weight.ref({p.Co, p.C / p.groups, p.kh, p.kw});
  forward.bias = bias.ref({p.Co});
  forward.y = y.ref({p.N, p.Co, Ho, Wo});
  plan.forward(forward);

  BackwardArgs backward;
  backward.x = forward.x;
  backward.offset = forward.offset;
  backward.mask = forward.mask;
  backward.weight = forward.weight;
  backward.grad_y = grad_y.ref({p.N, p.Co, Ho, Wo});
  backward.grad_x = grad_x.ref({p.N, p.C, p.H, p.W});
  backward.grad_offset = grad_offset.ref({p.N, 2 * og * taps, Ho, Wo});
  backward.grad_mask = grad_mask.ref({p.N, og * taps, Ho, Wo});
  backward.grad_weight = grad_weight.ref({p.Co, p.C / p.groups, p.kh, p.kw});
  backward.grad_bias = grad_bias.ref({p.Co});
  plan.backward(backward);
  return {y.as_float(), grad_x.as_float(), grad_offset.as_float(), grad_mask.as_float(), grad_weight.as_float(),
          grad_bias.as_float()};
}

double relative_l2(const std::vector<float>& actual, const std::vector<float>& expected) {
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const double d = double(actual[i]) - double(expected[i]);
    diff += d * d;
    norm += double(expected[i]) * double(expected[i]);
  }
  return norm > 0 ? std::sqrt(diff / norm) : std::sqrt(diff);
}

void expect_close(const Results& sim, const Results& cpu, double tolerance, const std::string& what) {
  const std::pair<const char*, std::pair<const std::vector<float>*, const std::vector<float>*>> arrays[] = {
      {"y", {&sim.y, &cpu.y}},
      {"grad_x", {&sim.grad_x, &cpu.grad_x}},
      {"grad_offset", {&sim.grad_offset, &cpu.grad_offset}},
      {"grad_mask", {&sim.grad_mask, &cpu.grad_mask}},
      {"grad_weight", {&sim.grad_weight, &cpu.grad_weight}},
      {"grad_bias", {&sim.grad_bias, &cpu.grad_bias}}};
  for (const auto& [name, pair] : arrays) {
    ASSERT_EQ(pair.first->size(), pair.second->size()) << name;
    for (float v : *pair.first) ASSERT_TRUE(std::isfinite(v)) << name << " has a non-finite value; " << what;
    EXPECT_LE(relative_l2(*pair.first, *pair.second), tolerance) << name << ": " << what;
  }
}

// Up to `count` configs spread over the enumeration (first and last always included).
std::vector<Config> sample_configs(const Problem& problem, gen::Pass pass, std::size_t count) {
  const std::vector<Config> all = gen::enumerate_configs(problem, pass);
  if (all.size() <= count) return all;
  std::vector<Config> out;
  for (std::size_t i = 0; i < count; ++i) out.push_back(all[i * (all.size() - 1) / (count - 1)]);
  return out;
}

std::shared_ptr<detail::BackendImpl> sim_backend(ThreadOrder order) {
  EngineOptions options;
  options.backend = Backend::sim;
  options.threads = 2;
  return detail::make_sim_backend(options, SimOptions{.threads = 2, .order = order});
}

struct ProblemCase {
  const char* text;
  uint32_t seed;
};

class SimMatchesCpu : public ::testing::TestWithParam<ProblemCase> {};

TEST_P(SimMatchesCpu, ForwardAndAllGradientsOverSampledConfigsAndTwoThreadOrders) {
  const Problem problem = Problem::parse(GetParam().text);
  std::shared_ptr<detail::BackendImpl> in_order, shuffled;
  try {
    in_order = sim_backend(ThreadOrder::in_order());
    shuffled = sim_backend(ThreadOrder::random(20240601));
  } catch (const Error& e) {
    if (e.code() == ErrorCode::Unsupported) GTEST_SKIP() << e.what();
    throw;
  }
  const Tensors tensors = random_tensors(problem, GetParam().seed);
  EngineOptions cpu_options;
  cpu_options.backend = Backend::cpu;
  cpu_options.threads = 2;
  Engine cpu(cpu_options);
  const Results expected = run(cpu.plan(problem), tensors);
  const double tolerance = problem.dtype == DType::f32 ? kF32Tolerance : kF16Tolerance;

  // Forward and backward configs come from one enumeration (backward's is the larger: it adds the
  // fused/split and atomic axes); each sampled config runs both passes.
  for (const Config& config : sample_configs(problem, gen::Pass::backward, 3)) {
    for (const auto& backend : {in_order, shuffled}) {
      backend->validate_config(problem, config);
      const Plan plan(problem, config, backend);
      expect_close(run(plan, tensors), expected, tolerance,
                   problem.to_string() + " config " + config.to_string() + " order " +
                       (backend == in_order ? "in_order" : "random"));
    }
  }
}

// Each case names what it adds; together they reach every kernel family and both boundary modes.
INSTANTIATE_TEST_SUITE_P(
    RandomProblems, SimMatchesCpu,
    ::testing::Values(ProblemCase{"N2 C4 H5 W6 Co3 k3x3 s1x1 p1x1 d1x1 g1 og1 mask bias v2 f32", 1},    // DCNv2 baseline
                      ProblemCase{"N3 C4 H7 W5 Co4 k3x3 s2x1 p1x0 d1x2 g2 og2 nomask bias v1 f32", 2},  // v1, groups, og, strides
                      ProblemCase{"N1 C6 H6 W6 Co2 k1x3 s1x1 p0x1 d1x1 g1 og3 mask nobias v2 f32", 3},  // 1x3 kernel, og=3
                      ProblemCase{"N2 C4 H5 W5 Co2 k3x3 s1x1 p1x1 d1x1 g1 og1 mask bias v2 f16", 4}),   // reduce + cast
    [](const ::testing::TestParamInfo<ProblemCase>& info) {
      std::string name = info.param.text;
      for (char& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      return name;
    });

}  // namespace
}  // namespace dcnjit::sim
