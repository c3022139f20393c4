// The deterministic col2im's map, shared by the algorithms whose grad_x is a sum of column-gradient
// values over bilinear corners (im2col: deform_col2im_gather.cuh; fused: fused_gather.cuh): grad_x
// without floating-point atomics, so it is the same bits on every run and, under sim, in every thread
// order. A scatter adds m * w_k * dcol to corner k of every work item with atomicAdd, in whatever order
// the threads arrive; here each grad_x element is summed by one thread over a list of the entries that
// touch it, in a fixed order.
//
// Per chunk, for every map pixel q (algorithms/gather/pixel_map_params.cuh): the entries (item, corner k)
// whose corner k is q. An algorithm's count and fill kernels walk its work items (they know its sampling
// geometry and its column-gradient layout) and call count_entry and fill_entry; the rest is here:
//
//   count  per item and scattering corner: counts[q] += 1                            (integer atomics)
//   scan   phase 0: entries per tile of block_threads * kMapScanRows pixels; phase 1 (one block): their
//          exclusive prefix sum; phase 2: starts[q] = exclusive prefix of counts, and counts[q] = starts[q]
//          as the fill cursor. starts[pixels] = the number of entries.
//   fill   per item and scattering corner: slot = atomicAdd(cursor[q], 1), then keys[slot] = column * 4 + k
//          and weights[slot] = m * w_k                                               (integer atomics)
//   sort   per pixel: its entries sorted by key (keys are unique, so the order is unique)
//   gather per pixel and channel: grad_x = sum over the entries in key order of weight * dcol[column +
//          the channel's offset] (sum_entries), in the compute type, rounded once to the storage type.
//
// Integer atomics give order-independent results: counts and cursors are exact, and the slots the fill
// hands out vary only in which entry lands where within a pixel's range, which the sort undoes.
//
// Non-finite inputs (docs/semantics.md): the entries are exactly the corners a scatter writes (the point
// contributes and w_k != 0), with the term (m * w_k) * dc of the contract, so NaN and Inf land where the
// scatter puts them; a pixel without entries is 0.
#pragma once

#include "algorithms/gather/pixel_map_params.cuh"
#include "templates/dtype.cuh"

namespace dcn {

// Unsigned counters and keys of the index's width: CUDA's integer atomicAdd takes unsigned and
// unsigned long long.
template <typename Index> struct CountOf;
template <> struct CountOf<int> { using type = unsigned; };
template <> struct CountOf<long long> { using type = unsigned long long; };

// The specialization of the scan and sort kernels, which know nothing of the sampling geometry.
template <int DTypeId, typename IndexT, int BlockThreads>
struct MapSpec {
  static_assert(BlockThreads % 32 == 0 && BlockThreads <= 1024, "block_threads: whole warps, at most 1024");
  using compute = typename ComputeOf<DTypeId>::type;
  using index = IndexT;
  using count = typename CountOf<IndexT>::type;
  static constexpr int block_threads = BlockThreads;
};

// One entry of map pixel q counted (the count kernel).
template <typename Count, typename Index>
DCN_DEVICE void count_entry(const PixelMap& map, Index q) {
  atomicAdd(static_cast<Count*>(map.counts) + q, Count(1));
}

// One entry of map pixel q written: the column element of its item (the group's first channel), its
// corner k and its weight (the fill kernel, after the scan turned the counts into cursors).
template <typename Count, typename Index, typename Compute>
DCN_DEVICE void fill_entry(const PixelMap& map, Index q, Index column, int k, Compute weight) {
  const Count slot = atomicAdd(static_cast<Count*>(map.counts) + q, Count(1));
  static_cast<Count*>(map.keys)[slot] = Count(column) * Count(4) + Count(k);
  static_cast<Compute*>(map.weights)[slot] = weight;
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

// Three launches (map.scan_phase) over the pixels + 1 counts (the last is 0: its start is the total).
template <class Spec>
DCN_DEVICE void scan_pixel_map(const PixelMap& map) {
  using Index = typename Spec::index;
  using Count = typename Spec::count;
  constexpr int kThreads = Spec::block_threads;
  constexpr Index kTile = Index(kThreads) * Index(kMapScanRows);
  Count* __restrict__ counts = static_cast<Count*>(map.counts);
  Count* __restrict__ starts = static_cast<Count*>(map.starts);
  Count* __restrict__ tile_sums = static_cast<Count*>(map.tile_sums);
  const Index n = Index(map.pixels) + Index(1);
  const Index tiles = (n + kTile - 1) / kTile;
  if (map.scan_phase == 1) {
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
    Count offset = map.scan_phase == 2 ? tile_sums[tile] : Count(0);
    for (int r = 0; r < kMapScanRows; ++r) {
      const Index q = tile * kTile + Index(r) * Index(kThreads) + Index(threadIdx.x);
      const Count value = q < n ? counts[q] : Count(0);
      Count total;
      const Count before = block_exclusive_scan<kThreads>(value, total);
      if (map.scan_phase == 2 && q < n) {
        starts[q] = offset + before;
        counts[q] = offset + before;  // the fill's cursor
      }
      offset += total;
    }
    if (map.scan_phase == 0 && threadIdx.x == 0) tile_sums[tile] = offset;
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
DCN_DEVICE void sort_pixel_map(const PixelMap& map) {
  using Index = typename Spec::index;
  using Count = typename Spec::count;
  using Compute = typename Spec::compute;
  const Count* __restrict__ starts = static_cast<const Count*>(map.starts);
  Count* __restrict__ keys = static_cast<Count*>(map.keys);
  Compute* __restrict__ weights = static_cast<Compute*>(map.weights);
  const Index n = Index(map.pixels);
  const Index step = Index(gridDim.x) * Index(Spec::block_threads);
  for (Index q = Index(blockIdx.x) * Index(Spec::block_threads) + Index(threadIdx.x); q < n; q += step)
    sort_entries(keys, weights, starts[q], starts[q + 1]);
}

// sum[b] += weight * dcol[column + channel_offset[b]] over map pixel q's entries [starts[q], starts[q+1])
// in key order, for the kBatch channels of one batch (an algorithm's gather kernel picks the pixel, the
// channels and where the sums go). A slot past the end loads the pixel's first entry again and adds
// nothing (not even 0 * dc, which a NaN dc would spoil).
template <int kBatch, typename Count, typename Index, typename Compute, typename D>
DCN_DEVICE void sum_entries(const PixelMap& map, Index q, const D* __restrict__ dcol,
                            const Index (&channel_offset)[kBatch], Compute (&sum)[kBatch]) {
  const Count* __restrict__ starts = static_cast<const Count*>(map.starts);
  const Count* __restrict__ keys = static_cast<const Count*>(map.keys);
  const Compute* __restrict__ weights = static_cast<const Compute*>(map.weights);
  const Count begin = starts[q], end = starts[q + 1];
  for (Count entry = begin; entry < end; entry += Count(kGatherEntries)) {
    // Keys and weights loaded together, then the dcol loads of all of them (which need the keys), then
    // the sums in entry order.
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
      for (int b = 0; b < kBatch; ++b) dc[j][b] = Compute(widen(dcol[column[j] + channel_offset[b]]));
#pragma unroll
    for (int j = 0; j < kGatherEntries; ++j)
#pragma unroll
      for (int b = 0; b < kBatch; ++b)
        if (live[j]) sum[b] += weight[j] * dc[j][b];
  }
}

}  // namespace dcn
