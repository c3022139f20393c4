// The tensors of one forward or backward call. TensorRefs are views of the caller's memory; an absent
// optional input or an unrequested gradient has data == nullptr. Activation tensors (x, offset, mask,
// y and their gradients) are in the problem's layout (NCHW contiguous, or channels-last strides for
// Layout::nhwc); weight and bias are contiguous in both (docs/semantics.md).
#pragma once

#include <cstddef>

#include "dcnjit/tensor.h"

namespace dcnjit {

struct ForwardArgs {
  TensorRef x, offset, mask, weight, bias;  // mask/bias may be absent (data == nullptr)
  TensorRef y;
  void* stream = nullptr;                   // CUstream for the cuda backend
  void* workspace = nullptr;                // optional caller scratch of Plan::workspace_size() bytes
  std::size_t workspace_bytes = 0;
};

struct BackwardArgs {
  TensorRef x, offset, mask, weight;  // the forward inputs (mask optional)
  TensorRef grad_y;
  // Outputs: any subset; a target with data == nullptr is not computed.
  TensorRef grad_x, grad_offset, grad_mask, grad_weight, grad_bias;
  void* stream = nullptr;
  void* workspace = nullptr;
  std::size_t workspace_bytes = 0;
};

// Which gradients a backward call computes.
struct Gradients {
  bool x = false, offset = false, mask = false, weight = false, bias = false;

  bool any_input() const { return x || offset || mask; }  // the dcol side
  bool operator==(const Gradients&) const = default;
};

}  // namespace dcnjit
