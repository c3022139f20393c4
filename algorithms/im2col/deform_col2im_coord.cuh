// The backward sampling kernels of the im2col family. For every work item (b, g, t, p) and every
// channel c of group g, with dc = dcol(b, c, t, p) and m the mask value:
//
//   col2im        grad_x[b, c, corner k] += m * w_k * dc                   (atomic scatter, compute type)
//   coord         grad_offset[b, g, t, dy/dx, p] = m * sum_c dc * d sample/d py|px
//                 grad_mask[b, g, t, p]          =     sum_c dc * sample
//   col2im_coord  both, reading dcol and the sample weights once
//
// The coordinate sums belong to one item, so grad_offset and grad_mask are written exactly once,
// without atomics (items with no contribution write 0). A null grad_x_accum, grad_offset or grad_mask
// skips that output (a run-time test, uniform across the grid). Each thread processes Spec::items items
// together (tap_geometry.cuh), so the dcol and corner loads of all of them are in flight at once.
#pragma once

#include "algorithms/im2col/tap_geometry.cuh"

namespace dcn {

template <class Spec, bool kScatterGradX, bool kCoordinateGrads>
DCN_DEVICE void deform_backward_sampling(const SamplingParams& p) {
  using Index = typename Spec::index;
  using T = typename Spec::storage;
  using Compute = typename Spec::compute;
  constexpr int E = Spec::items;
  const T* __restrict__ x = static_cast<const T*>(p.x);
  const T* __restrict__ grad_columns = static_cast<const T*>(p.grad_columns);
  Compute* __restrict__ grad_x = static_cast<Compute*>(p.grad_x_accum);
  T* __restrict__ grad_offset = static_cast<T*>(p.grad_offset);
  T* __restrict__ grad_mask = static_cast<T*>(p.grad_mask);
  const bool scatter = kScatterGradX && grad_x != nullptr;
  const Index plane_step = Spec::layout::template channel_stride<Index>(p.x_strides.channel);
  const Index column_step = column_channel_step<Spec>(p);

  for_each_item_group<Spec>(work_items<Spec>(p), [&](const Index* items, const bool* valid) {
    // Items past the end keep going (valid == false) so warp-aggregated atomics see all 32 lanes.
    LoopItem<Spec> item[E];
    // The coordinate gradients are sums over channels of dc * (weights . corners); the channel loop only
    // accumulates the four corner dot products sum_c dc * x_c[k], and the weights and their derivatives
    // are applied once afterwards: 4 accumulators per item instead of 12 weights kept live (items x 4
    // sums in flight fit the register budget without spills).
    Compute corner_sums[E][4];
#pragma unroll
    for (int e = 0; e < E; ++e) {
      ItemSample<Spec> sample;
      sample_item<Spec>(p, items[e], valid[e], sample);
      item[e].from(sample);
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
        for (int e = 0; e < E; ++e)
#pragma unroll
          for (int k = 0; k < 4; ++k) corner[e][k] = widen(x[item[e].plane + item[e].idx[k]]);
#pragma unroll
        for (int e = 0; e < E; ++e)
#pragma unroll
          for (int k = 0; k < 4; ++k) corner_sums[e][k] += dc[e] * corner[e][k];
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
      if (!item[e].valid) continue;
      ItemSample<Spec> sample;  // recomputed: see LoopItem
      sample_item<Spec>(p, items[e], valid[e], sample);
      const TapPoint<Index, Compute>& at = sample.at;
      const TapSample<Compute, Index>& s = sample.s;  // zero weights where the point contributes nothing
      const Compute* v = corner_sums[e];
      // A point that contributes nothing has zero coordinate sums, whatever its (unused) corner loads held.
      const bool inside = sample.inside;
      const Compute grad_py = inside ? s.wy[0] * v[0] + s.wy[1] * v[1] + s.wy[2] * v[2] + s.wy[3] * v[3] : Compute(0);
      const Compute grad_px = inside ? s.wx[0] * v[0] + s.wx[1] * v[1] + s.wx[2] * v[2] + s.wx[3] * v[3] : Compute(0);
      const Compute grad_m = inside ? s.w[0] * v[0] + s.w[1] * v[1] + s.w[2] * v[2] + s.w[3] * v[3] : Compute(0);
      if (grad_offset != nullptr) {
        grad_offset[at.offset_y_at] = store_as<T>(at.modulation * grad_py);
        grad_offset[at.offset_x_at] = store_as<T>(at.modulation * grad_px);
      }
      if (Spec::has_mask && grad_mask != nullptr) grad_mask[at.mask_at] = store_as<T>(grad_m);
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
