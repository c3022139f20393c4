// The fused algorithm: implicit GEMMs on tensor cores in which sampling feeds the MMA tiles directly
// (no column buffer in memory), with tile autotuning (fused_knobs.h). Forward: one implicit GEMM of the
// weights and the sampled x. Backward: the weight gradient as an implicit GEMM of grad_y and the same
// sampled operand (split-K with a fixed-order sum); the data gradients from dcol tiles that never leave
// the CTA (grad_x scattered, the coordinate gradients summed per channel chunk and reduced in a fixed
// order). docs/gpu.md explains the tiling and the reduction design.
//
// Runs f16 and bf16 on tensor cores, f32 exactly (FFMA) or, with allow_tf32, on tf32 tensor cores; not
// f64 (the im2col algorithm runs it).
#pragma once

#include <memory>

#include "algorithms/algorithm.h"

namespace dcnjit::algo {

std::unique_ptr<Algorithm> make_fused_algorithm(const detail::DeviceTraits& traits, const RunOptions& options = {});

}  // namespace dcnjit::algo
