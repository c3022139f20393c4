// Deformable im2col: column(b, c, t, p) = m * sample(x[b, c], py, px) for every channel c, tap t and
// output pixel p of the chunk (docs/semantics.md). The forward GEMM then multiplies each conv group's
// weights [Co/g, C/g * taps] by these columns (tap_geometry.cuh has their layout).
//
// Loads are branch-free: a corner that does not exist has offset 0, so every thread issues the same
// 4 x items x channel_batch loads per batch of channels and the values are selected afterwards. With a
// split (tap_geometry.cuh) each lane writes its own channels' columns: nothing to reduce. Non-finite
// inputs follow torchvision's formula (docs/semantics.md): a corner outside the image is 0 (never a
// zero weight times whatever the loaded element holds), a point that reads nothing has value 0, and
// m * 0 still carries a NaN or Inf mask.
#pragma once

#include "algorithms/im2col/tap_geometry.cuh"

namespace dcn {

template <class Spec>
DCN_DEVICE void deform_im2col(const SamplingParams& p) {
  using Index = typename Spec::index;
  using T = typename Spec::storage;
  using Compute = typename Spec::compute;
  constexpr int E = Spec::items;
  constexpr int B = ChannelBatch<Spec>::size;
  const T* __restrict__ x = static_cast<const T*>(p.x);
  T* __restrict__ columns = static_cast<T*>(p.columns);
  const Index plane_step = Spec::layout::template channel_stride<Index>(p.x_strides.channel);
  const Index column_step = column_channel_step<Spec>(p);
  const int lane = split_lane<Spec>();

  for_each_item_group<Spec>(work_items<Spec>(p), [&](const Index* items, const bool* valid) {
    LoopItem<Spec> item[E];
#pragma unroll
    for (int e = 0; e < E; ++e) {
      ItemSample<Spec> sample;
      sample_item<Spec>(p, items[e], valid[e], sample);
      item[e].from(sample);
    }
#pragma unroll 1
    for (int first = 0; first < Spec::channel_steps; first += B) {
      const ChannelBatch<Spec> batch(first, lane);
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
          const LoopItem<Spec>& it = item[e];
          const Compute* v = corner[b][e];
          const Compute value = it.value_reads ? it.w[0] * v[0] + it.w[1] * v[1] + it.w[2] * v[2] + it.w[3] * v[3]
                                               : Compute(0);
          if (it.valid && batch.has[b])
            columns[it.column + Index(batch.channel[b]) * column_step] = store_as<T>(it.modulation * value);
        }
    }
  });
}

}  // namespace dcn
