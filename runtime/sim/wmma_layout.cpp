#include "runtime/sim/wmma_layout.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <numeric>
#include <random>
#include <string>

#include "dcnjit/error.h"

namespace dcnjit::sim {

unsigned wmma_tile_elements(dcnjit_sim::WmmaRole role) {
  return role == dcnjit_sim::wmma_a_tf32 || role == dcnjit_sim::wmma_b_tf32 ? 128u : 256u;
}

WmmaLayouts WmmaLayouts::for_seed(uint64_t seed) {
  WmmaLayouts layouts;
  layouts.seed = seed;
  for (unsigned role = 0; role < dcnjit_sim::wmma_role_count; ++role) {
    std::vector<uint16_t>& map = layouts.maps[role];
    map.resize(wmma_tile_elements(dcnjit_sim::WmmaRole(role)));
    std::iota(map.begin(), map.end(), uint16_t(0));
    if (seed != 0) {
      // A different stream per role, so A, B and the accumulator are permuted independently.
      std::mt19937_64 generator(seed * 0x9e3779b97f4a7c15ull + role);
      std::shuffle(map.begin(), map.end(), generator);
    }
  }
  return layouts;
}

uint64_t wmma_permutation_from_environment() {
  const char* text = std::getenv("DCNJIT_SIM_WMMA_PERMUTE");
  if (!text || !*text) return 0;
  const std::string value = text;
  uint64_t seed = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), seed);
  if (error != std::errc() || end != value.data() + value.size())
    throw Error(ErrorCode::InvalidArgument,
                fmt::format("DCNJIT_SIM_WMMA_PERMUTE: '{}' is not a seed (a decimal number; 0 = plain order)", value));
  return seed;
}

}  // namespace dcnjit::sim
