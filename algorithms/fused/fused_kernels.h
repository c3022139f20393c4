// The fused algorithm's kernels as KernelSpecs: the tiled implicit GEMMs (forward, weight gradient,
// data gradient; fused_forward.cuh, fused_weight_gradient.cuh, fused_data_gradient.cuh), their
// fixed-order reductions (fused_reduce.cuh), the weight permutation (fused_weights.cuh) and, with
// atomic=gather, the deterministic grad_x's map and gather (fused_gather.cuh); grad_bias and the
// f32 -> 16-bit cast are the shared kernels (algorithms/shared_kernels.h).
#pragma once

#include <optional>
#include <vector>

#include "algorithms/fused/fused_knobs.h"
#include "algorithms/fused/fused_tiles.h"
#include "algorithms/algorithm.h"
#include "generator/kernel_spec.h"

namespace dcnjit::algo::fused {

// Threads per block of the deterministic grad_x's kernels (fused_gather.cuh); the map's scan tiles
// (and so the workspace's tile sums) follow it.
inline constexpr int kGatherThreads = 256;

// What every fused kernel of one problem and config is specialized on.
struct KernelContext {
  Problem problem;
  FusedKnobs knobs;
  MmaKind mma;
  int64_t coord_slots;  // channel chunks per offset group (data gradient)
};
KernelContext kernel_context(const Problem& problem, const FusedKnobs& knobs, MmaKind mma);

enum class WeightsArrangement { rows, columns };  // fused_weights.cuh

gen::KernelSpec tiled_kernel(const KernelContext& context, Kernel kernel);
gen::KernelSpec weights_kernel(const KernelContext& context, WeightsArrangement arrangement);
gen::KernelSpec weight_reduce_kernel(const KernelContext& context);
gen::KernelSpec coord_reduce_kernel(const KernelContext& context);

// Rows of the permuted weights are padded to a multiple of 8 elements (16 bytes of 16-bit values).
int64_t weight_pitch(int64_t row_length);
// Channels per chunk segment of the data gradient: gcd(C/groups, C/og) (fused_data_gradient.cuh).
int64_t chunk_segment(const Problem& problem);
int64_t chunks_per_segment(const Problem& problem, const FusedKnobs& knobs);
bool uses_f32_accumulators(const Problem& problem);
// True when a tensor the kernels index (activations, partial sums, permuted weights) has 2^30 elements
// or more (algorithms/shared_kernels.h).
bool needs_64bit_indices(const KernelContext& context);

struct ForwardKernels {
  gen::KernelSpec weights, forward;
};
// The deterministic grad_x (atomic=gather, fused_gather.cuh), in launch order after the data gradient.
struct GatherKernels {
  gen::KernelSpec count, scan, fill, sort, gather;
};
struct BackwardKernels {
  std::optional<gen::KernelSpec> weights;        // columns arrangement, for the data gradient
  std::optional<gen::KernelSpec> data_gradient;  // grad_x (or its column gradient) and/or coordinate partials
  std::optional<gen::KernelSpec> coord_reduce;   // grad_offset, grad_mask
  std::optional<GatherKernels> gather;           // atomic=gather with grad_x: per chunk, after coord_reduce
  std::optional<gen::KernelSpec> cast_x;         // f16/bf16 grad_x: f32 accumulator -> grad_x (not with gather)
  std::optional<gen::KernelSpec> weight_gradient;
  std::optional<gen::KernelSpec> weight_reduce;  // split > 1
  std::optional<gen::KernelSpec> bias_grad;
};
GatherKernels gather_kernels(const KernelContext& context);
ForwardKernels forward_kernels(const KernelContext& context);
BackwardKernels backward_kernels(const KernelContext& context, const Gradients& gradients);

}  // namespace dcnjit::algo::fused
