// The im2col algorithm's deterministic col2im (the `atomic=gather` config; a deterministic engine runs
// nothing else): grad_x by a fixed-order gather over a map of each input pixel's entries, the map and the
// summation shared with the fused algorithm (algorithms/gather/pixel_map.cuh explains them). This file
// holds what depends on the im2col geometry: the count and fill kernels walk the sampling work items
// (tap_geometry.cuh), an entry's column is the item's element of the column buffer for its group's first
// channel, and the gather walks the map pixels with the sampling kernels' split. The scan and sort
// kernels are the shared ones, over the SamplingParams' map.
//
// An entry is shared by the group's channels (they sample at the same point), which is what amortizes
// the map: it is built once per chunk, then read channels-per-group times. The sums run in key order:
// ascending column, i.e. NCHW (tap, output pixel), NHWC (output pixel, tap).
//
// The gather kernel uses the split like the sampling kernels (tap_geometry.cuh): the `split` lanes of a
// pixel walk its group's channels interleaved (adjacent channels in adjacent lanes: coalesced grad_x
// stores in NHWC), each lane reading the pixel's entries once per batch of kGatherBatch channels, and
// kGatherEntries entries at a time. f16 and bf16 need no f32 accumulator and no cast: each grad_x
// element is summed in f32 in registers and written once.
#pragma once

#include "algorithms/gather/pixel_map.cuh"
#include "algorithms/im2col/tap_geometry.cuh"

namespace dcn {

template <class Spec>
DCN_DEVICE typename Spec::index map_pixels(const SamplingParams& p) {
  using Index = typename Spec::index;
  return Index(p.images) * Index(p.offset_groups) * Index(p.H) * Index(p.W);
}

// One work item's entries: where its corners scatter and with which weight.
template <class Spec>
struct MapItem {
  using Index = typename Spec::index;
  using Compute = typename Spec::compute;
  Index column;       // column element of (item, its group's first channel)
  Index row;          // map pixel of (image, group, pixel 0)
  Index pixel[4];     // y*W + x of corner k (0 where it does not scatter)
  Compute weight[4];  // m * w_k
  bool scatters[4];   // LoopItem::scatters_to(k)

  DCN_DEVICE void locate(const SamplingParams& p, Index item) {
    const TapPoint<Index, Compute> at = locate_tap<Spec>(p, item);
    TapSample<Compute, Index> s;
    const bool inside = sample_tap<Spec::boundary>(at.py, at.px, int(p.H), int(p.W), s);
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      scatters[k] = inside && s.w[k] != Compute(0);
      pixel[k] = scatters[k] ? s.idx[k] : Index(0);
      weight[k] = scatters[k] ? at.modulation * s.w[k] : Compute(0);
    }
    row = (at.image * Index(p.offset_groups) + at.group) * Index(p.H) * Index(p.W);
    column = column_at<Spec>(p, at, at.group * Index(Spec::channels_per_group));
  }
};

template <class Spec>
DCN_DEVICE void col2im_count(const SamplingParams& p) {
  using Index = typename Spec::index;
  using Count = typename CountOf<Index>::type;
  static_assert(Spec::split == 1, "one lane per item: each corner is counted once");
  for_each_item_group<Spec>(work_items<Spec>(p), [&](const Index* items, const bool* valid) {
#pragma unroll
    for (int e = 0; e < Spec::items; ++e) {
      if (!valid[e]) continue;
      MapItem<Spec> item;
      item.locate(p, items[e]);
#pragma unroll
      for (int k = 0; k < 4; ++k)
        if (item.scatters[k]) count_entry<Count>(p.map, item.row + item.pixel[k]);
    }
  });
}

template <class Spec>
DCN_DEVICE void col2im_fill(const SamplingParams& p) {
  using Index = typename Spec::index;
  using Count = typename CountOf<Index>::type;
  using Compute = typename Spec::compute;
  static_assert(Spec::split == 1, "one lane per item: each corner is entered once");
  for_each_item_group<Spec>(work_items<Spec>(p), [&](const Index* items, const bool* valid) {
#pragma unroll
    for (int e = 0; e < Spec::items; ++e) {
      if (!valid[e]) continue;
      MapItem<Spec> item;
      item.locate(p, items[e]);
#pragma unroll
      for (int k = 0; k < 4; ++k)
        if (item.scatters[k]) fill_entry<Count>(p.map, item.row + item.pixel[k], item.column, k, item.weight[k]);
    }
  });
}

// The shared scan and sort (algorithms/gather/pixel_map.cuh) over this chunk's map.
template <class Spec>
DCN_DEVICE void col2im_scan(const SamplingParams& p) {
  scan_pixel_map<Spec>(p.map);
}

template <class Spec>
DCN_DEVICE void col2im_sort(const SamplingParams& p) {
  sort_pixel_map<Spec>(p.map);
}

template <class Spec>
DCN_DEVICE void col2im_gather(const SamplingParams& p) {
  using Index = typename Spec::index;
  using Count = typename CountOf<Index>::type;
  using T = typename Spec::storage;
  using Compute = typename Spec::compute;
  using L = typename Spec::layout;
  constexpr int kBatch = kGatherBatch < Spec::channel_steps ? kGatherBatch : Spec::channel_steps;
  const T* __restrict__ grad_columns = static_cast<const T*>(p.grad_columns);
  T* __restrict__ grad_x = static_cast<T*>(p.grad_x);
  const Index column_step = column_channel_step<Spec>(p);
  const Index channel_stride = L::template channel_stride<Index>(p.x_strides.channel);
  const Index pixel_stride = L::template pixel_stride<Index>(p.x_strides.pixel);
  const Index plane = Index(p.H) * Index(p.W);
  const int lane = split_lane<Spec>();

  // Work items here are map pixels, `split` lanes each (tap_geometry.cuh's decomposition).
  for_each_item_group<Spec>(map_pixels<Spec>(p), [&](const Index* items, const bool* valid) {
#pragma unroll 1
    for (int e = 0; e < Spec::items; ++e) {
      if (!valid[e]) continue;
      const Index q = items[e];
      const Index pixel = q % plane, rest = q / plane;
      const Index group = rest % Index(p.offset_groups), image = rest / Index(p.offset_groups);
      const Index first_channel = group * Index(Spec::channels_per_group);
      const Index out = image * Index(p.x_strides.image) + first_channel * channel_stride + pixel * pixel_stride;
#pragma unroll 1
      for (int first = 0; first < Spec::channel_steps; first += kBatch) {
        int channel[kBatch];
        bool has[kBatch];
        Compute sum[kBatch];
#pragma unroll
        for (int b = 0; b < kBatch; ++b) {
          const int c = (first + b) * Spec::split + lane;
          has[b] = c < Spec::channels_per_group;
          channel[b] = has[b] ? c : lane;  // in range; its sum is not stored
          sum[b] = Compute(0);
        }
        Index channel_offset[kBatch];
#pragma unroll
        for (int b = 0; b < kBatch; ++b) channel_offset[b] = Index(channel[b]) * column_step;
        sum_entries<kBatch, Count>(p.map, q, grad_columns, channel_offset, sum);
#pragma unroll
        for (int b = 0; b < kBatch; ++b)
          if (has[b]) grad_x[out + Index(channel[b]) * channel_stride] = store_as<T>(sum[b]);
      }
    }
  });
}

}  // namespace dcn
