#include "tools/profile/workload.h"

#include <fmt/format.h>

#include <cmath>
#include <random>

#include "tools/io/device_problem.h"

namespace dcnjit::profile {

const char* to_string(Pass pass) { return pass == Pass::forward ? "forward" : "backward"; }

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

Workload::Workload(const io::ProblemArrays& arrays, const Allocator& allocate) : problem_(arrays.problem) {
  if (!arrays.grad_y)
    throw Error(ErrorCode::InvalidArgument, "workload: grad_y is missing (call ensure_grad_y first)");
  const Problem& p = problem_;
  x_ = upload(arrays.x, allocate);
  offset_ = upload(arrays.offset, allocate);
  if (p.mask && arrays.mask) mask_ = upload(*arrays.mask, allocate);
  weight_ = upload(arrays.weight, allocate);
  if (p.bias && arrays.bias) bias_ = upload(*arrays.bias, allocate);
  grad_y_ = upload(*arrays.grad_y, allocate);
  y_ = zeros(y_shape(p), allocate);
  grad_x_ = zeros(arrays.x.shape, allocate);
  grad_offset_ = zeros(arrays.offset.shape, allocate);
  if (mask_.buffer.data()) grad_mask_ = zeros(arrays.mask->shape, allocate);
  grad_weight_ = zeros(arrays.weight.shape, allocate);
  if (bias_.buffer.data()) grad_bias_ = zeros(arrays.bias->shape, allocate);
}

Workload::Tensor Workload::upload(const io::HostArray& array, const Allocator& allocate) const {
  const auto bytes = io::encode(array.data, problem_.dtype);
  Tensor t{allocate(bytes.size()), array.shape};
  t.buffer.upload(bytes.data(), bytes.size());
  return t;
}

Workload::Tensor Workload::zeros(const std::vector<int64_t>& shape, const Allocator& allocate) const {
  return Tensor{allocate(static_cast<std::size_t>(numel(shape)) * dtype_size(problem_.dtype)), shape};
}

TensorRef Workload::ref(const Tensor& t) const {
  if (!t.buffer.data()) return {};  // absent: optional input or gradient not requested
  const auto& d = t.shape;          // bias is rank 1, every other tensor rank 4
  if (d.size() == 1) return t.buffer.tensor(problem_.dtype, {d[0]});
  if (d.size() != 4)
    throw Error(ErrorCode::InvalidArgument, fmt::format("workload: a tensor of rank {} (expected 1 or 4)", d.size()));
  return t.buffer.tensor(problem_.dtype, {d[0], d[1], d[2], d[3]});
}

ForwardArgs Workload::forward_args() const {
  ForwardArgs a;
  a.x = ref(x_);
  a.offset = ref(offset_);
  a.mask = ref(mask_);
  a.weight = ref(weight_);
  a.bias = ref(bias_);
  a.y = ref(y_);
  return a;
}

BackwardArgs Workload::backward_args() const {
  BackwardArgs a;
  a.x = ref(x_);
  a.offset = ref(offset_);
  a.mask = ref(mask_);
  a.weight = ref(weight_);
  a.grad_y = ref(grad_y_);
  a.grad_x = ref(grad_x_);
  a.grad_offset = ref(grad_offset_);
  a.grad_mask = ref(grad_mask_);
  a.grad_weight = ref(grad_weight_);
  a.grad_bias = ref(grad_bias_);
  return a;
}

std::vector<float> Workload::download_y() const {
  std::vector<std::byte> bytes(y_.buffer.size());
  y_.buffer.download(bytes.data(), bytes.size());
  return io::decode(bytes, problem_.dtype);
}

}  // namespace dcnjit::profile
