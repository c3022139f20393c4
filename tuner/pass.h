// Pass: the separately tuned parts of a deformable convolution. Each backward pass is the backward
// call restricted to the gradients it names, so each can be timed (and tuned) on its own.
#pragma once

#include <string>
#include <vector>

namespace dcnjit::tuner {

enum class Pass {
  forward,               // y
  backward_data,         // grad_x (col2im scatter)
  backward_offset_mask,  // grad_offset, grad_mask (coordinate kernel)
  backward_weight,       // grad_weight, grad_bias (dY col^T)
};

const char* to_string(Pass pass);
// "forward" | "backward_data" | "backward_offset_mask" | "backward_weight"; Error(InvalidArgument) otherwise.
Pass parse_pass(const std::string& text);
// The --pass values of `dcnjit tune`: "forward", "backward" (the three backward passes) or "all".
std::vector<Pass> parse_pass_selection(const std::string& text);

}  // namespace dcnjit::tuner
