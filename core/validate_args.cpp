#include "core/validate_args.h"

#include <fmt/format.h>

#include <vector>

#include "core/problem_tensors.h"

namespace dcnjit::detail {
namespace {

[[noreturn]] void invalid(const std::string& message) { throw Error(ErrorCode::InvalidArgument, message); }

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += fmt::format("{}{}", i ? ", " : "", shape[i]);
  return s + "]";
}

std::string strides_text(const TensorRef& t) {
  std::string s = "[";
  for (int i = 0; i < t.rank; ++i) s += fmt::format("{}{}", i ? ", " : "", t.strides[std::size_t(i)]);
  return s + "]";
}

void check_tensor(const char* name, const TensorRef& t, TensorRole role, const Problem& p, Backend backend) {
  const TensorShape expected = tensor_shape(p, role);
  const std::vector<int64_t> shape = expected.shape_vector();
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
  const Layout layout = expected.activation ? p.layout : Layout::nchw;
  if (!t.is_dense(layout)) {
    if (expected.activation && p.layout == Layout::nhwc)
      invalid(fmt::format("{}: the problem's layout is nhwc, which needs channels-last strides (dense [N, H, W, C] "
                          "memory); got shape {} with strides {}",
                          name, t.shape_string(), strides_text(t)));
    if (expected.activation && t.is_channels_last())
      invalid(fmt::format("{}: channels-last strides {} but the problem's layout is nchw (use a problem with "
                          "layout nhwc for channels-last tensors)",
                          name, strides_text(t)));
    invalid(fmt::format("{}: only dense tensors are supported ({} layout; shape {}, strides {})", name,
                        to_string(layout), t.shape_string(), strides_text(t)));
  }
}

void check_inputs(const Problem& p, Backend b, const TensorRef& x, const TensorRef& offset, const TensorRef& mask,
                  const TensorRef& weight) {
  if (!x.present()) invalid("x: tensor is required");
  if (!offset.present()) invalid("offset: tensor is required");
  if (!weight.present()) invalid("weight: tensor is required");
  check_tensor("x", x, TensorRole::x, p, b);
  check_tensor("offset", offset, TensorRole::offset, p, b);
  check_tensor("weight", weight, TensorRole::weight, p, b);
  if (p.mask && !mask.present()) invalid("mask: the problem has a mask but no mask tensor was given");
  if (!p.mask && mask.present()) invalid("mask: a mask tensor was given but the problem has mask=false");
  if (mask.present()) check_tensor("mask", mask, TensorRole::mask, p, b);
}

}  // namespace

void validate_forward_args(const Problem& p, Backend b, const ForwardArgs& a) {
  check_inputs(p, b, a.x, a.offset, a.mask, a.weight);
  if (p.bias && !a.bias.present()) invalid("bias: the problem has a bias but no bias tensor was given");
  if (!p.bias && a.bias.present()) invalid("bias: a bias tensor was given but the problem has bias=false");
  if (a.bias.present()) check_tensor("bias", a.bias, TensorRole::bias, p, b);
  if (!a.y.present()) invalid("y: output tensor is required");
  check_tensor("y", a.y, TensorRole::y, p, b);
}

void validate_backward_args(const Problem& p, Backend b, const BackwardArgs& a) {
  check_inputs(p, b, a.x, a.offset, a.mask, a.weight);
  if (!a.grad_y.present()) invalid("grad_y: tensor is required for backward");
  check_tensor("grad_y", a.grad_y, TensorRole::y, p, b);
  if (a.grad_x.present()) check_tensor("grad_x", a.grad_x, TensorRole::x, p, b);
  if (a.grad_offset.present()) check_tensor("grad_offset", a.grad_offset, TensorRole::offset, p, b);
  if (a.grad_mask.present()) {
    if (!p.mask) invalid("grad_mask: requested but the problem has mask=false");
    check_tensor("grad_mask", a.grad_mask, TensorRole::mask, p, b);
  }
  if (a.grad_weight.present()) check_tensor("grad_weight", a.grad_weight, TensorRole::weight, p, b);
  if (a.grad_bias.present()) check_tensor("grad_bias", a.grad_bias, TensorRole::bias, p, b);
}

}  // namespace dcnjit::detail
