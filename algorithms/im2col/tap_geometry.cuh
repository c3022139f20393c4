// Work decomposition and addressing shared by the im2col family's sampling kernels (im2col, col2im,
// coord, col2im_coord, and the deterministic col2im's map kernels, deform_col2im_gather.cuh).
//
// One work item is (image b, offset group g, tap t, output pixel p), pixel fastest, so consecutive
// threads read consecutive offsets/mask values (NCHW) and write consecutive column entries. An item
// computes its sample point once and then loops over the channels of its offset group, which share
// that point: the bilinear weights are reused channels-per-group times.
//
// Split (Spec::split, the `split` knob): `split` adjacent lanes of a warp share one work item and walk
// its channels interleaved: lane s of the split takes channels s, s + split, s + 2*split, ... So a
// warp covers 32 / split items of adjacent pixels, each over `split` adjacent channels. The split
// multiplies the threads a chunk has (an R50 layer's chunk has fewer items than an H100 has thread
// slots) and divides each thread's channel loop. Interleaved, not contiguous, channel ranges: in
// NHWC the lanes of a split then read `split` adjacent channels of each corner (one sector for 8 f32
// or 16 f16 lanes, where one lane per pixel touches a sector per lane); in NCHW the channels lie in
// separate planes either way and the lanes of equal rank still read adjacent pixels. Per-item sums
// (the coordinate gradients) are reduced over the split's lanes by a fixed butterfly (split_sum), so
// the result is the same bits on every run for a given split.
//
// Each thread takes Spec::items items (block_threads / split apart, coalesced), and processes them
// together: the sample points of all its items first, then the channel loop in batches of
// Spec::channel_batch channels, each batch issuing the loads of all its channels and items before
// using any, so a thread has (4 or 5) x items x channel_batch independent loads in flight
// (docs/perf.md, "Loads in flight"). The grid-stride loop's trip count is the same for every thread of
// a block, and so is the channel loop's (a lane without a channel in the last batch loads a channel it
// has, and discards it), which lets the warp-aggregated atomics and the split reductions use shuffles:
// items past the end run with valid == false and an in-range index.
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
// e.g. using Spec = dcn::SamplingSpec<3, 3, 1, 1, 1, 1, 64, kBoundaryV2, true, kF32, kNCHW, int, 256, 1, 4,
// kAtomicPlain>;
template <int KH, int KW, int SH, int SW, int DH, int DW, int Channels, int Boundary, bool Mask, int DTypeId,
          int LayoutId, typename IndexT, int BlockThreads, int Items, int Split, int Atomic>
struct SamplingSpec {
  static_assert(Split >= 1 && Split <= 32 && (Split & (Split - 1)) == 0, "split: a power of two up to a warp");
  static_assert(Split <= Channels, "split: at most one lane per channel of the group");
  static_assert(BlockThreads % 32 == 0, "block_threads: whole warps");
  static constexpr int kh = KH, kw = KW, taps = KH * KW;
  static constexpr int stride_h = SH, stride_w = SW, dilation_h = DH, dilation_w = DW;
  static constexpr int channels_per_group = Channels;
  static constexpr int boundary = Boundary;
  static constexpr bool has_mask = Mask;
  static constexpr int block_threads = BlockThreads;
  static constexpr int items = Items;
  static constexpr int split = Split;
  static constexpr int atomic = Atomic;
  // Channels one lane walks: ceil(channels / split) (the lanes past the last channel idle in the last step).
  static constexpr int channel_steps = (Channels + Split - 1) / Split;
  // Channels whose loads a thread issues together: items x channel_batch items' worth of corner (and
  // dcol) loads in flight. Kept at items x batch = 4: more multiplies live registers (4 items with
  // 64-bit indices are at the limit already). Warp-aggregated scatters take one channel per batch:
  // each is a shuffle chain with its own live values, and two items' worth batched twice spilled at
  // 128 registers (bf16 NHWC, the NVRTC sweep).
  static constexpr int channel_batch_wanted = Atomic == kAtomicWarp || Items >= 4 ? 1 : 4 / Items;
  static constexpr int channel_batch = channel_batch_wanted < channel_steps ? channel_batch_wanted : channel_steps;
  using storage = typename StorageOf<DTypeId>::type;
  using compute = typename ComputeOf<DTypeId>::type;
  using layout = Layout<LayoutId>;
  using index = IndexT;  // int when every tensor of the chunk has < 2^30 elements, else long long
};

// This thread's rank within its split (0 .. split-1): which of the item's channels it walks.
template <class Spec>
DCN_DEVICE int split_lane() {
  return int(threadIdx.x) & (Spec::split - 1);
}

// The channels (within the offset group) of one batch of this lane's channel loop, starting at step
// `first_step`: channel[b] = (first_step + b) * split + lane. Where that channel does not exist (the
// last step when split does not divide the channels, or a step past the end in the last batch),
// has[b] is false, the lane loads nothing for it and channel[b] is the lane's first channel (any
// address formed stays in bounds).
template <class Spec>
struct ChannelBatch {
  static constexpr int size = Spec::channel_batch;
  // Every step of every batch has a channel: no run-time test.
  static constexpr bool kAlwaysHas =
      Spec::channels_per_group % Spec::split == 0 && Spec::channel_steps % Spec::channel_batch == 0;
  int channel[size];
  bool has[size];

  DCN_DEVICE ChannelBatch(int first_step, int lane) {
#pragma unroll
    for (int b = 0; b < size; ++b) {
      const int c = (first_step + b) * Spec::split + lane;
      has[b] = kAlwaysHas || c < Spec::channels_per_group;
      channel[b] = has[b] ? c : lane;
    }
  }
};

// The sum of `value` over the lanes of this lane's split, by a butterfly of shuffles (lane ^ 1, ^ 2, ...):
// a fixed tree for a given split, so every lane gets the same bits on every run (a + b == b + a in IEEE
// arithmetic, NaN and Inf included). All 32 lanes of the warp must call it together.
template <class Spec, typename T>
DCN_DEVICE T split_sum(T value) {
#pragma unroll
  for (int d = 1; d < Spec::split; d *= 2) value += __shfl_xor_sync(kFullWarpMask, value, d);
  return value;
}

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

  // The four corners of channel `channel_offset` (elements from the group's first channel, i.e.
  // channel * channel_stride) of x (or grad_x): loaded without a branch on the corner (offset 0 for a
  // corner that does not exist, so the load is in bounds and every thread issues the same loads), then
  // selected, so a corner outside the image is exactly 0 whatever that element holds
  // (docs/semantics.md). `has` false (a lane past its group's last channel, ChannelBatch) skips the
  // loads; it is a compile-time true where every lane has a channel.
  template <typename T>
  DCN_DEVICE void corners(const T* __restrict__ base, Index channel_offset, Compute (&v)[4], bool has = true) const {
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const Compute loaded = has ? Compute(widen(base[plane + channel_offset + idx[k]])) : Compute(0);
      v[k] = (reads >> k) & 1u ? loaded : Compute(0);
    }
  }

  // Whether corner k receives m * w_k * dc in col2im (and so has an entry in the deterministic
  // col2im's map): the point contributes and the weight is not 0. Zero-weight corners (outside the
  // image, or exactly on a cell border) would add nothing, or NaN * 0 from a non-finite dcol, to an
  // unrelated element.
  DCN_DEVICE bool scatters_to(int k) const { return inside && w[k] != Compute(0); }
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

// Calls body(items, valid) for every group of Spec::items work items of this thread (the lanes of a
// split get the same items); the number of calls is uniform within a block. Items past the end are
// passed as 0 with valid == false.
template <class Spec, typename Body>
DCN_DEVICE void for_each_item_group(typename Spec::index total, Body body) {
  using Index = typename Spec::index;
  constexpr Index kSlots = Index(Spec::block_threads / Spec::split);  // items per block and item slot
  constexpr Index kPerBlock = kSlots * Index(Spec::items);
  const Index grid_step = Index(gridDim.x) * kPerBlock;
  const Index slot = Index(int(threadIdx.x) / Spec::split);
  for (Index base = Index(blockIdx.x) * kPerBlock; base < total; base += grid_step) {
    Index items[Spec::items];
    bool valid[Spec::items];
#pragma unroll
    for (int e = 0; e < Spec::items; ++e) {
      const Index item = base + Index(e) * kSlots + slot;
      valid[e] = item < total;
      items[e] = valid[e] ? item : Index(0);
    }
    body(items, valid);
  }
}

}  // namespace dcn
