// Work decomposition and addressing shared by the im2col family's four sampling kernels (im2col,
// col2im, coord, col2im_coord).
//
// One work item is (image b, offset group g, tap t, output pixel p), pixel fastest, so consecutive
// threads read consecutive offsets/mask values (NCHW) and write consecutive column entries. An item
// computes its sample point once and then loops over the channels of its offset group, which share
// that point: the bilinear weights are reused channels-per-group times.
//
// Each thread takes Spec::items items, block_threads apart (coalesced), and processes them together:
// the sample points of all its items first, then one channel loop in which every channel issues the
// corner loads of all items before using any, so a thread has 4 x items independent loads in flight
// instead of 4 (docs/perf.md). The grid-stride loop's trip count is the same for every thread of a
// block, which lets the warp-aggregated atomics use shuffles: items past the end run with
// valid == false and an in-range index.
//
// Column buffer (the operand of the algorithm's GEMMs), one chunk of `images` images, rows `column_pitch`
// elements apart (the row length rounded up to 8: 16-byte aligned rows for cuBLASLt, im2col_workspace.h):
//   NCHW  [images][C][taps][P]   (P = Ho*Wo): per image, the (C*taps) x P matrix of the classic im2col
//   NHWC  [images][P][C][taps]:  per image, the P x (C*taps) matrix, so y = columns * W^T writes NHWC
// Within a conv group both are one dense matrix with the weights' (c, tap) order, so no weight
// permutation is needed (docs/architecture.md).
#pragma once

#include "algorithms/im2col/sampling_params.cuh"
#include "algorithms/im2col/scatter_add.cuh"
#include "templates/dtype.cuh"
#include "templates/sampling.cuh"
#include "templates/tensor_layout.cuh"

namespace dcn {

// The compile-time specialization of a sampling kernel; the generator emits one alias per kernel,
// e.g. using Spec = dcn::SamplingSpec<3, 3, 1, 1, 1, 1, 64, kBoundaryV2, true, kF32, kNCHW, int, 256, 1,
// kAtomicPlain>;
template <int KH, int KW, int SH, int SW, int DH, int DW, int Channels, int Boundary, bool Mask, int DTypeId,
          int LayoutId, typename IndexT, int BlockThreads, int Items, int Atomic>
struct SamplingSpec {
  static constexpr int kh = KH, kw = KW, taps = KH * KW;
  static constexpr int stride_h = SH, stride_w = SW, dilation_h = DH, dilation_w = DW;
  static constexpr int channels_per_group = Channels;
  static constexpr int boundary = Boundary;
  static constexpr bool has_mask = Mask;
  static constexpr int block_threads = BlockThreads;
  static constexpr int items = Items;
  static constexpr int atomic = Atomic;
  // Unroll of the per-channel loops: the items already give each iteration items x 4 independent
  // loads; unrolling both multiplies live registers, so keep items x unroll at 4. Warp-aggregated
  // scatters are not unrolled: each is a shuffle chain with its own live values, and two items' worth
  // unrolled twice spilled at 128 registers (bf16 NHWC, the NVRTC sweep).
  static constexpr int channel_unroll = Atomic == kAtomicWarp || Items >= 4 ? 1 : 4 / Items;
  using storage = typename StorageOf<DTypeId>::type;
  using compute = typename ComputeOf<DTypeId>::type;
  using layout = Layout<LayoutId>;
  using index = IndexT;  // int when every tensor of the chunk has < 2^30 elements, else long long
};

// Where one work item samples.
template <typename Index, typename Compute>
struct TapPoint {
  Index image, group, pixel;
  int tap;
  Compute py, px;
  Compute modulation;  // mask value (1 without a mask)
  Index offset_y_at;   // element index of the item's dy in `offset` (and grad_offset)
  Index offset_x_at;   // of its dx
  Index mask_at;       // of its mask value (and grad_mask)
};

template <class Spec>
DCN_DEVICE typename Spec::index work_items(const SamplingParams& p) {
  using Index = typename Spec::index;
  return Index(p.images) * Index(p.offset_groups) * Index(Spec::taps) * Index(p.Ho) * Index(p.Wo);
}

// Element index of (image, channel k, pixel) in an activation tensor with these strides.
template <class Spec>
DCN_DEVICE typename Spec::index activation_at(const ActivationStrides& s, typename Spec::index image,
                                              typename Spec::index channel, typename Spec::index pixel) {
  using Index = typename Spec::index;
  using L = typename Spec::layout;
  return image * Index(s.image) + channel * L::template channel_stride<Index>(s.channel) +
         pixel * L::template pixel_stride<Index>(s.pixel);
}

// Decomposes item -> (b, g, t, p) and reads its offset and mask.
template <class Spec>
DCN_DEVICE TapPoint<typename Spec::index, typename Spec::compute> locate_tap(const SamplingParams& p,
                                                                             typename Spec::index item) {
  using Index = typename Spec::index;
  using Compute = typename Spec::compute;
  using T = typename Spec::storage;
  const Index pixels = Index(p.Ho) * Index(p.Wo);
  TapPoint<Index, Compute> at;
  at.pixel = item % pixels;
  Index rest = item / pixels;
  at.tap = int(rest % Index(Spec::taps));
  rest /= Index(Spec::taps);
  at.group = rest % Index(p.offset_groups);
  at.image = rest / Index(p.offset_groups);

  const Index dy_channel = at.group * Index(2 * Spec::taps) + Index(2 * at.tap);
  at.offset_y_at = activation_at<Spec>(p.offset_strides, at.image, dy_channel, at.pixel);
  at.offset_x_at = activation_at<Spec>(p.offset_strides, at.image, dy_channel + 1, at.pixel);
  at.mask_at = activation_at<Spec>(p.mask_strides, at.image, at.group * Index(Spec::taps) + Index(at.tap), at.pixel);

  const T* __restrict__ offset = static_cast<const T*>(p.offset);
  const Index ho = at.pixel / Index(p.Wo), wo = at.pixel - ho * Index(p.Wo);
  const int i = at.tap / Spec::kw, j = at.tap - i * Spec::kw;
  // The integer part is exact in the compute type up to 2^24 (f32), far beyond any image; the CPU
  // backend rounds the same sum the same way.
  at.py = Compute(ho * Index(Spec::stride_h) - Index(p.pad_h) + Index(i * Spec::dilation_h)) +
          Compute(widen(offset[at.offset_y_at]));
  at.px = Compute(wo * Index(Spec::stride_w) - Index(p.pad_w) + Index(j * Spec::dilation_w)) +
          Compute(widen(offset[at.offset_x_at]));
  at.modulation = Compute(1);
  if (Spec::has_mask) at.modulation = Compute(widen(static_cast<const T*>(p.mask)[at.mask_at]));
  return at;
}

// The column buffer's element of (item's image, channel, item's tap, item's pixel), and the step from one
// channel to the next (see the layout at the top).
template <class Spec>
DCN_DEVICE typename Spec::index column_at(const SamplingParams& p,
                                          const TapPoint<typename Spec::index, typename Spec::compute>& at,
                                          typename Spec::index channel) {
  using Index = typename Spec::index;
  const Index pitch = Index(p.column_pitch);
  if (Spec::layout::channels_last)
    return (at.image * Index(p.Ho) * Index(p.Wo) + at.pixel) * pitch + channel * Index(Spec::taps) + Index(at.tap);
  return ((at.image * Index(p.C) + channel) * Index(Spec::taps) + Index(at.tap)) * pitch + at.pixel;
}

template <class Spec>
DCN_DEVICE typename Spec::index column_channel_step(const SamplingParams& p) {
  using Index = typename Spec::index;
  return Spec::layout::channels_last ? Index(Spec::taps) : Index(Spec::taps) * Index(p.column_pitch);
}

// The sample of one item: its corners as element offsets from the first channel's x (or grad_x) plane,
// with zero weights and offset 0 for corners that do not count, so loads never go out of bounds.
template <class Spec>
struct ItemSample {
  using Index = typename Spec::index;
  using Compute = typename Spec::compute;
  TapPoint<Index, Compute> at;
  TapSample<Compute, Index> s;
  bool valid;   // the item exists (the last grid-stride round may have fewer)
  bool inside;  // the sample point contributes (valid and in range)
  Index plane;  // x element of (image, the group's first channel, pixel 0)
  Index column; // column element of the group's first channel
};

// What the channel loop of an item needs, and nothing else: with several items per thread, keeping the
// whole ItemSample live across the loop (tap geometry, derivative weights, output indices) costs more
// registers than ptxas has without spilling at 4 items; what the epilogue needs is recomputed after
// the loop from the item index instead (sample_item again: a few integer ops and cached offset loads).
template <class Spec>
struct LoopItem {
  using Index = typename Spec::index;
  using Compute = typename Spec::compute;
  Index plane, column;
  Index idx[4];
  Compute w[4];
  Compute modulation;
  unsigned reads;    // bit k: corner k lies inside the image (the others read as 0, never loaded)
  bool valid, inside, value_reads;

  DCN_DEVICE void from(const ItemSample<Spec>& sample) {
    plane = sample.plane;
    column = sample.column;
    reads = 0;
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      idx[k] = sample.s.idx[k];
      w[k] = sample.s.w[k];
      reads |= sample.s.reads[k] ? 1u << k : 0u;
    }
    modulation = sample.at.modulation;
    valid = sample.valid;
    inside = sample.inside;
    value_reads = sample.s.value_reads;
  }

  // The four corners of one channel whose plane starts at `base`: loaded unconditionally (offset 0 for a
  // corner that does not exist, so the load is in bounds and every thread issues the same loads), then
  // selected, so a corner outside the image is exactly 0 whatever that element holds (docs/semantics.md).
  template <typename T>
  DCN_DEVICE void corners(const T* __restrict__ base, Compute (&v)[4]) const {
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const Compute loaded = Compute(widen(base[plane + idx[k]]));
      v[k] = (reads >> k) & 1u ? loaded : Compute(0);
    }
  }
};

template <class Spec>
DCN_DEVICE void sample_item(const SamplingParams& p, typename Spec::index item, bool valid, ItemSample<Spec>& out) {
  using Index = typename Spec::index;
  using Compute = typename Spec::compute;
  using L = typename Spec::layout;
  out.valid = valid;
  out.at = locate_tap<Spec>(p, item);  // callers pass an in-range item even when !valid
  out.inside = valid && sample_tap<Spec::boundary>(out.at.py, out.at.px, int(p.H), int(p.W), out.s);
  const Index pixel_stride = L::template pixel_stride<Index>(p.x_strides.pixel);
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    out.s.idx[k] = out.inside ? out.s.idx[k] * pixel_stride : Index(0);
    out.s.w[k] = out.inside ? out.s.w[k] : Compute(0);
    out.s.wy[k] = out.inside ? out.s.wy[k] : Compute(0);
    out.s.wx[k] = out.inside ? out.s.wx[k] : Compute(0);
    out.s.reads[k] = out.inside && out.s.reads[k];
  }
  out.s.value_reads = out.inside && out.s.value_reads;
  const Index first_channel = out.at.group * Index(Spec::channels_per_group);
  out.plane = activation_at<Spec>(p.x_strides, out.at.image, first_channel, Index(0));
  out.column = column_at<Spec>(p, out.at, first_channel);
}

// Calls body(items, valid) for every group of Spec::items work items of this thread; the number of
// calls is uniform within a block. Items past the end are passed as 0 with valid == false.
template <class Spec, typename Body>
DCN_DEVICE void for_each_item_group(typename Spec::index total, Body body) {
  using Index = typename Spec::index;
  constexpr Index kPerBlock = Index(Spec::block_threads) * Index(Spec::items);
  const Index grid_step = Index(gridDim.x) * kPerBlock;
  for (Index base = Index(blockIdx.x) * kPerBlock; base < total; base += grid_step) {
    Index items[Spec::items];
    bool valid[Spec::items];
#pragma unroll
    for (int e = 0; e < Spec::items; ++e) {
      const Index item = base + Index(e * Spec::block_threads) + Index(threadIdx.x);
      valid[e] = item < total;
      items[e] = valid[e] ? item : Index(0);
    }
    body(items, valid);
  }
}

}  // namespace dcn
