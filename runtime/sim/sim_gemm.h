// The GEMM of the sim device (KernelDevice::gemm): OpenBLAS sgemm (dgemm for f64) per batch entry.
// f16/bf16 operands are widened to f32 (core/half.h), multiplied with f32 accumulation, and the result is
// rounded once into C's type (f32 for an accumulating GEMM), matching cuBLASLt's f32 compute type up to
// summation order. With allow_tf32, f32 operands are first rounded to TF32 as tensor cores read them.
#pragma once

#include "algorithms/kernel_device.h"

namespace dcnjit::sim {

// Throws Error(InvalidArgument) naming the field when the descriptor is inconsistent (negative
// sizes, leading dimensions smaller than a row, null operands).
void run_gemm(const detail::GemmDesc& desc);

// An f32 value as a tensor core reads it under TF32 (10 mantissa bits, round to nearest, ties away).
float round_to_tf32(float value);

}  // namespace dcnjit::sim
