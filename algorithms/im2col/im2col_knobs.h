// The knob table of the im2col algorithm on a device that runs generated kernels (sim, cuda), and the
// typed view its passes read. docs/architecture.md lists every algorithm's knobs.
//
//   step     images per chunk: the column buffer holds `step` images        both directions
//   threads  threads per block of the sampling kernels: 128, 256, 512        both
//   items    work items per thread, processed together (their loads in flight at once): 1, 2, 4
//   bwd      fused: one pass over dcol computes grad_x, grad_offset, grad_mask; split: col2im, then coord
//   atomic   how col2im scatters into grad_x: plain atomicAdd, or warp-aggregated (scatter_add.cuh)
//   gemm_fwd, gemm_dcol, gemm_wgrad   (cuda only) index into cuBLASLt's heuristic list, per GEMM role
#pragma once

#include "algorithms/kernel_device.h"
#include "core/knob_table.h"
#include "dcnjit/problem.h"

namespace dcnjit::algo::im2col {

struct Im2colKnobs {
  int step = 1;
  int threads = 256;
  int items = 1;
  bool fused_backward = true;
  bool warp_atomics = false;
  int gemm_forward = 0, gemm_dcol = 0, gemm_weight = 0;

  // The values of a config resolved against `table`.
  static Im2colKnobs of(const KnobTable& table, const Config& config);
};

// The heuristic's step: the fewest chunks whose columns fit in 3/4 of the device's L2 (`l2_bytes`), then
// the images spread evenly over them, ceil(N / ceil(N / fit)). Columns written by im2col are then still
// in L2 when the GEMM reads them (the other quarter is for the chunk's x, offsets, mask, weights and y,
// streamed alongside), and no chunk is a small tail: N=8 with room for 7 runs 4+4, not 7+1, whose tail
// costs a whole extra round of launches at a fraction of the occupancy. At least 1 image per chunk.
int default_step(const Problem& problem, std::size_t l2_bytes);

KnobTable make_im2col_knobs(const detail::DeviceTraits& traits);

}  // namespace dcnjit::algo::im2col
