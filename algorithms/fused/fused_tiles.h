// The fused kernels' shared-memory footprint, as fused_spec.cuh lays it out (the knob checks and the
// launches must agree with the device code; a test compares them with the Spec's own constants).
#pragma once

#include <cstddef>

#include "algorithms/fused/fused_knobs.h"

namespace dcnjit::algo::fused {

enum class Kernel { forward, weight_gradient, data_gradient };

std::size_t operand_bytes(MmaKind mma);
// Dynamic shared memory of one of the tiled kernels: the operand ring (stages of A, two of B), or the
// f32 C tile of the epilogue if larger (plus, for the data gradient, its subgroup scratch).
std::size_t shared_bytes(Kernel kernel, const FusedKnobs& knobs, MmaKind mma);

}  // namespace dcnjit::algo::fused
