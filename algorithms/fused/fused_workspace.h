// The fused algorithm's workspace: no column buffer, only small operands and the partial sums of the
// fixed-order reductions; with atomic=gather, a chunk's column gradient and the map of its gather.
// Segments are 256-byte aligned (cp.async and vector loads).
#pragma once

#include <cstddef>

#include "algorithms/fused/fused_knobs.h"
#include "algorithms/gather/pixel_map_layout.h"
#include "dcnjit/problem.h"

namespace dcnjit::algo::fused {

struct WorkspaceLayout {
  std::size_t weight_rows = 0;      // [Co][pitch(C/groups*taps)] storage dtype (forward)
  std::size_t weight_columns = 0;   // [groups][taps][C/groups][pitch(Co/groups)] (data gradient)
  std::size_t grad_x_accum = 0;     // [N][C][H][W] f32, x's layout (f16/bf16 grad_x, not with gather)
  std::size_t coord_partials = 0;   // [slots][images][og][taps][5][P] f32, images = N (step with gather)
  std::size_t weight_partials = 0;  // [split][Co][C/groups*taps] f32, k' in the reduction order (split > 1)
  std::size_t grad_columns = 0;     // [step * P * C * taps] f32 (gather only; fused_columns.cuh)
  gather::PixelMapLayout map;       // the gather's map of a chunk: step * og * H * W map pixels (gather only)
  std::size_t forward_bytes = 0;
  std::size_t total_bytes = 0;

  static WorkspaceLayout of(const Problem& problem, const FusedKnobs& knobs);
};

}  // namespace dcnjit::algo::fused
