// Work decomposition shared by the four sampling kernels (im2col, col2im, coord, col2im_coord).
//
// One work item is (image b, offset group g, tap t, output pixel p), pixel fastest, so consecutive
// threads read consecutive offsets/mask values and write consecutive column entries. An item
// computes its sample point once and then loops over the kChannels channels of its offset group,
// which share that point: the bilinear weights are reused channels-per-group times.
//
// Each thread handles kElemsPerThread items, kBlockThreads apart (coalesced), in a grid-stride
// loop whose trip count is the same for every thread of a block. That uniformity lets the
// warp-aggregated atomics use shuffles: threads past the end run with `valid == false`.
#pragma once

#include "templates/dtype.cuh"
#include "templates/params.cuh"
#include "templates/sampling.cuh"
#include "templates/scatter_add.cuh"

namespace dcn {

// The compile-time specialization of a sampling kernel. The generator emits one alias like this
// per kernel (see generator/), e.g.
//   using Spec = dcn::SamplingSpec<3, 3, 1, 1, 1, 1, 64, kBoundaryV2, true, kF32, int, 256, 1, kAtomicPlain>;

template <int KH, int KW, int SH, int SW, int DH, int DW, int Channels, int Boundary, bool Mask, int DTypeId,
          typename IndexT, int BlockThreads, int ElemsPerThread, int Atomic>
struct SamplingSpec {
  static constexpr int kh = KH, kw = KW, taps = KH * KW;
  static constexpr int stride_h = SH, stride_w = SW, dilation_h = DH, dilation_w = DW;
  static constexpr int channels_per_group = Channels;
  static constexpr int boundary = Boundary;
  static constexpr bool has_mask = Mask;
  static constexpr int block_threads = BlockThreads;
  static constexpr int elems_per_thread = ElemsPerThread;
  static constexpr int atomic = Atomic;
  // Unroll of the per-channel loops: the elems_per_thread items are already interleaved for ILP, so
  // unrolling both multiplies live registers; keep their product at 4.
  static constexpr int channel_unroll = ElemsPerThread >= 4 ? 1 : 4 / ElemsPerThread;
  using storage = typename StorageOf<DTypeId>::type;
  using index = IndexT;  // int when every tensor of the chunk has < 2^30 elements, else long long
};

// Where one work item samples.
template <typename Index>
struct TapPoint {
  Index image, group, pixel;
  int tap;
  float py, px;
  float modulation;          // mask value (1 without a mask)
  Index offset_y_at;         // element index of the item's dy in `offset` (dx is `pixels` later)
  Index mask_at;             // element index of the item's mask value
};

template <class Spec>
DCN_DEVICE typename Spec::index work_items(const Params& p) {
  using Index = typename Spec::index;
  return Index(p.images) * Index(p.offset_groups) * Index(Spec::taps) * Index(p.Ho) * Index(p.Wo);
}

// Decomposes item -> (b, g, t, p) and reads its offset and mask.
template <class Spec>
DCN_DEVICE TapPoint<typename Spec::index> locate_tap(const Params& p, typename Spec::index item) {
  using Index = typename Spec::index;
  using T = typename Spec::storage;
  const Index pixels = Index(p.Ho) * Index(p.Wo);
  TapPoint<Index> at;
  at.pixel = item % pixels;
  Index rest = item / pixels;
  at.tap = int(rest % Index(Spec::taps));
  rest /= Index(Spec::taps);
  at.group = rest % Index(p.offset_groups);
  at.image = rest / Index(p.offset_groups);

  const Index field = at.image * Index(p.offset_groups) + at.group;  // (b, g) pair
  at.offset_y_at = (field * Index(2 * Spec::taps) + Index(2 * at.tap)) * pixels + at.pixel;
  at.mask_at = (field * Index(Spec::taps) + Index(at.tap)) * pixels + at.pixel;

  const T* __restrict__ offset = static_cast<const T*>(p.offset);
  const Index ho = at.pixel / Index(p.Wo), wo = at.pixel - ho * Index(p.Wo);
  const int i = at.tap / Spec::kw, j = at.tap - i * Spec::kw;
  // Integer part in int64-safe float: ho*stride can exceed 2^24 only for absurd images, where the
  // float grid position is rounded exactly as the CPU backend rounds it.
  at.py = float(ho * Index(Spec::stride_h) - Index(p.pad_h) + Index(i * Spec::dilation_h)) +
          to_float(offset[at.offset_y_at]);
  at.px = float(wo * Index(Spec::stride_w) - Index(p.pad_w) + Index(j * Spec::dilation_w)) +
          to_float(offset[at.offset_y_at + pixels]);
  at.modulation = 1.0f;
  if (Spec::has_mask) at.modulation = to_float(static_cast<const T*>(p.mask)[at.mask_at]);
  return at;
}

// Row of the column buffer that holds (b, channel c, tap t): [images, C*taps, pixels].
template <class Spec>
DCN_DEVICE typename Spec::index column_at(const Params& p, const TapPoint<typename Spec::index>& at,
                                          typename Spec::index channel) {
  using Index = typename Spec::index;
  const Index pixels = Index(p.Ho) * Index(p.Wo);
  return ((at.image * Index(p.C) + channel) * Index(Spec::taps) + Index(at.tap)) * pixels + at.pixel;
}

// First element of the (b, channel) plane of x / grad_x.
template <class Spec>
DCN_DEVICE typename Spec::index plane_at(const Params& p, typename Spec::index image, typename Spec::index channel) {
  using Index = typename Spec::index;
  return (image * Index(p.C) + channel) * Index(p.H) * Index(p.W);
}

// Calls body(item, valid) for every work item; the number of calls is uniform within a block.
template <class Spec, typename Body>
DCN_DEVICE void for_each_item(typename Spec::index total, Body body) {
  using Index = typename Spec::index;
  constexpr Index kPerBlock = Index(Spec::block_threads) * Index(Spec::elems_per_thread);
  const Index grid_step = Index(gridDim.x) * kPerBlock;
  for (Index base = Index(blockIdx.x) * kPerBlock; base < total; base += grid_step) {
#pragma unroll
    for (int e = 0; e < Spec::elems_per_thread; ++e) {
      const Index item = base + Index(e * Spec::block_threads) + Index(threadIdx.x);
      body(item < total ? item : Index(0), item < total);
    }
  }
}

}  // namespace dcn
