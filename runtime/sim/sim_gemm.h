// The GEMM of the sim device (KernelDevice::gemm): OpenBLAS sgemm per batch entry. f16/bf16
// operands are widened to f32 (core/half.h), multiplied with f32 accumulation, and the result is
// rounded back once, matching cuBLASLt's f32 compute type up to summation order.
#pragma once

#include "algorithms/kernel_device.h"

namespace dcnjit::sim {

// Throws Error(InvalidArgument) naming the field when the descriptor is inconsistent (negative
// sizes, leading dimensions smaller than a row, null operands).
void run_gemm(const detail::GemmDesc& desc);

}  // namespace dcnjit::sim
