#include "tools/profile/workload.h"

#include <cmath>
#include <random>

#include "core/checked_size.h"
#include "core/host_memory.h"

namespace dcnjit::profile {

double gemm_flops(const Problem& problem, Pass pass) {
  return (pass == Pass::forward ? 2.0 : 4.0) * problem.forward_macs();
}

namespace {

// A host array of `name` with uniform random values; its size is checked (Problem::validate bounds it)
// and an allocation that fails names the tensor and its bytes.
io::HostArray uniform(const char* name, std::vector<int64_t> shape, float lo, float hi, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(lo, hi);
  io::HostArray array{std::move(shape), {}};
  const int64_t count = array.numel();
  detail::allocate_host(name, detail::checked_bytes(name, count, sizeof(float)),
                        [&] { array.data.resize(std::size_t(count)); });
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
  a.x = uniform("x", {p.N, p.C, p.H, p.W}, -1.0f, 1.0f, rng);
  a.offset = uniform("offset", {p.N, 2 * p.offset_groups * taps, p.Ho(), p.Wo()}, -2.0f, 2.0f, rng);
  if (p.mask) a.mask = uniform("mask", {p.N, p.offset_groups * taps, p.Ho(), p.Wo()}, 0.05f, 1.0f, rng);
  const float w = 1.0f / std::sqrt(float(p.C / p.groups * taps));
  a.weight = uniform("weight", {p.Co, p.C / p.groups, p.kh, p.kw}, -w, w, rng);
  if (p.bias) a.bias = uniform("bias", {p.Co}, -0.5f, 0.5f, rng);
  a.grad_y = uniform("grad_y", y_shape(p), -1.0f, 1.0f, rng);
  return a;
}

void ensure_grad_y(io::ProblemArrays& arrays, uint32_t seed) {
  if (arrays.grad_y) return;
  std::mt19937 rng(seed);
  arrays.grad_y = uniform("grad_y", y_shape(arrays.problem), -1.0f, 1.0f, rng);
}

}  // namespace dcnjit::profile
