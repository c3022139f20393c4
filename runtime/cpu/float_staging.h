// f16 and bf16 tensors computed in f32: inputs are widened into f32 copies before a pass and outputs
// are rounded back (round to nearest even) after it. For f32 tensors the caller's memory is used
// directly and nothing is copied. Copies keep the memory order, so NCHW and NHWC tensors alike.
//
// f16 converts with F16C instructions (vcvtph2ps / vcvtps2ph, 8 elements at a time) on CPUs that have
// them, else element by element with core/half.h; both round to nearest even and give the same bits,
// except that F16C keeps a NaN's payload where core/half.h returns the canonical quiet NaN. bf16 is a
// shift (widening) and core/half.h's rounding, which the compiler vectorizes.
#pragma once

#include <cstddef>
#include <cstdint>
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

// The element conversions of the above, on n elements.
void f16_to_f32(const uint16_t* in, float* out, std::size_t n);
void f32_to_f16(const float* in, uint16_t* out, std::size_t n);
void bf16_to_f32(const uint16_t* in, float* out, std::size_t n);
void f32_to_bf16(const float* in, uint16_t* out, std::size_t n);

}  // namespace dcnjit::cpu
