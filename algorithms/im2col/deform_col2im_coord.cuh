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
// uniform across the grid). Each thread processes Spec::items items together, a batch of channels at a
// time (tap_geometry.cuh), so the dcol and corner loads of all of them are in flight at once. With a
// split, each lane sums its own channels and the item's sums are reduced across the split's lanes by a
// fixed butterfly (split_sum) before the epilogue: bit-identical run to run for a given split.
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
// torchvision's order (exact_coordinate_gradients). A sum with a NaN term, or with an Inf and a -Inf,
// is NaN in any grouping, so the split's partial sums are non-finite exactly when the whole sum is
// (overflow of finite values aside, which docs/semantics.md leaves out), and the fallback, which does
// not depend on the split, sees the same items.
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
// the whole kernel until it spilled (the NVRTC sweep, 64-bit indices). The parameters are taken by
// value: a reference would take the address of the kernel's parameter block, and the kernel's own
// pointers read from it would then be generic, not global (every load an LD instead of LDG, every
// atomicAdd a generic ATOM with a shared-memory fallback; seen in the SASS, docs/perf.md).
template <class Spec>
DCN_DEVICE_NOINLINE void exact_coordinate_gradients(const SamplingParams p, typename Spec::index item_index) {
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
    const Compute dc = Compute(widen(grad_columns[item.column + Index(c) * column_step]));
    Compute v[4];
    item.corners(x, Index(c) * plane_step, v);
    const Compute d_py = s.wy[0] * v[0] + s.wy[1] * v[1] + s.wy[2] * v[2] + s.wy[3] * v[3];
    const Compute d_px = s.wx[0] * v[0] + s.wx[1] * v[1] + s.wx[2] * v[2] + s.wx[3] * v[3];
    const Compute value = s.value_reads ? s.w[0] * v[0] + s.w[1] * v[1] + s.w[2] * v[2] + s.w[3] * v[3] : Compute(0);
    grad_py += (term_m * d_py) * dc;
    grad_px += (term_m * d_px) * dc;
    grad_m += dc * value;
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
  constexpr int B = ChannelBatch<Spec>::size;
  const T* __restrict__ x = static_cast<const T*>(p.x);
  const T* __restrict__ grad_columns = static_cast<const T*>(p.grad_columns);
  Compute* __restrict__ grad_x = static_cast<Compute*>(p.grad_x_accum);
  const bool scatter = kScatterGradX && grad_x != nullptr;
  const Index plane_step = Spec::layout::template channel_stride<Index>(p.x_strides.channel);
  const Index column_step = column_channel_step<Spec>(p);
  const int lane = split_lane<Spec>();

  for_each_item_group<Spec>(work_items<Spec>(p), [&](const Index* items, const bool* valid) {
    // Items past the end keep going (valid == false) so warp-aggregated atomics see all 32 lanes.
    LoopItem<Spec> item[E];
    Compute corner_sums[E][4];  // S_k over this lane's channels
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
#pragma unroll 1
    for (int first = 0; first < Spec::channel_steps; first += B) {
      const ChannelBatch<Spec> batch(first, lane);
      // Every load of the batch first (dcol, then the corners), then the arithmetic and the atomics:
      // the compiler does not move loads of x above atomics to grad_x, so the order is written out.
      Compute dc[B][E];
#pragma unroll
      for (int b = 0; b < B; ++b)
#pragma unroll
        for (int e = 0; e < E; ++e)
          dc[b][e] = item[e].valid && batch.has[b]
                         ? Compute(widen(grad_columns[item[e].column + Index(batch.channel[b]) * column_step]))
                         : Compute(0);
      if (kCoordinateGrads) {
        Compute corner[B][E][4];
#pragma unroll
        for (int b = 0; b < B; ++b)
#pragma unroll
          for (int e = 0; e < E; ++e)
            item[e].corners(x, Index(batch.channel[b]) * plane_step, corner[b][e], batch.has[b]);
#pragma unroll
        for (int b = 0; b < B; ++b)
#pragma unroll
          for (int e = 0; e < E; ++e) {
            if (!batch.has[b]) continue;  // a lane past the last channel adds nothing (not even dc * x)
#pragma unroll
            for (int k = 0; k < 4; ++k) corner_sums[e][k] += dc[b][e] * corner[b][e][k];
            zero_sums[e] += dc[b][e] * Compute(0);
          }
      }
      if (scatter) {
#pragma unroll
        for (int b = 0; b < B; ++b)
#pragma unroll
          for (int e = 0; e < E; ++e) {
            const Compute scaled = item[e].modulation * dc[b][e];
            const Index plane = item[e].plane + Index(batch.channel[b]) * plane_step;
#pragma unroll
            for (int k = 0; k < 4; ++k)
              scatter_add<Spec::atomic, Spec::split>(grad_x, plane + item[e].idx[k], scaled * item[e].w[k],
                                                     batch.has[b] && item[e].scatters_to(k));
          }
      }
    }
    if (!kCoordinateGrads) return;
    // The item's sums over all its channels, the same bits in every lane of the split; lane 0 stores.
    if (Spec::split > 1) {
#pragma unroll
      for (int e = 0; e < E; ++e) {
#pragma unroll
        for (int k = 0; k < 4; ++k) corner_sums[e][k] = split_sum<Spec>(corner_sums[e][k]);
        zero_sums[e] = split_sum<Spec>(zero_sums[e]);
      }
      if (lane != 0) return;
    }
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
