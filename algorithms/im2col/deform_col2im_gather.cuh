// The deterministic col2im (the `atomic=gather` config; a deterministic engine runs nothing else):
// grad_x without floating-point atomics, so the result is the same bits on every run and, under sim, in
// every thread order. The scatter col2im adds m * w_k * dc to the corner k of every item and channel
// with atomicAdd, in whatever order the threads arrive; here every element of grad_x is instead summed
// by one thread, over a list of the entries that touch it in a fixed order.
//
// Per chunk, for every map pixel q = (image, offset group, input pixel): the entries (item, corner k)
// whose corner k is q and scatters there (LoopItem::scatters_to: the point contributes and w_k != 0).
// An entry is shared by the group's channels (they sample at the same point), which is what amortizes
// the map: it is built once per chunk, then read channels-per-group times.
//
//   col2im_count   per item and scattering corner: counts[q] += 1                    (integer atomics)
//   col2im_scan    phase 0: entries per tile of block_threads * kMapScanRows pixels; phase 1 (one block):
//                  their exclusive prefix sum; phase 2: starts[q] = exclusive prefix of counts, and
//                  counts[q] = starts[q] as the fill cursor. starts[map_pixels] = the number of entries.
//   col2im_fill    per item and scattering corner: slot = atomicAdd(cursor[q], 1), then
//                  keys[slot] = column * 4 + k and weights[slot] = m * w_k        (integer atomics)
//   col2im_sort    per pixel: its entries sorted by key (keys are unique, so the order is unique)
//   col2im_gather  per pixel and channel c of the group: grad_x = sum over the entries in key order of
//                  weight * dcol[column + c * column_step], in the compute type, rounded once to the
//                  storage type; a pixel with no entries gets 0.
//
// Integer atomics give order-independent results: counts and cursors are exact, and the slots the fill
// hands out vary only in which entry lands where within a pixel's range, which the sort undoes. The
// sums then run in key order: ascending column, i.e. NCHW (tap, output pixel), NHWC (output pixel, tap).
//
// Non-finite inputs (docs/semantics.md): the entries are exactly the corners the scatter writes, with the
// term (m * w_k) * dc of the contract, so NaN and Inf land where the scatter puts them; a pixel without
// entries is 0.
//
// The gather kernel uses the split like the sampling kernels (tap_geometry.cuh): the `split` lanes of a
// pixel walk its group's channels interleaved (adjacent channels in adjacent lanes: coalesced grad_x
// stores in NHWC), each lane reading the pixel's entries once per batch of kGatherBatch channels, and
// kGatherEntries entries at a time. f16 and
// bf16 need no f32 accumulator and no cast: each grad_x element is summed in f32 in registers and
// written once.
#pragma once

#include "algorithms/im2col/tap_geometry.cuh"

namespace dcn {

// Unsigned counters and keys of the index's width: CUDA's integer atomicAdd takes unsigned and
// unsigned long long.
template <typename Index> struct CountOf;
template <> struct CountOf<int> { using type = unsigned; };
template <> struct CountOf<long long> { using type = unsigned long long; };

// The specialization of col2im_scan and col2im_sort, which know nothing of the sampling geometry.
template <int DTypeId, typename IndexT, int BlockThreads>
struct MapSpec {
  static_assert(BlockThreads % 32 == 0 && BlockThreads <= 1024, "block_threads: whole warps, at most 1024");
  using compute = typename ComputeOf<DTypeId>::type;
  using index = IndexT;
  using count = typename CountOf<IndexT>::type;
  static constexpr int block_threads = BlockThreads;
};

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
  Count* __restrict__ counts = static_cast<Count*>(p.map_counts);
  for_each_item_group<Spec>(work_items<Spec>(p), [&](const Index* items, const bool* valid) {
#pragma unroll
    for (int e = 0; e < Spec::items; ++e) {
      if (!valid[e]) continue;
      MapItem<Spec> item;
      item.locate(p, items[e]);
#pragma unroll
      for (int k = 0; k < 4; ++k)
        if (item.scatters[k]) atomicAdd(counts + item.row + item.pixel[k], Count(1));
    }
  });
}

template <class Spec>
DCN_DEVICE void col2im_fill(const SamplingParams& p) {
  using Index = typename Spec::index;
  using Count = typename CountOf<Index>::type;
  using Compute = typename Spec::compute;
  static_assert(Spec::split == 1, "one lane per item: each corner is entered once");
  Count* __restrict__ cursors = static_cast<Count*>(p.map_counts);
  Count* __restrict__ keys = static_cast<Count*>(p.map_keys);
  Compute* __restrict__ weights = static_cast<Compute*>(p.map_weights);
  for_each_item_group<Spec>(work_items<Spec>(p), [&](const Index* items, const bool* valid) {
#pragma unroll
    for (int e = 0; e < Spec::items; ++e) {
      if (!valid[e]) continue;
      MapItem<Spec> item;
      item.locate(p, items[e]);
#pragma unroll
      for (int k = 0; k < 4; ++k) {
        if (!item.scatters[k]) continue;
        const Count slot = atomicAdd(cursors + item.row + item.pixel[k], Count(1));
        keys[slot] = Count(item.column) * Count(4) + Count(k);
        weights[slot] = item.weight[k];
      }
    }
  });
}

// The exclusive prefix sum of `value` over the block's threads in thread order, and their total in every
// thread. Integer sums: exact in any order. Every thread of the block must call it.
template <int kThreads, typename T>
DCN_DEVICE T block_exclusive_scan(T value, T& total) {
  __shared__ T warp_totals[kThreads / kWarpSize];
  const int lane = int(threadIdx.x) & (kWarpSize - 1), warp = int(threadIdx.x) / kWarpSize;
  T inclusive = value;
#pragma unroll
  for (int d = 1; d < kWarpSize; d *= 2) {
    const T other = __shfl_up_sync(kFullWarpMask, inclusive, d);
    if (lane >= d) inclusive += other;
  }
  if (lane == kWarpSize - 1) warp_totals[warp] = inclusive;
  __syncthreads();
  T before = T(0), sum = T(0);
#pragma unroll
  for (int w = 0; w < kThreads / kWarpSize; ++w) {
    if (w < warp) before += warp_totals[w];
    sum += warp_totals[w];
  }
  __syncthreads();  // warp_totals is read by every thread before the next call overwrites it
  total = sum;
  return before + inclusive - value;
}

// Three launches (p.scan_phase) over the map_pixels + 1 counts (the last is 0: its start is the total).
template <class Spec>
DCN_DEVICE void col2im_scan(const SamplingParams& p) {
  using Index = typename Spec::index;
  using Count = typename Spec::count;
  constexpr int kThreads = Spec::block_threads;
  constexpr Index kTile = Index(kThreads) * Index(kMapScanRows);
  Count* __restrict__ counts = static_cast<Count*>(p.map_counts);
  Count* __restrict__ starts = static_cast<Count*>(p.map_starts);
  Count* __restrict__ tile_sums = static_cast<Count*>(p.map_tile_sums);
  const Index n = map_pixels<Spec>(p) + Index(1);
  const Index tiles = (n + kTile - 1) / kTile;
  if (p.scan_phase == 1) {
    // One block: tile_sums becomes its own exclusive prefix sum, block_threads tiles at a time.
    Count carry = Count(0);
    for (Index first = 0; first < tiles; first += Index(kThreads)) {
      const Index t = first + Index(threadIdx.x);
      const Count value = t < tiles ? tile_sums[t] : Count(0);
      Count total;
      const Count before = block_exclusive_scan<kThreads>(value, total);
      if (t < tiles) tile_sums[t] = carry + before;
      carry += total;
    }
    return;
  }
  for (Index tile = Index(blockIdx.x); tile < tiles; tile += Index(gridDim.x)) {
    // Row r of the tile holds pixels tile * kTile + r * kThreads + thread: coalesced, in pixel order.
    Count offset = p.scan_phase == 2 ? tile_sums[tile] : Count(0);
    for (int r = 0; r < kMapScanRows; ++r) {
      const Index q = tile * kTile + Index(r) * Index(kThreads) + Index(threadIdx.x);
      const Count value = q < n ? counts[q] : Count(0);
      Count total;
      const Count before = block_exclusive_scan<kThreads>(value, total);
      if (p.scan_phase == 2 && q < n) {
        starts[q] = offset + before;
        counts[q] = offset + before;  // the fill's cursor
      }
      offset += total;
    }
    if (p.scan_phase == 0 && threadIdx.x == 0) tile_sums[tile] = offset;
  }
}

// Orders the entries [begin, end) by key, moving their weights along. Keys are unique, so every correct
// sort gives the same order: insertion sort for the usual short lists (about 4 * taps entries per pixel
// at stride 1), heapsort for long ones (offsets that converge on one pixel), never quadratic there.
template <typename Count, typename Compute>
DCN_DEVICE void sort_entries(Count* __restrict__ keys, Compute* __restrict__ weights, Count begin, Count end) {
  const Count size = end - begin;
  Count* k = keys + begin;
  Compute* w = weights + begin;
  if (size <= Count(32)) {
    for (Count i = 1; i < size; ++i) {
      const Count key = k[i];
      const Compute weight = w[i];
      Count j = i;
      for (; j > 0 && k[j - 1] > key; --j) {
        k[j] = k[j - 1];
        w[j] = w[j - 1];
      }
      k[j] = key;
      w[j] = weight;
    }
    return;
  }
  // Heapsort: a max-heap of the keys, then the largest moved to the end, size times.
  auto sift_down = [&](Count root, Count limit) {
    const Count key = k[root];
    const Compute weight = w[root];
    while (true) {
      Count child = root * 2 + 1;
      if (child >= limit) break;
      if (child + 1 < limit && k[child + 1] > k[child]) ++child;
      if (!(k[child] > key)) break;
      k[root] = k[child];
      w[root] = w[child];
      root = child;
    }
    k[root] = key;
    w[root] = weight;
  };
  for (Count root = size / 2; root-- > 0;) sift_down(root, size);
  for (Count last = size - 1; last > 0; --last) {
    const Count key = k[last];
    const Compute weight = w[last];
    k[last] = k[0];
    w[last] = w[0];
    k[0] = key;
    w[0] = weight;
    sift_down(0, last);
  }
}

template <class Spec>
DCN_DEVICE void col2im_sort(const SamplingParams& p) {
  using Index = typename Spec::index;
  using Count = typename Spec::count;
  using Compute = typename Spec::compute;
  const Count* __restrict__ starts = static_cast<const Count*>(p.map_starts);
  Count* __restrict__ keys = static_cast<Count*>(p.map_keys);
  Compute* __restrict__ weights = static_cast<Compute*>(p.map_weights);
  const Index n = map_pixels<Spec>(p);
  const Index step = Index(gridDim.x) * Index(Spec::block_threads);
  for (Index q = Index(blockIdx.x) * Index(Spec::block_threads) + Index(threadIdx.x); q < n; q += step)
    sort_entries(keys, weights, starts[q], starts[q + 1]);
}

// Channels one lane of the gather sums at a time: its accumulators, each entry's key and weight read
// once per batch; and entries whose loads it issues together: kGatherEntries keys and weights, then
// kGatherEntries x kGatherBatch dcol loads in flight (docs/perf.md, "Loads in flight").
constexpr int kGatherBatch = 4;
constexpr int kGatherEntries = 4;

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
  const Count* __restrict__ starts = static_cast<const Count*>(p.map_starts);
  const Count* __restrict__ keys = static_cast<const Count*>(p.map_keys);
  const Compute* __restrict__ weights = static_cast<const Compute*>(p.map_weights);
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
      const Count begin = starts[q], end = starts[q + 1];
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
        // kGatherEntries entries at a time: their keys and weights loaded together, then the dcol loads
        // of all of them (which need the keys), then the sums in entry order. A slot past the end loads
        // the pixel's first entry again and adds nothing (not even 0 * dc, which a NaN dc would spoil).
        for (Count entry = begin; entry < end; entry += Count(kGatherEntries)) {
          Index column[kGatherEntries];
          Compute weight[kGatherEntries];
          bool live[kGatherEntries];
#pragma unroll
          for (int j = 0; j < kGatherEntries; ++j) {
            live[j] = entry + Count(j) < end;
            const Count at = live[j] ? entry + Count(j) : begin;
            column[j] = Index(keys[at] >> 2);
            weight[j] = weights[at];
          }
          Compute dc[kGatherEntries][kBatch];
#pragma unroll
          for (int j = 0; j < kGatherEntries; ++j)
#pragma unroll
            for (int b = 0; b < kBatch; ++b)
              dc[j][b] = Compute(widen(grad_columns[column[j] + Index(channel[b]) * column_step]));
#pragma unroll
          for (int j = 0; j < kGatherEntries; ++j)
#pragma unroll
            for (int b = 0; b < kBatch; ++b)
              if (live[j]) sum[b] += weight[j] * dc[j][b];
        }
#pragma unroll
        for (int b = 0; b < kBatch; ++b)
          if (has[b]) grad_x[out + Index(channel[b]) * channel_stride] = store_as<T>(sum[b]);
      }
    }
  });
}

}  // namespace dcn
