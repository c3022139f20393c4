#include "runtime/api/validate_args.h"

#include <fmt/format.h>

#include <vector>

namespace dcnjit::detail {
namespace {

[[noreturn]] void invalid(const std::string& message) { throw Error(ErrorCode::InvalidArgument, message); }

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += fmt::format("{}{}", i ? ", " : "", shape[i]);
  return s + "]";
}

void check_tensor(const char* name, const TensorRef& t, const std::vector<int64_t>& shape, const Problem& p,
                  Backend backend) {
  const Device want_device = backend == Backend::cuda ? Device::cuda : Device::cpu;
  bool same = t.rank == int(shape.size());
  for (size_t i = 0; same && i < shape.size(); ++i) same = t.shape[i] == shape[i];
  if (!same)
    invalid(fmt::format("{}: expected shape {} for problem '{}', got {}", name, shape_text(shape), p.to_string(),
                        t.shape_string()));
  if (t.dtype != p.dtype)
    invalid(fmt::format("{}: dtype {} does not match the problem's dtype {}", name, to_string(t.dtype),
                        to_string(p.dtype)));
  if (t.device != want_device)
    invalid(fmt::format("{}: tensor is on {} but the {} backend needs {} memory", name, to_string(t.device),
                        to_string(backend), to_string(want_device)));
  if (!t.is_contiguous())
    invalid(fmt::format("{}: only contiguous NCHW tensors are supported (shape {}, non-dense strides)", name,
                        t.shape_string()));
}

struct Shapes {
  std::vector<int64_t> x, offset, mask, weight, bias, y;
};

Shapes shapes_of(const Problem& p) {
  const int64_t taps = p.taps();
  return {{p.N, p.C, p.H, p.W},
          {p.N, 2 * p.offset_groups * taps, p.Ho(), p.Wo()},
          {p.N, p.offset_groups * taps, p.Ho(), p.Wo()},
          {p.Co, p.C / p.groups, p.kh, p.kw},
          {p.Co},
          {p.N, p.Co, p.Ho(), p.Wo()}};
}

void check_inputs(const Problem& p, Backend b, const Shapes& s, const TensorRef& x, const TensorRef& offset,
                  const TensorRef& mask, const TensorRef& weight) {
  if (!x.present()) invalid("x: tensor is required");
  if (!offset.present()) invalid("offset: tensor is required");
  if (!weight.present()) invalid("weight: tensor is required");
  check_tensor("x", x, s.x, p, b);
  check_tensor("offset", offset, s.offset, p, b);
  check_tensor("weight", weight, s.weight, p, b);
  if (p.mask && !mask.present()) invalid("mask: the problem has a mask but no mask tensor was given");
  if (!p.mask && mask.present()) invalid("mask: a mask tensor was given but the problem has mask=false");
  if (mask.present()) check_tensor("mask", mask, s.mask, p, b);
}

}  // namespace

void validate_forward_args(const Problem& p, Backend b, const ForwardArgs& a) {
  const Shapes s = shapes_of(p);
  check_inputs(p, b, s, a.x, a.offset, a.mask, a.weight);
  if (p.bias && !a.bias.present()) invalid("bias: the problem has a bias but no bias tensor was given");
  if (!p.bias && a.bias.present()) invalid("bias: a bias tensor was given but the problem has bias=false");
  if (a.bias.present()) check_tensor("bias", a.bias, s.bias, p, b);
  if (!a.y.present()) invalid("y: output tensor is required");
  check_tensor("y", a.y, s.y, p, b);
}

void validate_backward_args(const Problem& p, Backend b, const BackwardArgs& a) {
  const Shapes s = shapes_of(p);
  check_inputs(p, b, s, a.x, a.offset, a.mask, a.weight);
  if (!a.grad_y.present()) invalid("grad_y: tensor is required for backward");
  check_tensor("grad_y", a.grad_y, s.y, p, b);
  if (a.grad_x.present()) check_tensor("grad_x", a.grad_x, s.x, p, b);
  if (a.grad_offset.present()) check_tensor("grad_offset", a.grad_offset, s.offset, p, b);
  if (a.grad_mask.present()) {
    if (!p.mask) invalid("grad_mask: requested but the problem has mask=false");
    check_tensor("grad_mask", a.grad_mask, s.mask, p, b);
  }
  if (a.grad_weight.present()) check_tensor("grad_weight", a.grad_weight, s.weight, p, b);
  if (a.grad_bias.present()) check_tensor("grad_bias", a.grad_bias, s.bias, p, b);
}

}  // namespace dcnjit::detail
