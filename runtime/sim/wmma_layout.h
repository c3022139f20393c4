// The element order of the sim's WMMA fragments (shim/simt_wmma.h). On a GPU the mapping of a
// fragment's x[i] to tile positions is unspecified and differs between architectures, so a kernel
// may apply element-wise operations to all of x[] but must not depend on which element is where. The
// sim makes that testable: seed 0 is a plain order (element i of lane l is tile position
// l * elements_per_lane + i, row-major), any other seed a pseudo-random permutation per fragment
// role. A correct kernel gives bit-identical results under every seed.
//
// The seed comes from SimOptions::wmma_permutation_seed, by default from the environment variable
// DCNJIT_SIM_WMMA_PERMUTE (a decimal seed; unset or empty = 0).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "runtime/sim/shim/simt_abi.h"

namespace dcnjit::sim {

struct WmmaLayouts {
  uint64_t seed = 0;
  std::array<std::vector<uint16_t>, dcnjit_sim::wmma_role_count> maps;

  static WmmaLayouts for_seed(uint64_t seed);
};

// Elements of a fragment role's tile (256 or 128).
unsigned wmma_tile_elements(dcnjit_sim::WmmaRole role);

// DCNJIT_SIM_WMMA_PERMUTE, 0 when unset or empty; Error(InvalidArgument) naming the variable when it
// is not a decimal number.
uint64_t wmma_permutation_from_environment();

}  // namespace dcnjit::sim
