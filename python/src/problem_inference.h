// The Problem that torchvision.ops.deform_conv2d's arguments describe: sizes from the tensors' shapes,
// groups from the weight ([Co, C/groups, kh, kw]), offset groups from the offset ([N, 2*og*kh*kw, Ho, Wo]),
// dtype from the input, and the layout from the activation tensors' strides (all contiguous NCHW: nchw;
// all channels_last: nhwc; a mix is an error naming the tensor that breaks it). Errors name the tensor
// with torchvision's argument names (input, offset, weight, bias, mask).
#pragma once

#include <array>

#include "dcnjit/dcnjit.h"

namespace dcnjit::python {

struct Operands {
  TensorRef input, offset, weight, bias, mask;  // bias and mask may be absent
};

struct Geometry {
  std::array<int, 2> stride{1, 1}, padding{0, 0}, dilation{1, 1};
  Boundary boundary = Boundary::v2;
};

// The memory format that every present activation tensor (input, offset, mask, then `extra` ones such as
// an output or grad_output, named by `extra_names`) is dense in: nchw when all are contiguous (also when
// they are both, as size-1 dimensions allow), nhwc when all are channels_last.
Layout resolve_layout(std::initializer_list<std::pair<const char*, const TensorRef*>> activations);

Problem infer_problem(const Operands& operands, const Geometry& geometry);

}  // namespace dcnjit::python
