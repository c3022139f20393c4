// Deformable im2col: column(b, c, t, p) = m * sample(x[b, c], py, px) for every channel c, tap t and
// output pixel p of the chunk (docs/semantics.md). The forward GEMM then multiplies each conv group's
// weights [Co/g, C/g * taps] by these columns (tap_geometry.cuh has their layout).
//
// Loads are branch-free: a sample point that contributes nothing has zero weights and corner offsets
// 0, so every thread issues the same 4 x items loads per channel and the result is selected afterwards.
#pragma once

#include "algorithms/im2col/tap_geometry.cuh"

namespace dcn {

template <class Spec>
DCN_DEVICE void deform_im2col(const SamplingParams& p) {
  using Index = typename Spec::index;
  using T = typename Spec::storage;
  using Compute = typename Spec::compute;
  constexpr int E = Spec::items;
  const T* __restrict__ x = static_cast<const T*>(p.x);
  T* __restrict__ columns = static_cast<T*>(p.columns);
  const Index plane_step = Spec::layout::template channel_stride<Index>(p.x_strides.channel);
  const Index column_step = column_channel_step<Spec>(p);

  for_each_item_group<Spec>(work_items<Spec>(p), [&](const Index* items, const bool* valid) {
    LoopItem<Spec> item[E];
#pragma unroll
    for (int e = 0; e < E; ++e) {
      ItemSample<Spec> sample;
      sample_item<Spec>(p, items[e], valid[e], sample);
      item[e].from(sample);
    }
#pragma unroll Spec::channel_unroll
    for (int c = 0; c < Spec::channels_per_group; ++c) {
      Compute value[E];
#pragma unroll
      for (int e = 0; e < E; ++e) {
        const T* __restrict__ plane = x + item[e].plane;
        const LoopItem<Spec>& it = item[e];
        value[e] = it.w[0] * widen(plane[it.idx[0]]) + it.w[1] * widen(plane[it.idx[1]]) +
                   it.w[2] * widen(plane[it.idx[2]]) + it.w[3] * widen(plane[it.idx[3]]);
      }
#pragma unroll
      for (int e = 0; e < E; ++e) {
        // m * 0 where the point contributes nothing: a non-finite mask still propagates (docs/semantics.md).
        if (item[e].valid)
          columns[item[e].column] = store_as<T>(item[e].modulation * (item[e].inside ? value[e] : Compute(0)));
        item[e].plane += plane_step;
        item[e].column += column_step;
      }
    }
  });
}

}  // namespace dcn
