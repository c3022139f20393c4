// The fused algorithm's forward and backward over a KernelDevice, launching exactly the kernels of
// fused_kernels.h. There is no chunking over images: with no column buffer, a pass handles any N at once.
//
// Forward:
//   weights         W -> the GEMM's order (workspace)
//   fused_forward   y = implicit GEMM of W and the sampled x, + bias
// Backward, launching only what the requested gradients need:
//   weights         W -> W^T per tap (workspace)                                (grad_x/offset/mask)
//   data_gradient   dcol tiles -> grad_x scatter and coordinate partial sums    (grad_x/offset/mask)
//   coord_grad      coordinate partials -> grad_offset, grad_mask               (grad_offset/mask)
//   weight_gradient implicit GEMM of grad_y and the sampled x (split-K partials) (grad_weight)
//   weight_reduce   partials -> grad_W in split order                           (grad_weight, split > 1)
//   bias_grad       grad_bias[o] = sum of grad_y[:, o]                          (grad_bias)
// f16/bf16: grad_x is scattered into an f32 accumulator and cast once; every other sum is f32 inside
// the kernels and rounded once.
#pragma once

#include "algorithms/fused/fused_knobs.h"
#include "algorithms/launch_context.h"
#include "dcnjit/args.h"
#include "dcnjit/problem.h"

namespace dcnjit::algo::fused {

void run_forward(LaunchContext& context, const Problem& problem, const FusedKnobs& knobs, const ForwardArgs& args);
void run_backward(LaunchContext& context, const Problem& problem, const FusedKnobs& knobs, const BackwardArgs& args);

}  // namespace dcnjit::algo::fused
