// The im2col algorithm's forward and backward over a KernelDevice, launching exactly the kernels of
// im2col_kernels.h. Per chunk of `step` images (the last chunk may be smaller; any N):
//
// Forward:
//   im2col          x, offset, mask -> columns
//   gemm_forward    per conv group: y = W * columns (+ bias)
// Backward, launching only what the requested gradients need:
//   gemm_dcol       per conv group: dcol = W^T * dY                            (grad_x/offset/mask)
//   col2im_coord    one pass over dcol (bwd=fused), or
//   col2im, coord   split: grad_x scatter, then grad_offset/grad_mask
//   im2col          the column recompute                                        (grad_weight)
//   gemm_weight     per conv group: grad_W += dY * columns^T                    (grad_weight)
// then, once per call:
//   bias_grad       grad_bias[o] = sum of grad_y[:, o]                          (grad_bias)
//
// NCHW: the GEMMs are strided-batched over the chunk's images (columns [images][C*taps][P]).
// NHWC: a chunk's columns are one (images*P) x (C*taps) matrix and y one (images*P) x Co matrix, so each
// GEMM covers the whole chunk at once.
// f16/bf16: grad_x is scattered into an f32 accumulator and cast per chunk; the grad_weight GEMMs take
// 16-bit operands and accumulate into an f32 buffer (beta = 1), cast once. f32 and f64: the atomics go
// straight into grad_x, and the grad_weight GEMMs accumulate into it.
//
// Phases are reported (LaunchContext::phase) with the names above, one record per phase and chunk.
#pragma once

#include "algorithms/im2col/im2col_knobs.h"
#include "algorithms/launch_context.h"
#include "dcnjit/args.h"
#include "dcnjit/problem.h"

namespace dcnjit::algo::im2col {

void run_forward(LaunchContext& context, const Problem& problem, const Im2colKnobs& knobs, const ForwardArgs& args);
void run_backward(LaunchContext& context, const Problem& problem, const Im2colKnobs& knobs, const BackwardArgs& args);

}  // namespace dcnjit::algo::im2col
