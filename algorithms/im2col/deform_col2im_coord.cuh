// The backward sampling kernels of the im2col family. For every work item (b, g, t, p) and every
// channel c of group g, with dc = dcol(b, c, t, p) and m the mask value:
//
//   col2im        grad_x[b, c, corner k] += m * w_k * dc                   (atomic scatter, compute type)
//   coord         grad_offset[b, g, t, dy/dx, p] = sum_c (m * d sample/d py|px) * dc
//                 grad_mask[b, g, t, p]          = sum_c dc * sample
//   col2im_coord  both, reading dcol and the sample weights once
//
// The coordinate sums belong to one item, so grad_offset and grad_mask are written exactly once,
// without atomics. A null grad_x_accum, grad_offset or grad_mask skips that output (a run-time test,
// uniform across the grid). Each thread processes Spec::items items together (tap_geometry.cuh), so the
// dcol and corner loads of all of them are in flight at once.
//
// The channel loop accumulates only the four corner dot products S_k = sum_c dc * x_c[k] per item, and
// the weights (and their derivatives) are applied once afterwards: sum_c dc * (w . x_c) = w . S. That
// is 4 accumulators per item instead of 12 weights kept live, which is what lets 2 and 4 items per
// thread compile without spills (the NVRTC sweep), and 4 FMAs per channel instead of 15.
//
// Non-finite inputs follow torchvision's formula in IEEE arithmetic (docs/semantics.md): corners
// outside the image read as 0; a point that reads nothing (or, for the value, v2's -1 border) still adds
// dc * 0 (NaN for a NaN or Inf dc); a finite m multiplies the sum, an infinite m each channel's term.
// The factored sums are the same numbers for finite inputs but not the same Inf/NaN positions (an Inf
// dc makes S_k infinite with mixed signs, and w . S turns them into NaN where the channel-by-channel
// sum keeps the Inf). So when a mask, a corner sum or Z = sum_c dc * 0 is not finite, which finite
// inputs never cause, the item's three sums are recomputed channel by channel after the loop, in
// torchvision's order (exact_coordinate_sums).
#pragma once

#include "algorithms/im2col/tap_geometry.cuh"

namespace dcn {

template <class Spec>
DCN_DEVICE void store_coordinate_gradients(const SamplingParams& p,
                                           const TapPoint<typename Spec::index, typename Spec::compute>& at,
                                           typename Spec::compute grad_py, typename Spec::compute grad_px,
                                           typename Spec::compute grad_m) {
  using T = typename Spec::storage;
  if (p.grad_offset != nullptr) {
    static_cast<T*>(p.grad_offset)[at.offset_y_at] = store_as<T>(grad_py);
    static_cast<T*>(p.grad_offset)[at.offset_x_at] = store_as<T>(grad_px);
  }
  if (Spec::has_mask && p.grad_mask != nullptr) static_cast<T*>(p.grad_mask)[at.mask_at] = store_as<T>(grad_m);
}

// The coordinate gradients of one item, channel by channel in torchvision's order and IEEE arithmetic:
// grad_py = sum_c (m * d sample/d py) * dc (m outside the sum when finite: the same positions), and
// grad_mask = sum_c dc * sample; stored like the fast path stores them. Not inlined: only items with
// non-finite inputs come here, and inlined copies of it (one per item) raised the register pressure of
// the whole kernel until it spilled (the NVRTC sweep, 64-bit indices).
template <class Spec>
DCN_DEVICE_NOINLINE void exact_coordinate_gradients(const SamplingParams& p, typename Spec::index item_index) {
  using Index = typename Spec::index;
  using T = typename Spec::storage;
  using Compute = typename Spec::compute;
  const T* __restrict__ x = static_cast<const T*>(p.x);
  const T* __restrict__ grad_columns = static_cast<const T*>(p.grad_columns);
  const Index plane_step = Spec::layout::template channel_stride<Index>(p.x_strides.channel);
  const Index column_step = column_channel_step<Spec>(p);
  ItemSample<Spec> sample;
  sample_item<Spec>(p, item_index, true, sample);
  LoopItem<Spec> item;
  item.from(sample);
  const TapSample<Compute, Index>& s = sample.s;
  const Compute m = sample.at.modulation;
  const bool finite_m = is_finite(m);
  const Compute term_m = finite_m ? Compute(1) : m;  // m inside each channel's term, or outside the sum
  Compute grad_py = Compute(0), grad_px = Compute(0), grad_m = Compute(0);
  for (int c = 0; c < Spec::channels_per_group; ++c) {
    const Compute dc = Compute(widen(grad_columns[item.column]));
    Compute v[4];
    item.corners(x, v);
    const Compute d_py = s.wy[0] * v[0] + s.wy[1] * v[1] + s.wy[2] * v[2] + s.wy[3] * v[3];
    const Compute d_px = s.wx[0] * v[0] + s.wx[1] * v[1] + s.wx[2] * v[2] + s.wx[3] * v[3];
    const Compute value = s.value_reads ? s.w[0] * v[0] + s.w[1] * v[1] + s.w[2] * v[2] + s.w[3] * v[3] : Compute(0);
    grad_py += (term_m * d_py) * dc;
    grad_px += (term_m * d_px) * dc;
    grad_m += dc * value;
    item.plane += plane_step;
    item.column += column_step;
  }
  if (finite_m) {
    grad_py *= m;
    grad_px *= m;
  }
  store_coordinate_gradients<Spec>(p, sample.at, grad_py, grad_px, grad_m);
}

template <class Spec, bool kScatterGradX, bool kCoordinateGrads>
DCN_DEVICE void deform_backward_sampling(const SamplingParams& p) {
  using Index = typename Spec::index;
  using T = typename Spec::storage;
  using Compute = typename Spec::compute;
  constexpr int E = Spec::items;
  const T* __restrict__ x = static_cast<const T*>(p.x);
  const T* __restrict__ grad_columns = static_cast<const T*>(p.grad_columns);
  Compute* __restrict__ grad_x = static_cast<Compute*>(p.grad_x_accum);
  const bool scatter = kScatterGradX && grad_x != nullptr;
  const Index plane_step = Spec::layout::template channel_stride<Index>(p.x_strides.channel);
  const Index column_step = column_channel_step<Spec>(p);

  for_each_item_group<Spec>(work_items<Spec>(p), [&](const Index* items, const bool* valid) {
    // Items past the end keep going (valid == false) so warp-aggregated atomics see all 32 lanes.
    LoopItem<Spec> item[E];
    Compute corner_sums[E][4];  // S_k
    Compute zero_sums[E];       // Z = sum_c dc * 0: NaN when some dc is not finite
#pragma unroll
    for (int e = 0; e < E; ++e) {
      ItemSample<Spec> sample;
      sample_item<Spec>(p, items[e], valid[e], sample);
      item[e].from(sample);
      zero_sums[e] = Compute(0);
#pragma unroll
      for (int k = 0; k < 4; ++k) corner_sums[e][k] = Compute(0);
    }
#pragma unroll Spec::channel_unroll
    for (int c = 0; c < Spec::channels_per_group; ++c) {
      Compute dc[E];
#pragma unroll
      for (int e = 0; e < E; ++e) dc[e] = item[e].valid ? Compute(widen(grad_columns[item[e].column])) : Compute(0);
      if (kCoordinateGrads) {
        Compute corner[E][4];
#pragma unroll
        for (int e = 0; e < E; ++e) item[e].corners(x, corner[e]);
#pragma unroll
        for (int e = 0; e < E; ++e) {
#pragma unroll
          for (int k = 0; k < 4; ++k) corner_sums[e][k] += dc[e] * corner[e][k];
          zero_sums[e] += dc[e] * Compute(0);
        }
      }
      if (scatter) {
#pragma unroll
        for (int e = 0; e < E; ++e) {
          const Compute scaled = item[e].modulation * dc[e];
#pragma unroll
          for (int k = 0; k < 4; ++k) {
            // Zero-weight corners (outside the image, or exactly on a cell border) are skipped: they
            // would add nothing, or NaN * 0 from a non-finite dcol, to an unrelated element.
            const bool contributes = item[e].inside && item[e].w[k] != Compute(0);
            scatter_add<Spec::atomic>(grad_x, item[e].plane + item[e].idx[k], scaled * item[e].w[k], contributes);
          }
        }
      }
#pragma unroll
      for (int e = 0; e < E; ++e) {
        item[e].plane += plane_step;
        item[e].column += column_step;
      }
    }
    if (!kCoordinateGrads) return;
#pragma unroll
    for (int e = 0; e < E; ++e) {
      if (!valid[e]) continue;
      ItemSample<Spec> sample;  // recomputed: see LoopItem
      sample_item<Spec>(p, items[e], valid[e], sample);
      const TapPoint<Index, Compute>& at = sample.at;
      const TapSample<Compute, Index>& s = sample.s;  // zero weights where the point contributes nothing
      const Compute* v = corner_sums[e];
      if (!(is_finite(at.modulation) && is_finite(zero_sums[e]) && is_finite(v[0]) && is_finite(v[1]) &&
            is_finite(v[2]) && is_finite(v[3]))) {
        exact_coordinate_gradients<Spec>(p, items[e]);
        continue;
      }
      // w . S, with zero weights where the point reads nothing (then the sums are 0 * m = 0).
      store_coordinate_gradients<Spec>(
          p, at, at.modulation * (s.wy[0] * v[0] + s.wy[1] * v[1] + s.wy[2] * v[2] + s.wy[3] * v[3]),
          at.modulation * (s.wx[0] * v[0] + s.wx[1] * v[1] + s.wx[2] * v[2] + s.wx[3] * v[3]),
          s.value_reads ? s.w[0] * v[0] + s.w[1] * v[1] + s.w[2] * v[2] + s.w[3] * v[3] : Compute(0));
    }
  });
}

template <class Spec>
DCN_DEVICE void deform_col2im(const SamplingParams& p) { deform_backward_sampling<Spec, true, false>(p); }

template <class Spec>
DCN_DEVICE void deform_coord(const SamplingParams& p) { deform_backward_sampling<Spec, false, true>(p); }

template <class Spec>
DCN_DEVICE void deform_col2im_coord(const SamplingParams& p) { deform_backward_sampling<Spec, true, true>(p); }

}  // namespace dcn
