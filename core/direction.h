// The two directions of the operator: forward (y) and backward (any subset of the gradients).
// Kernels, knobs and configs are per direction; the tuner's passes refine backward further
// (tuner/pass.h).
#pragma once

#include <string>

namespace dcnjit {

enum class Direction { forward, backward };

const char* to_string(Direction direction);
// "forward" | "backward", else Error(InvalidArgument) naming the value.
Direction parse_direction(const std::string& text);

}  // namespace dcnjit
