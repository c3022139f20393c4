#include "problem_inference.h"

#include <fmt/format.h>

#include <limits>
#include <string>

namespace dcnjit::python {
namespace {

[[noreturn]] void invalid(const std::string& message) { throw Error(ErrorCode::InvalidArgument, message); }

std::string strides_text(const TensorRef& t) {
  std::string s = "[";
  for (int i = 0; i < t.rank; ++i) s += fmt::format("{}{}", i ? ", " : "", t.strides[std::size_t(i)]);
  return s + "]";
}

void require_rank(const char* name, const TensorRef& t, int rank, const char* shape) {
  if (t.rank != rank)
    invalid(fmt::format("{}: expected a {}-d tensor {}, got shape {}", name, rank, shape, t.shape_string()));
}

int narrow(const char* what, int64_t value) {
  if (value > std::numeric_limits<int>::max()) invalid(fmt::format("{} = {} is too large", what, value));
  return int(value);
}

}  // namespace

Layout resolve_layout(std::initializer_list<std::pair<const char*, const TensorRef*>> activations) {
  bool nchw_possible = true, nhwc_possible = true;
  const char* decided_by = nullptr;  // the first tensor that ruled a format out
  for (const auto& [name, tensor] : activations) {
    if (!tensor->present()) continue;
    const bool nchw = tensor->is_contiguous(), nhwc = tensor->is_channels_last();
    if (!nchw && !nhwc)
      invalid(fmt::format("{}: neither contiguous (NCHW) nor channels_last (shape {}, strides {}); dcnjit reads "
                          "tensors in place and copies none: pass x.contiguous() or "
                          "x.contiguous(memory_format=torch.channels_last)",
                          name, tensor->shape_string(), strides_text(*tensor)));
    if ((nchw_possible && nchw) || (nhwc_possible && nhwc)) {
      if (!decided_by && nchw != nhwc) decided_by = name;
      nchw_possible = nchw_possible && nchw;
      nhwc_possible = nhwc_possible && nhwc;
      continue;
    }
    invalid(fmt::format("{}: is {} but {} is {}; all of input, offset, mask (and the output) must share one memory "
                        "format",
                        name, nchw ? "contiguous (NCHW)" : "channels_last", decided_by,
                        nchw_possible ? "contiguous (NCHW)" : "channels_last"));
  }
  return nchw_possible ? Layout::nchw : Layout::nhwc;
}

Problem infer_problem(const Operands& o, const Geometry& geometry) {
  require_rank("input", o.input, 4, "[N, C, H, W]");
  require_rank("offset", o.offset, 4, "[N, 2*offset_groups*kh*kw, Ho, Wo]");
  require_rank("weight", o.weight, 4, "[Co, C/groups, kh, kw]");
  if (o.bias.present()) require_rank("bias", o.bias, 1, "[Co]");
  if (o.mask.present()) require_rank("mask", o.mask, 4, "[N, offset_groups*kh*kw, Ho, Wo]");

  Problem p;
  p.N = o.input.shape[0];
  p.C = o.input.shape[1];
  p.H = o.input.shape[2];
  p.W = o.input.shape[3];
  p.Co = o.weight.shape[0];
  p.kh = narrow("weight kernel height", o.weight.shape[2]);
  p.kw = narrow("weight kernel width", o.weight.shape[3]);
  const int64_t per_group = o.weight.shape[1];
  if (per_group <= 0 || p.C % per_group != 0)
    invalid(fmt::format("weight: shape {} has {} input channels per group, which does not divide the input's {} "
                        "channels (input shape {})",
                        o.weight.shape_string(), per_group, p.C, o.input.shape_string()));
  p.groups = narrow("groups", p.C / per_group);
  const int64_t offset_channels = o.offset.shape[1], per_offset_group = 2 * int64_t(p.kh) * p.kw;
  if (per_offset_group <= 0 || offset_channels == 0 || offset_channels % per_offset_group != 0)
    invalid(fmt::format("offset: {} channels is not a positive multiple of 2*kh*kw = {} (offset shape {}, weight "
                        "shape {})",
                        offset_channels, per_offset_group, o.offset.shape_string(), o.weight.shape_string()));
  p.offset_groups = narrow("offset groups", offset_channels / per_offset_group);
  std::tie(p.stride_h, p.stride_w) = std::pair(geometry.stride[0], geometry.stride[1]);
  std::tie(p.pad_h, p.pad_w) = std::pair(geometry.padding[0], geometry.padding[1]);
  std::tie(p.dilation_h, p.dilation_w) = std::pair(geometry.dilation[0], geometry.dilation[1]);
  p.mask = o.mask.present();
  p.bias = o.bias.present();
  p.boundary = geometry.boundary;
  p.dtype = o.input.dtype;
  p.layout = resolve_layout({{"input", &o.input}, {"offset", &o.offset}, {"mask", &o.mask}});
  p.validate();
  return p;
}

}  // namespace dcnjit::python
