#include "tests/support/problems.h"

#include <cmath>
#include <cstring>
#include <random>

#include "core/problem_tensors.h"
#include "runtime/backend.h"

namespace dcnjit::test {

const std::vector<TestProblem>& test_problems() {
  static const std::vector<TestProblem> problems = {
      // DCNv2 as in the ResNet layers: 3x3, pad 1, mask and bias.
      {"dcnv2_mask_bias", "N3 C8 H9 W11 Co6 k3x3 s1x1 p1x1 d1x1 g1 og1 mask bias v2", 2},
      // DCNv1's border, two conv groups and two offset groups, stride and dilation 2.
      {"v1_groups2_og2_stride2_dil2", "N5 C8 H12 W10 Co4 k3x3 s2x2 p2x2 d2x2 g2 og2 nomask bias v1", 3},
      // A 1x3 kernel, three groups of both kinds, per-axis stride and padding.
      {"k1x3_groups3_og3", "N4 C6 H10 W6 Co9 k1x3 s1x2 p0x1 d1x1 g3 og3 mask nobias v2", 3},
      // Offset groups that span conv groups' boundaries differently: og=4 with g=2, per-axis dilation.
      {"og4_groups2_dil1x2", "N3 C8 H7 W9 Co6 k3x3 s1x1 p1x2 d1x2 g2 og4 mask bias v2", 2},
  };
  return problems;
}

Problem problem_of(const TestProblem& p, DType dtype, Layout layout) {
  Problem problem = Problem::parse(p.text);
  problem.dtype = dtype;
  problem.layout = layout;
  return problem;
}

std::string test_instance_name(const TestProblem& p, DType dtype, Layout layout) {
  return p.name + "_" + to_string(dtype) + "_" + to_string(layout);
}

namespace {

io::HostArray random_array(const Problem& problem, TensorRole role, float low, float high, std::mt19937& rng) {
  io::HostArray array;
  array.shape = tensor_shape(problem, role).memory_shape();
  std::uniform_real_distribution<float> dist(low, high);
  array.data.resize(std::size_t(array.numel()));
  for (float& v : array.data) v = dist(rng);
  return array;
}

// Element i of an NCHW array [n, c, h, w] stored channels-last: the permutation of one array.
io::HostArray permuted(const io::HostArray& array, bool to_channels_last) {
  if (array.shape.size() != 4) return array;
  io::HostArray out;
  const auto& s = array.shape;
  // Logical dims (NCHW) of the source.
  const int64_t N = s[0], C = to_channels_last ? s[1] : s[3], H = to_channels_last ? s[2] : s[1],
                W = to_channels_last ? s[3] : s[2];
  out.shape = to_channels_last ? std::vector<int64_t>{N, H, W, C} : std::vector<int64_t>{N, C, H, W};
  out.data.resize(array.data.size());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w) {
          const int64_t nchw = ((n * C + c) * H + h) * W + w, nhwc = ((n * H + h) * W + w) * C + c;
          if (to_channels_last) out.data[std::size_t(nhwc)] = array.data[std::size_t(nchw)];
          else out.data[std::size_t(nchw)] = array.data[std::size_t(nhwc)];
        }
  return out;
}

void permute_in_place(std::optional<io::HostArray>& array, bool to_channels_last) {
  if (array) *array = permuted(*array, to_channels_last);
}

}  // namespace

io::ProblemArrays random_arrays(const Problem& problem, uint32_t seed) {
  std::mt19937 rng(seed);
  io::ProblemArrays a;
  a.problem = problem;
  a.x = random_array(problem, TensorRole::x, -1, 1, rng);
  a.offset = random_array(problem, TensorRole::offset, -1, 1, rng);
  for (std::size_t i = 0; i < a.offset.data.size(); ++i) {
    float& v = a.offset.data[i];
    if (i % 7 == 0) v = std::round(v * 2.0f);  // integer: exactly on a cell border
    else if (i % 11 == 0) v *= 6.0f;           // often outside the image
    else v *= 1.5f;
  }
  if (!a.offset.data.empty()) a.offset.data[a.offset.data.size() / 2] = std::nanf("");
  if (problem.mask) a.mask = random_array(problem, TensorRole::mask, 0, 1, rng);
  a.weight = random_array(problem, TensorRole::weight, -1, 1, rng);
  if (problem.bias) a.bias = random_array(problem, TensorRole::bias, -1, 1, rng);
  a.grad_y = random_array(problem, TensorRole::y, -1, 1, rng);
  return a;
}

io::ProblemArrays in_layout(const io::ProblemArrays& arrays, Layout layout) {
  if (arrays.problem.layout == layout) return arrays;
  const bool to_channels_last = layout == Layout::nhwc;
  io::ProblemArrays out = arrays;
  out.problem.layout = layout;
  out.x = permuted(arrays.x, to_channels_last);
  out.offset = permuted(arrays.offset, to_channels_last);
  permute_in_place(out.mask, to_channels_last);
  permute_in_place(out.grad_y, to_channels_last);
  return out;
}

io::ProblemResults to_nchw(const io::ProblemResults& results, const Problem& problem) {
  if (problem.layout == Layout::nchw) return results;
  io::ProblemResults out = results;
  out.y = permuted(results.y, false);
  permute_in_place(out.grad_x, false);
  permute_in_place(out.grad_offset, false);
  permute_in_place(out.grad_mask, false);
  return out;
}

io::ProblemResults run_both_passes(Engine& engine, const io::ProblemArrays& arrays, const Config* config) {
  io::DeviceProblem device_problem(engine, arrays, /*backward=*/true);
  const Plan plan = config ? engine.plan(arrays.problem, *config) : engine.plan(arrays.problem);
  plan.forward(device_problem.forward_args());
  plan.backward(device_problem.backward_args());
  return device_problem.download();
}

io::ProblemResults run_both_passes(const std::shared_ptr<detail::BackendImpl>& backend,
                                   const io::ProblemArrays& arrays, const std::string& config) {
  const Problem& problem = arrays.problem;
  io::DeviceProblem device(arrays, /*backward=*/true, [&](std::size_t bytes) { return DeviceBuffer(backend, bytes); });
  const Plan plan(problem, backend->resolve(problem, Config::parse(config)), backend);
  plan.forward(device.forward_args());
  plan.backward(device.backward_args());
  return to_nchw(device.download(), problem);
}

::testing::AssertionResult same_bits(const char* name, const std::optional<io::HostArray>& a,
                                     const std::optional<io::HostArray>& b) {
  if (a.has_value() != b.has_value()) return ::testing::AssertionFailure() << name << ": present in one run only";
  if (!a) return ::testing::AssertionSuccess();
  if (a->data.size() != b->data.size()) return ::testing::AssertionFailure() << name << ": sizes differ";
  for (std::size_t i = 0; i < a->data.size(); ++i)
    if (std::memcmp(&a->data[i], &b->data[i], sizeof(float)) != 0)
      return ::testing::AssertionFailure() << name << "[" << i << "]: " << a->data[i] << " vs " << b->data[i];
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult all_same_bits(const io::ProblemResults& a, const io::ProblemResults& b,
                                         bool except_grad_x) {
  const std::optional<io::HostArray> ya = a.y, yb = b.y;
  for (auto result : {same_bits("y", ya, yb),
                      except_grad_x ? ::testing::AssertionSuccess() : same_bits("grad_x", a.grad_x, b.grad_x),
                      same_bits("grad_offset", a.grad_offset, b.grad_offset),
                      same_bits("grad_mask", a.grad_mask, b.grad_mask),
                      same_bits("grad_weight", a.grad_weight, b.grad_weight),
                      same_bits("grad_bias", a.grad_bias, b.grad_bias)})
    if (!result) return result;
  return ::testing::AssertionSuccess();
}

double tolerance_against_cpu(DType dtype) {
  switch (dtype) {
    case DType::f32: return 1e-5;
    case DType::f16: return 4e-3;
    case DType::bf16: return 2e-2;
    case DType::f64: return 1e-6;
  }
  return 0;
}

}  // namespace dcnjit::test
