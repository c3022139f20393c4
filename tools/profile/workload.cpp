#include "tools/profile/workload.h"

#include <cmath>
#include <random>

namespace dcnjit::profile {

double gemm_flops(const Problem& problem, Pass pass) {
  return (pass == Pass::forward ? 2.0 : 4.0) * problem.forward_macs();
}

namespace {

int64_t numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

io::HostArray uniform(std::vector<int64_t> shape, float lo, float hi, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(lo, hi);
  io::HostArray array{std::move(shape), {}};
  array.data.resize(static_cast<std::size_t>(numel(array.shape)));
  for (auto& e : array.data) e = dist(rng);
  return array;
}

std::vector<int64_t> y_shape(const Problem& p) { return {p.N, p.Co, p.Ho(), p.Wo()}; }

}  // namespace

io::ProblemArrays random_inputs(const Problem& p, uint32_t seed) {
  p.validate();
  std::mt19937 rng(seed);
  const int64_t taps = p.taps();
  io::ProblemArrays a;
  a.problem = p;
  a.x = uniform({p.N, p.C, p.H, p.W}, -1.0f, 1.0f, rng);
  a.offset = uniform({p.N, 2 * p.offset_groups * taps, p.Ho(), p.Wo()}, -2.0f, 2.0f, rng);
  if (p.mask) a.mask = uniform({p.N, p.offset_groups * taps, p.Ho(), p.Wo()}, 0.05f, 1.0f, rng);
  const float w = 1.0f / std::sqrt(float(p.C / p.groups * taps));
  a.weight = uniform({p.Co, p.C / p.groups, p.kh, p.kw}, -w, w, rng);
  if (p.bias) a.bias = uniform({p.Co}, -0.5f, 0.5f, rng);
  a.grad_y = uniform(y_shape(p), -1.0f, 1.0f, rng);
  return a;
}

void ensure_grad_y(io::ProblemArrays& arrays, uint32_t seed) {
  if (arrays.grad_y) return;
  std::mt19937 rng(seed);
  arrays.grad_y = uniform(y_shape(arrays.problem), -1.0f, 1.0f, rng);
}

}  // namespace dcnjit::profile
