// The knob table of the im2col algorithm on a device that runs generated kernels (sim, cuda), and the
// typed view its passes read. docs/architecture.md lists every algorithm's knobs.
//
//   step     images per chunk: the column buffer holds `step` images        both directions
//   threads  threads per block of the sampling kernels: 128, 256, 512        both
//   items    work items per thread, processed together (their loads in flight at once): 1, 2, 4
//   split    lanes that share one work item's channel loop, each walking every split-th channel: 1, 2,
//            4, 8, 16, 32 (at most the channels of an offset group)                  both
//   bwd      fused: one pass over dcol computes grad_x, grad_offset, grad_mask; split: col2im, then coord
//   atomic   how col2im writes grad_x: plain atomicAdd, warp-aggregated atomics (scatter_add.cuh), or
//            gather: the deterministic col2im, no floating-point atomics (deform_col2im_gather.cuh)
//   gemm_fwd, gemm_dcol, gemm_wgrad   (cuda only) index into cuBLASLt's heuristic list, per GEMM role
//
// A deterministic engine (RunOptions::deterministic) offers only deterministic configs: atomic=gather
// with bwd=split (the fused kernel scatters); the other values are rejected with the reason.
#pragma once

#include "algorithms/kernel_device.h"
#include "algorithms/launch_context.h"
#include "core/knob_table.h"
#include "dcnjit/problem.h"

namespace dcnjit::algo::im2col {

struct Im2colKnobs {
  int step = 1;
  int threads = 256;
  int items = 1;
  int split = 1;
  bool fused_backward = true;
  bool warp_atomics = false;
  bool gather = false;  // atomic=gather: the deterministic col2im
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

// The heuristic's split: enough threads to fill the device once, and in NHWC at least a sector (32
// bytes) of adjacent channels per corner load. A chunk of the heuristic's step has
// `images * og * taps * Ho * Wo` work items, one thread each at split 1: the DCNv2 R50 256-channel layer
// (f16, 2 images per chunk) has 68,400, an H100 holds 132 x 2048 = 270,336 resident threads; so the
// split doubles while items * split is below sm_count * 2048 (split 4 there: 273,600), as long as each
// lane keeps at least 4 channels and the split fits in a warp. In NHWC a warp's corner load touches
// one sector per lane at split 1 (lanes are pixels, C elements apart); `split` lanes reading adjacent
// channels share one when split * element >= 32 bytes (8 f32, 16 f16), so NHWC starts there.
int default_split(const Problem& problem, const detail::DeviceTraits& traits);

KnobTable make_im2col_knobs(const detail::DeviceTraits& traits, const RunOptions& options = {});

}  // namespace dcnjit::algo::im2col
