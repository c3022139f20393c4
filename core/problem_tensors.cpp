#include "core/problem_tensors.h"

#include <fmt/format.h>

#include "dcnjit/error.h"

namespace dcnjit {

const char* to_string(TensorRole role) {
  switch (role) {
    case TensorRole::x: return "x";
    case TensorRole::offset: return "offset";
    case TensorRole::mask: return "mask";
    case TensorRole::weight: return "weight";
    case TensorRole::bias: return "bias";
    case TensorRole::y: return "y";
  }
  return "?";
}

namespace {

int64_t checked_product(const std::array<int64_t, 4>& shape, int rank) {
  int64_t product = 1;
  for (int i = 0; i < rank; ++i)
    if (__builtin_mul_overflow(product, shape[std::size_t(i)], &product)) return 0;
  return product;
}

}  // namespace

TensorShape tensor_shape(const Problem& p, TensorRole role) {
  const int64_t taps = p.taps();
  TensorShape t;
  switch (role) {
    case TensorRole::x: t.rank = 4, t.shape = {p.N, p.C, p.H, p.W}, t.activation = true; break;
    case TensorRole::offset: t.rank = 4, t.shape = {p.N, 2 * p.offset_groups * taps, p.Ho(), p.Wo()}, t.activation = true; break;
    case TensorRole::mask: t.rank = 4, t.shape = {p.N, p.offset_groups * taps, p.Ho(), p.Wo()}, t.activation = true; break;
    case TensorRole::weight: t.rank = 4, t.shape = {p.Co, p.C / p.groups, p.kh, p.kw}; break;
    case TensorRole::bias: t.rank = 1, t.shape = {p.Co, 0, 0, 0}; break;
    case TensorRole::y: t.rank = 4, t.shape = {p.N, p.Co, p.Ho(), p.Wo()}, t.activation = true; break;
  }
  t.elements = checked_product(t.shape, t.rank);
  if (t.activation && p.layout == Layout::nhwc) {
    t.layout = Layout::nhwc;
    const int64_t C = t.shape[1], H = t.shape[2], W = t.shape[3];
    t.strides = {H * W * C, 1, W * C, C};
  } else {
    int64_t stride = 1;
    for (int k = t.rank - 1; k >= 0; --k) {
      t.strides[std::size_t(k)] = stride;
      stride *= t.shape[std::size_t(k)];
    }
  }
  return t;
}

std::vector<int64_t> TensorShape::memory_shape() const {
  if (layout == Layout::nhwc && rank == 4) return {shape[0], shape[2], shape[3], shape[1]};
  return shape_vector();
}

std::vector<int64_t> logical_shape(const std::vector<int64_t>& memory, Layout layout) {
  if (layout == Layout::nhwc && memory.size() == 4) return {memory[0], memory[3], memory[1], memory[2]};
  return memory;
}

TensorRef tensor_ref(const Problem& problem, TensorRole role, void* data, Device device) {
  const TensorShape s = tensor_shape(problem, role);
  TensorRef t;
  t.data = data;
  t.dtype = problem.dtype;
  t.device = device;
  t.rank = s.rank;
  t.shape = s.shape;
  t.strides = s.strides;
  return t;
}

ActivationStrides activation_strides(const Problem& problem, TensorRole role) {
  const TensorShape s = tensor_shape(problem, role);
  if (!s.activation)
    throw Error(ErrorCode::Internal, fmt::format("activation_strides: {} is not an activation tensor", to_string(role)));
  // Dense in either layout: the pixel stride is the W stride, and H's stride is W times it.
  return ActivationStrides{s.strides[0], s.strides[1], s.strides[3]};
}

}  // namespace dcnjit
