#include "tests/runtime/cpu/test_support.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "dcnjit/engine.h"
#include "runtime/backend.h"
#include "core/half.h"

namespace dcnjit::testing {

std::vector<double> random_values(std::size_t count, uint32_t seed, double low, double high) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(low, high);
  std::vector<double> v(count);
  for (double& e : v) e = dist(rng);
  return v;
}

std::size_t output_size(const Problem& p) { return std::size_t(p.N * p.Co * p.Ho() * p.Wo()); }

ReferenceInputs random_inputs(const Problem& p, uint32_t seed, OffsetStyle style) {
  const std::size_t pixels = std::size_t(p.Ho() * p.Wo());
  const std::size_t offsets = std::size_t(p.N * 2 * p.offset_groups * p.taps()) * pixels;
  ReferenceInputs in;
  in.x = random_values(std::size_t(p.N * p.C * p.H * p.W), seed, -1, 1);
  in.weight = random_values(std::size_t(p.Co * (p.C / p.groups) * p.taps()), seed + 1, -1, 1);
  if (p.mask) in.mask = random_values(std::size_t(p.N * p.offset_groups * p.taps()) * pixels, seed + 2, 0, 1);
  if (p.bias) in.bias = random_values(std::size_t(p.Co), seed + 3, -1, 1);
  std::mt19937 rng(seed + 4);
  in.offset.resize(offsets);
  for (double& o : in.offset) {
    switch (style) {
      case OffsetStyle::anywhere:
        o = std::uniform_real_distribution<double>(-3, 3)(rng);
        break;
      case OffsetStyle::away_from_cell_borders:
        o = double(std::uniform_int_distribution<int>(-2, 2)(rng)) +
            std::uniform_real_distribution<double>(0.1, 0.9)(rng);
        break;
      case OffsetStyle::zero:
        o = 0;
        break;
      case OffsetStyle::integer:
        o = double(std::uniform_int_distribution<int>(-2, 2)(rng));
        break;
    }
  }
  return in;
}

double relative_l2(const std::vector<double>& actual, const std::vector<double>& expected) {
  EXPECT_EQ(actual.size(), expected.size());
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < std::min(actual.size(), expected.size()); ++i) {
    diff += (actual[i] - expected[i]) * (actual[i] - expected[i]);
    norm += expected[i] * expected[i];
  }
  return norm > 0 ? std::sqrt(diff / norm) : std::sqrt(diff);
}

namespace {

double round_one(double v, DType dtype) {
  switch (dtype) {
    case DType::f32:
      return double(float(v));
    case DType::f16:
      return double(half_to_float(float_to_half(float(v))));
    case DType::bf16:
      return double(bf16_to_float(float_to_bf16(float(v))));
    case DType::f64:
      return v;
  }
  return v;
}

// A tensor of `dtype` in host memory, filled from doubles and read back as doubles.
class HostTensor {
 public:
  HostTensor(DType dtype, std::size_t count) : dtype_(dtype), bytes_(count * dtype_size(dtype)) {}
  HostTensor(DType dtype, const std::vector<double>& values) : HostTensor(dtype, values.size()) {
    for (std::size_t i = 0; i < values.size(); ++i) {
      const float f = float(values[i]);
      if (dtype_ == DType::f64)
        set<double>(i, values[i]);
      else if (dtype_ == DType::f32)
        set<float>(i, f);
      else
        set<uint16_t>(i, dtype_ == DType::f16 ? float_to_half(f) : float_to_bf16(f));
    }
  }
  std::vector<double> values() const {
    std::vector<double> v(bytes_.size() / dtype_size(dtype_));
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (dtype_ == DType::f64)
        v[i] = get<double>(i);
      else if (dtype_ == DType::f32)
        v[i] = get<float>(i);
      else if (dtype_ == DType::f16)
        v[i] = half_to_float(get<uint16_t>(i));
      else
        v[i] = bf16_to_float(get<uint16_t>(i));
    }
    return v;
  }
  TensorRef ref(std::initializer_list<int64_t> shape) {
    return TensorRef::contiguous(bytes_.data(), dtype_, Device::cpu, shape);
  }

 private:
  template <typename E>
  void set(std::size_t i, E e) {
    std::memcpy(bytes_.data() + i * sizeof(E), &e, sizeof(E));
  }
  template <typename E>
  E get(std::size_t i) const {
    E e;
    std::memcpy(&e, bytes_.data() + i * sizeof(E), sizeof(E));
    return e;
  }
  DType dtype_;
  std::vector<unsigned char> bytes_;
};

}  // namespace

std::vector<double> rounded_to(const std::vector<double>& values, DType dtype) {
  std::vector<double> r(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) r[i] = round_one(values[i], dtype);
  return r;
}

ReferenceInputs rounded_to(const ReferenceInputs& in, DType dtype) {
  return {rounded_to(in.x, dtype), rounded_to(in.offset, dtype), rounded_to(in.mask, dtype),
          rounded_to(in.weight, dtype), rounded_to(in.bias, dtype)};
}

ReferenceOutputs run_cpu_backend(const Problem& p, const ReferenceInputs& in, const std::vector<double>& grad_y,
                                 const BackendRunOptions& options) {
  EngineOptions engine_options;
  engine_options.threads = options.threads;
  auto backend = detail::make_cpu_backend(engine_options);
  const DType dt = p.dtype;
  const int64_t N = p.N, C = p.C, H = p.H, W = p.W, Co = p.Co, Ho = p.Ho(), Wo = p.Wo();
  const int64_t taps = p.taps(), og = p.offset_groups;
  HostTensor x(dt, in.x), offset(dt, in.offset), mask(dt, in.mask), weight(dt, in.weight), bias(dt, in.bias);
  HostTensor y(dt, output_size(p));
  ForwardArgs f;
  f.x = x.ref({N, C, H, W});
  f.offset = offset.ref({N, 2 * og * taps, Ho, Wo});
  if (p.mask) f.mask = mask.ref({N, og * taps, Ho, Wo});
  f.weight = weight.ref({Co, C / p.groups, p.kh, p.kw});
  if (p.bias) f.bias = bias.ref({Co});
  f.y = y.ref({N, Co, Ho, Wo});
  backend->forward(p, backend->resolve(p, options.config), f);
  ReferenceOutputs out;
  out.y = y.values();
  if (!options.backward) return out;

  HostTensor gy(dt, grad_y), gx(dt, in.x.size()), goff(dt, in.offset.size()), gmask(dt, in.mask.size()),
      gw(dt, in.weight.size()), gb(dt, std::size_t(Co));
  BackwardArgs b;
  b.x = f.x;
  b.offset = f.offset;
  b.mask = f.mask;
  b.weight = f.weight;
  b.grad_y = gy.ref({N, Co, Ho, Wo});
  b.grad_x = gx.ref({N, C, H, W});
  b.grad_offset = goff.ref({N, 2 * og * taps, Ho, Wo});
  if (p.mask) b.grad_mask = gmask.ref({N, og * taps, Ho, Wo});
  b.grad_weight = gw.ref({Co, C / p.groups, p.kh, p.kw});
  b.grad_bias = gb.ref({Co});
  backend->backward(p, backend->resolve(p, options.config), b);
  out.grad_x = gx.values();
  out.grad_offset = goff.values();
  if (p.mask) out.grad_mask = gmask.values();
  out.grad_weight = gw.values();
  out.grad_bias = gb.values();
  return out;
}

}  // namespace dcnjit::testing
