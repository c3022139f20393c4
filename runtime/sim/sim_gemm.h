// The GEMM of the sim device (KernelDevice::gemm): OpenBLAS sgemm (dgemm for f64) per batch entry.
// f16/bf16 operands are widened to f32 (core/half.h), multiplied with f32 accumulation, and the result is
// rounded once into C's type (f32 for an accumulating GEMM), matching cuBLASLt's f32 compute type up to
// summation order. With allow_tf32, f32 operands are first rounded to TF32 as tensor cores read them.
#pragma once

#include "algorithms/kernel_device.h"
#include "core/phases.h"

namespace dcnjit::sim {

// Throws Error(InvalidArgument) naming the field when the descriptor is inconsistent (negative
// sizes, leading dimensions smaller than a row, null operands).
void run_gemm(const detail::GemmDesc& desc);

// An f32 value as a tensor core reads it under TF32 (10 mantissa bits, round to nearest, ties away).
float round_to_tf32(float value);

// The counters a counting device reports for a GEMM, which the sim does not run as a kernel: a
// model of a GPU GEMM at its best, not a count. Every operand is read once and C written once, in
// fully coalesced 128-byte requests (4 sectors each), C read too when beta != 0; an operand shared
// by the batch (stride 0) counts once. f16/bf16 run on tensor cores: mma_ops = the m16n16k16 tiles
// covering m x n x k per batch entry, flops = 2*m*n*k per entry. f32 (no TF32) and f64 run on CUDA
// cores: mma_ops = flops = 0 (the phase's own FLOP count stands for it).
detail::KernelCounters gemm_counters(const detail::GemmDesc& desc);

}  // namespace dcnjit::sim
