// Where each scratch buffer of the im2col algorithm lives inside one workspace allocation. The layout
// depends only on (problem, step), so workspace_size() and the passes agree.
#pragma once

#include <cstddef>

#include "dcnjit/problem.h"

namespace dcnjit::algo::im2col {

struct WorkspaceLayout {
  // Byte offsets into the workspace; each segment is 256-byte aligned.
  std::size_t columns = 0;          // one chunk's columns (tap_geometry.cuh has their layout), storage dtype
  std::size_t grad_columns = 0;     // same shape: dcol = W^T dY
  std::size_t grad_x_accum = 0;     // [step][C][H][W] (x's layout) f32 (f16/bf16 only)
  std::size_t weight_partials = 0;  // [step][Co][C/groups*kh*kw], storage dtype (f16/bf16 only)
  std::size_t weight_accum = 0;     // [Co][C/groups*kh*kw] f32 (f16/bf16 only)
  std::size_t forward_bytes = 0;    // what forward needs (columns only)
  std::size_t total_bytes = 0;      // what backward with every gradient needs (>= forward_bytes)

  static WorkspaceLayout of(const Problem& problem, int step);
};

}  // namespace dcnjit::algo::im2col
