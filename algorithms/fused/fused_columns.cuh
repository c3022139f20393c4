// The column gradient of the fused data gradient in deterministic mode (atomic=gather): the dcol tile
// the kernel's epilogue would scatter, stored for one chunk of images (f32: the values the scatter would
// add, unrounded) so that fused_gather.cuh can sum each grad_x element in a fixed order. Pixels n are
// numbered across the chunk's images (fused_params.cuh), `pixels` = the chunk's images * Ho*Wo:
//   NCHW  [C][taps][pixels]   pixel fastest: the epilogue's threads along a tile row store adjacent words
//   NHWC  [taps][pixels][C]   channel fastest: the gather's adjacent channels read adjacent words
// Both order the elements of one offset group's first channel by (tap, pixel), the gather's summation
// order, so NCHW and NHWC give the same sums.
#pragma once

#include "algorithms/fused/fused_params.cuh"

namespace dcn {

template <class Spec>
DCN_DEVICE typename Spec::index dcol_at(const FusedParams& p, typename Spec::index n, int tap,
                                        typename Spec::index channel) {
  using Index = typename Spec::index;
  const Index pixels = Index(p.N) * Index(p.Ho) * Index(p.Wo);
  if (Spec::layout::channels_last) return (Index(tap) * pixels + n) * Index(p.C) + channel;
  return (channel * Index(Spec::taps) + Index(tap)) * pixels + n;
}

// Elements from one channel's dcol to the next channel's (same tap and pixel).
template <class Spec>
DCN_DEVICE typename Spec::index dcol_channel_step(const FusedParams& p) {
  using Index = typename Spec::index;
  if (Spec::layout::channels_last) return Index(1);
  return Index(Spec::taps) * Index(p.N) * Index(p.Ho) * Index(p.Wo);
}

}  // namespace dcn
