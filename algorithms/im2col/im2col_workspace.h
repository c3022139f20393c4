// Where each scratch buffer of the im2col algorithm lives inside one workspace allocation. The layout
// depends only on (problem, step, whether col2im gathers), so workspace_size() and the passes agree.
#pragma once

#include <cstddef>
#include <cstdint>

#include "algorithms/gather/pixel_map_layout.h"
#include "dcnjit/problem.h"

namespace dcnjit::algo::im2col {

// Elements between consecutive rows of the column matrix (NCHW: a row is one (channel, tap) over the P
// output pixels; NHWC: one pixel over C*taps), rounded up to a multiple of 8 so every row starts 16-byte
// aligned in f16/bf16: cuBLASLt's TMA kernels on Hopper need 16-byte aligned leading dimensions, and an
// odd pitch (P = Ho*Wo is often odd) would exclude them.
int64_t column_pitch(const Problem& problem);

struct WorkspaceLayout {
  // Byte offsets into the workspace; each segment is 256-byte aligned.
  std::size_t columns = 0;          // one chunk's columns (tap_geometry.cuh has their layout), storage dtype
  std::size_t grad_columns = 0;     // same shape: dcol = W^T dY
  std::size_t grad_x_accum = 0;     // [step][C][H][W] (x's layout) f32 (f16/bf16 only, not with gather)
  std::size_t weight_accum = 0;     // [Co][C/groups*kh*kw] f32: the grad_weight GEMMs accumulate here (f16/bf16)
  // The deterministic col2im's map (gather only; algorithms/gather/pixel_map_layout.h) over the chunk's
  // map pixels step * og * H * W, with room for 4 * step * og * taps * Ho*Wo entries.
  gather::PixelMapLayout map;
  std::size_t forward_bytes = 0;    // what forward needs (columns only)
  std::size_t total_bytes = 0;      // what backward with every gradient needs (>= forward_bytes)

  // `gather_threads` > 0: col2im gathers (atomic=gather) with blocks of that many threads (the scan's
  // tile); 0: it scatters.
  static WorkspaceLayout of(const Problem& problem, int step, int gather_threads = 0);
};

}  // namespace dcnjit::algo::im2col
