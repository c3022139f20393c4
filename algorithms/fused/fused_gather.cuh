// The fused algorithm's deterministic grad_x (the `atomic=gather` config; a deterministic engine runs
// nothing else): per chunk of images, the data gradient stores its dcol tiles to the column gradient
// (fused_columns.cuh) instead of scattering them, and grad_x is summed by one thread per element over a
// map of each input pixel's entries, in a fixed order. The map and the summation are the ones the im2col
// algorithm's gather uses (algorithms/gather/pixel_map.cuh explains them); this file holds what depends
// on the fused geometry:
//   fused_map_count, fused_map_fill  per work item (image, offset group, tap, output pixel), one thread
//                                    each: its scattering corners (the point contributes, w_k != 0, as
//                                    the scatter's test) with key column * 4 + k, column = the item's
//                                    dcol element for its group's first channel, weight m * w_k
//   fused_map_scan, fused_map_sort   the shared scan and sort over the params' map
//   fused_gather                     per map pixel and batch of kGatherBatch channels of its group:
//                                    grad_x = the entries' weight * dcol summed in key order, i.e.
//                                    ascending (tap, output pixel), in f32, rounded once to the storage
//                                    type (no f32 accumulator, no cast for f16/bf16)
// Integer atomics only: the same bits on every run and in every thread order.
#pragma once

#include "algorithms/fused/fused_columns.cuh"
#include "algorithms/fused/fused_sampling.cuh"
#include "algorithms/gather/pixel_map.cuh"

namespace dcn {

// Calls entry(q, column, k, weight) for every scattering corner of every work item of the chunk; work
// items are numbered pixel fastest (coalesced offset and mask reads in NCHW), one per thread, grid-stride.
template <class Spec, typename Entry>
DCN_DEVICE void for_each_map_entry(const FusedParams& p, Entry entry) {
  using Index = typename Spec::index;
  using L = typename Spec::layout;
  const Index P = Index(p.Ho) * Index(p.Wo), plane = Index(p.H) * Index(p.W);
  const Index items = Index(p.N) * Index(p.offset_groups) * Index(Spec::taps) * P;
  const Index pixel_stride = L::template pixel_stride<Index>(p.x_strides.pixel);
  const Index step = Index(gridDim.x) * Index(blockDim.x);
  for (Index item = Index(blockIdx.x) * Index(blockDim.x) + Index(threadIdx.x); item < items; item += step) {
    const Index pixel = item % P;
    Index rest = item / P;
    const int tap = int(rest % Index(Spec::taps));
    rest /= Index(Spec::taps);
    const Index og = rest % Index(p.offset_groups), image = rest / Index(p.offset_groups);
    SamplePoint<Spec> point;
    locate_point<Spec>(p, image * P + pixel, tap, og, point);
    const Index row = (image * Index(p.offset_groups) + og) * plane;  // map pixel of (image, og, pixel 0)
    const Index column = dcol_at<Spec>(p, image * P + pixel, tap, og * Index(Spec::offset_group_channels));
#pragma unroll
    for (int k = 0; k < 4; ++k)
      // locate_point scaled the corner to an x element offset; the map wants its pixel y*W + x.
      if (point.inside && point.s.w[k] != 0.0f)
        entry(row + point.s.idx[k] / pixel_stride, column, k, point.modulation * point.s.w[k]);
  }
}

template <class Spec>
DCN_DEVICE void fused_map_count(const FusedParams& p) {
  using Index = typename Spec::index;
  using Count = typename CountOf<Index>::type;
  for_each_map_entry<Spec>(p, [&](Index q, Index, int, float) { count_entry<Count>(p.map, q); });
}

template <class Spec>
DCN_DEVICE void fused_map_fill(const FusedParams& p) {
  using Index = typename Spec::index;
  using Count = typename CountOf<Index>::type;
  for_each_map_entry<Spec>(
      p, [&](Index q, Index column, int k, float weight) { fill_entry<Count>(p.map, q, column, k, weight); });
}

template <class Spec>
DCN_DEVICE void fused_map_scan(const FusedParams& p) {
  scan_pixel_map<Spec>(p.map);
}

template <class Spec>
DCN_DEVICE void fused_map_sort(const FusedParams& p) {
  sort_pixel_map<Spec>(p.map);
}

template <class Spec>
DCN_DEVICE void fused_gather(const FusedParams& p) {
  using Index = typename Spec::index;
  using Count = typename CountOf<Index>::type;
  using T = typename Spec::storage;
  using L = typename Spec::layout;
  constexpr int kChannels = Spec::offset_group_channels;
  constexpr int kBatch = kGatherBatch < kChannels ? kGatherBatch : kChannels;
  constexpr int kBatches = (kChannels + kBatch - 1) / kBatch;
  const float* __restrict__ dcol = static_cast<const float*>(p.grad_columns);
  T* __restrict__ grad_x = static_cast<T*>(p.grad_x);
  const Index pixels = Index(p.map.pixels), plane = Index(p.H) * Index(p.W);
  const Index column_step = dcol_channel_step<Spec>(p);
  const Index work = pixels * Index(kBatches);
  const Index step = Index(gridDim.x) * Index(blockDim.x);
  for (Index w = Index(blockIdx.x) * Index(blockDim.x) + Index(threadIdx.x); w < work; w += step) {
    // Adjacent threads take adjacent grad_x elements: NCHW adjacent pixels, NHWC adjacent channel batches.
    const Index q = L::channels_last ? w / Index(kBatches) : w % pixels;
    const int batch = int(L::channels_last ? w % Index(kBatches) : w / pixels);
    const Index pixel = q % plane, rest = q / plane;
    const Index og = rest % Index(p.offset_groups), image = rest / Index(p.offset_groups);
    Index channel_offset[kBatch];
    float sum[kBatch];
#pragma unroll
    for (int b = 0; b < kBatch; ++b) {
      const int c = batch * kBatch + b;
      channel_offset[b] = Index(c < kChannels ? c : 0) * column_step;  // in range; its sum is not stored
      sum[b] = 0.0f;
    }
    sum_entries<kBatch, Count>(p.map, q, dcol, channel_offset, sum);
#pragma unroll
    for (int b = 0; b < kBatch; ++b) {
      const int c = batch * kBatch + b;
      if (c < kChannels)
        grad_x[activation_index<Spec>(p.x_strides, image, og * Index(kChannels) + Index(c), pixel)] =
            store_as<T>(sum[b]);
    }
  }
}

}  // namespace dcn
