// The knob table of the fused algorithm and the typed view its kernels and passes read.
// docs/architecture.md lists every algorithm's knobs; docs/gpu.md explains the fused tiling.
//
//   bm, bn, bk  the CTA tile: BM rows (output channels forward and for the weight gradient; input
//               channels for the data gradient) x BN columns (pixels; (c, t) pairs for the weight
//               gradient), reduced in BK steps
//   wm, wn      warps along BM and BN (32 * wm * wn threads)
//   stages      depth of the cp.async ring that brings the weights in (forward, data gradient)
//   order       the reduction order over (channel, tap): tap-major (one sample point serves a run of
//               channels) or channel-major (the weights' own order)
//   split       the weight gradient's split over pixels (CTAs sharing one output tile, summed in a
//               fixed order afterwards)
//   atomic      how the data gradient writes grad_x: plain (an atomicAdd scatter from the epilogue) or
//               gather (deterministic: the dcol tiles to a column gradient, then a fixed-order gather
//               over a map of each input pixel's entries, fused_gather.cuh)
//   step        images per chunk of the deterministic data gradient (its column gradient and map hold
//               this many images); the scatter runs every image at once whatever it says
//
// A deterministic engine (RunOptions::deterministic) offers only atomic=gather and rejects plain with
// the reason; a non-deterministic engine offers (tunes) only plain, but runs gather when asked for.
#pragma once

#include <string>

#include "algorithms/kernel_device.h"
#include "algorithms/launch_context.h"
#include "core/knob_table.h"
#include "dcnjit/problem.h"

namespace dcnjit::algo::fused {

enum class MmaKind { ffma, f16, bf16, tf32 };

struct FusedKnobs {
  int bm = 64, bn = 64, bk = 32;
  int wm = 2, wn = 2;
  int stages = 3;
  bool tap_major = true;
  int split = 1;
  bool gather = false;  // atomic=gather: the deterministic grad_x
  int step = 1;         // images per chunk of the deterministic data gradient

  int threads() const { return 32 * wm * wn; }
  static FusedKnobs of(const KnobTable& table, const Config& config);
};

// f16 and bf16 run on tensor cores; f32 by FFMA (exact), or on tf32 tensor cores with allow_tf32.
MmaKind mma_kind(DType dtype, const RunOptions& options);

// Why a tile cannot run (threads, warp tiles, registers, shared memory); empty when it can.
std::string tile_problem(const Problem& problem, const FusedKnobs& knobs, MmaKind mma,
                         const detail::DeviceTraits& traits);

// The heuristic config's tile (what `fused` alone resolves to): bm, bk and split depend on the problem.
FusedKnobs default_knobs(const Problem& problem, const detail::DeviceTraits& traits, const RunOptions& options);

// The heuristic's step for atomic=gather: the fewest chunks whose f32 column gradient fits in 3/4 of the
// device's L2 (the epilogue's stores are still there when the gather reads them), the images spread
// evenly over them; at least 1 image per chunk.
int default_step(const Problem& problem, std::size_t l2_bytes);

KnobTable make_fused_knobs(const detail::DeviceTraits& traits, const RunOptions& options);

}  // namespace dcnjit::algo::fused
