// The CPU backend computes f16 and bf16 problems in f32: inputs are widened into f32 copies before a
// pass and outputs are rounded back (round to nearest even, core/half.h) after it. For f32 tensors
// the caller's memory is used directly and nothing is copied.
#pragma once

#include <vector>

#include "dcnjit/tensor.h"

namespace dcnjit::cpu {

// f32 view of an input tensor: its own data when f32, else a widened copy in `storage`.
// Null when the tensor is absent.
const float* input_as_f32(const TensorRef& tensor, std::vector<float>& storage);

// f32 destination for an output tensor: its own data when f32, else `storage` sized to it.
// Null when the output is not requested. Call store_output afterwards.
float* output_as_f32(const TensorRef& tensor, std::vector<float>& storage);

// Rounds `storage` into the tensor when it is f16/bf16 (no-op for f32 or an absent tensor).
void store_output(const TensorRef& tensor, const std::vector<float>& storage);

}  // namespace dcnjit::cpu
