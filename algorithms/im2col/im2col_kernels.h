// The kernels of the im2col algorithm, per pass: the one place that decides which kernels a pass
// launches (Im2colAlgorithm::kernels() lists them for `dcnjit emit` and the NVRTC sweep; the passes in
// im2col_passes.cpp launch exactly these).
//
//   forward   im2col
//   backward  col2im_coord (fused) or col2im and/or coord (split), when grad_x/offset/mask are wanted;
//             with atomic=gather, grad_x by the deterministic col2im instead (col2im_count, col2im_scan,
//             col2im_fill, col2im_sort, col2im_gather: deform_col2im_gather.cuh) and coord;
//             im2col (the column recompute) when grad_weight is; bias_grad when grad_bias is; for
//             f16/bf16 the casts of the f32 grad_x (not with gather) and grad_weight accumulators.
#pragma once

#include <optional>
#include <vector>

#include "algorithms/im2col/im2col_knobs.h"
#include "dcnjit/args.h"
#include "dcnjit/problem.h"
#include "generator/kernel_spec.h"

namespace dcnjit::algo::im2col {

enum class SamplingKind { im2col, col2im, coord, col2im_coord, col2im_count, col2im_fill, col2im_gather };

gen::KernelSpec sampling_kernel(const Problem& problem, const Im2colKnobs& knobs, SamplingKind kind);

// True when a tensor the kernels index for a chunk of `step` images (x, offset, mask, y, the chunk's
// columns, grad_weight, the deterministic col2im's map entries) has 2^30 elements or more.
bool needs_64bit_index(const Problem& problem, int step);

struct ForwardKernels {
  gen::KernelSpec im2col;
};

// The deterministic col2im (deform_col2im_gather.cuh), in launch order.
struct GatherKernels {
  gen::KernelSpec count, scan, fill, sort, gather;
};
gen::KernelSpec map_kernel(const Problem& problem, const Im2colKnobs& knobs, const char* family);  // scan, sort

struct BackwardKernels {
  std::optional<GatherKernels> gather;     // grad_x with atomic=gather, launched before `sampling`
  std::vector<gen::KernelSpec> sampling;   // col2im_coord, or col2im and/or coord, in launch order
  std::optional<gen::KernelSpec> cast_x;   // f16/bf16 grad_x: f32 accumulator -> grad_x
  std::optional<gen::KernelSpec> im2col;   // grad_weight: the column recompute
  std::optional<gen::KernelSpec> cast_w;   // f16/bf16 grad_weight: f32 accumulator -> grad_weight
  std::optional<gen::KernelSpec> bias_grad;
};

ForwardKernels forward_kernels(const Problem& problem, const Im2colKnobs& knobs);
BackwardKernels backward_kernels(const Problem& problem, const Im2colKnobs& knobs, const Gradients& gradients);

// f16/bf16 problems scatter grad_x and sum grad_weight in f32 accumulators (the grad_weight GEMMs write
// f32 with beta = 1, so a sum over images is rounded once, not per image); f32 and f64 use the outputs.
bool uses_f32_accumulators(const Problem& problem);

}  // namespace dcnjit::algo::im2col
