// The sampling passes of the CPU backend on raw arrays, one image at a time:
//   im2col_segment        x, offset, mask -> column rows (forward; backward when only grad_weight is wanted)
//   col2im_coord_segment  dcol rows -> grad_x scatter, partial sums of the coordinate gradients, the
//                         column rows and the samples' table (each optional) (backward)
//   scatter_slice         dcol rows + the samples' table -> grad_x for a slice of channels (backward,
//                         when the scatter runs apart from the coordinate pass)
//   reduce_coord_partials partial sums -> grad_offset, grad_mask
// plus the layout copies they need. All sampling math is dcn::sample_tap (templates/sampling.cuh).
//
// Types: V is the compute type (float or double), XT the element type of the channels-last x the
// samples read (V, or Bf16 when an NHWC bf16 x is read in place), Col the type of the columns (V, or
// Bf16 for bf16 GEMMs; each column element is computed in V and rounded once).
//
// Column layout. The channels are split into segments, each inside one conv group and one offset
// group (so one GEMM operand slice and one sample per tap and pixel serve all its channels). The
// columns of a span of sw output pixels hold the segments one after another; segment s, starting at
// channel c0 with n channels, occupies elements [sw * K * c0, sw * K * (c0 + n)) as rows [q][t][c - c0]:
// pixel-major, then tap, then channel. One sample thus feeds a contiguous run of channels, read from a
// channels-last x ([H*W][C]) and, in backward, scattered into a channels-last grad_x: every channel
// loop is unit-stride and vectorized by the compiler, and each segment's rows are one dense matrix,
// the GEMM operand [pixels][K * n]. The GEMMs multiply it with the weights permuted to the same order
// (weight_to_segments).
//
// The forward uses the largest segments (conv group intersected with offset group: the GEMM depth
// stays whole); the backward splits them into blocks of at most kChannelBlock channels.
#pragma once

#include <cstdint>
#include <vector>

#include "dcnjit/problem.h"
#include "runtime/cpu/bf16.h"

namespace dcnjit::cpu {

// Problem sizes in the form the loops use, and where offset and mask elements sit in memory.
struct ConvGeometry {
  int64_t C = 0, H = 0, W = 0, Co = 0, Ho = 0, Wo = 0;
  int64_t P = 0;  // output pixels per image, Ho * Wo
  int64_t K = 0;  // taps, kh * kw
  int kh = 0, kw = 0, stride_h = 0, stride_w = 0, pad_h = 0, pad_w = 0, dilation_h = 0, dilation_w = 0;
  int64_t groups = 0, offset_groups = 0;
  int64_t channels_per_group = 0;         // C / groups
  int64_t outputs_per_group = 0;          // Co / groups
  int64_t channels_per_offset_group = 0;  // C / offset_groups
  Boundary boundary = Boundary::v2;
  bool mask = false;
  bool nhwc = false;
  // Element strides inside one image of offset [2*og*K channels] and mask [og*K channels] (and their
  // gradients): NCHW channel P, pixel 1; NHWC channel 1, pixel = the channel count.
  int64_t offset_channel = 0, offset_pixel = 0, mask_channel = 0, mask_pixel = 0;

  static ConvGeometry of(const Problem& problem);
  int64_t offset_image() const { return 2 * offset_groups * K * P; }  // elements per image
  int64_t mask_image() const { return offset_groups * K * P; }
};

// Channels [c_begin, c_end), all in conv group `group` and offset group `og`.
struct ChannelSegment {
  int64_t group = 0, og = 0;
  int64_t c_begin = 0, c_end = 0;

  int64_t channels() const { return c_end - c_begin; }
};

// The backward's block size. The coordinate gradients are summed per block and then over blocks in a
// fixed order, so the result depends on this constant, never on the thread count.
constexpr int64_t kChannelBlock = 128;

// The segments in channel order: each conv group intersected with each offset group, split into pieces
// of at most max_channels.
std::vector<ChannelSegment> channel_segments(const ConvGeometry& g, int64_t max_channels);

// One image's inputs. x is channels-last ([H*W][C]); offset and mask are the image's arrays in the
// problem's layout (ConvGeometry strides); mask is null when the problem has none.
template <typename V, typename XT>
struct ImageInputs {
  const XT* x;
  const V* offset;
  const V* mask;
};

// One sample of one tap, offset group and pixel, as the backward's scatter reads it back: the four
// corners (element index into [H*W]), their weights with the modulation folded in, and which corners the
// scatter adds (bit k: corner k has a non-zero bilinear weight; 0 for a sample that contributes nothing).
template <typename V>
struct SampleEntry {
  int64_t idx[4];
  V wm[4];
  int64_t used;
};

// Transposes a [rows][cols] matrix (row stride in_ld) into [cols][rows] (row stride out_ld), blocked for
// the cache, converting each element (exactly, for the instantiated pairs of one type).
template <typename To, typename From>
void transpose(const From* in, int64_t rows, int64_t cols, int64_t in_ld, To* out, int64_t out_ld);

// Pixels [p_begin, p_end) of one image's x [C][H*W] (storage S) -> [H*W][C] in V, and back (rounded
// into S).
template <typename V, typename S>
void to_channels_last(const ConvGeometry& g, const S* x, V* x_channels_last, int64_t p_begin, int64_t p_end);
template <typename V, typename S>
void from_channels_last(const ConvGeometry& g, const V* x_channels_last, S* x, int64_t p_begin, int64_t p_end);

// weight [Co][C/groups][K] -> per output channel, the segments of its group one after another, each
// [K][channels] (row o has C/groups * K elements): the dcol GEMM's B, whose columns match the segments'
// column rows. For output channels [o_begin, o_end).
template <typename V>
void weight_to_segments(const ConvGeometry& g, const std::vector<ChannelSegment>& segments, const V* weight,
                        V* permuted, int64_t o_begin, int64_t o_end);
// The same permutation transposed: per group, [C/groups * K][Co/groups], row (c_begin - group start) * K +
// t * n + (c - c_begin) for channel c of segment s and tap t: the forward GEMM's B (K * n rows per
// segment), row-major as the GEMM libraries pack it fastest. For channels [c_begin, c_end) of segment s.
template <typename V>
void weight_to_segment_rows(const ConvGeometry& g, const ChannelSegment& s, int64_t c_begin, int64_t c_end,
                            const V* weight, V* rows);
// The backward's weight gradient is accumulated per block as one dense matrix [Co/groups][K * n] each,
// the blocks one after another (block b at element Co/groups * K * b.c_begin). This writes it back
// as weight [Co][C/groups][K].
template <typename V>
void weight_from_blocks(const ConvGeometry& g, const std::vector<ChannelSegment>& blocks, const V* block_matrices,
                        V* weight);

// Writes segment s's rows for output pixels [p_begin, p_end) of one image into `rows` (the segment's
// part of the columns, whose row 0 is pixel p_row0): rows[p - p_row0][t][c'] = m * sample.
template <typename V, typename XT, typename Col>
void im2col_segment(const ConvGeometry& g, const ImageInputs<V, XT>& in, const ChannelSegment& s, int64_t p_row0,
                    int64_t p_begin, int64_t p_end, Col* rows);

// The outputs of one backward sampling call: each may be null (not computed).
template <typename V, typename Col>
struct BackwardTargets {
  V* grad_x = nullptr;               // channels-last [H*W][C] of the image (the segment's channels)
  V* partial = nullptr;              // [K][3][sw]: per tap, sums of dcol * d/dy, dcol * d/dx, dcol * sample
  Col* rows = nullptr;               // the column rows, exactly as im2col_segment writes them
  SampleEntry<V>* table = nullptr;   // [sw][K]: the samples, for scatter_slice
};

// For segment s, the span's pixels [p0, p0 + sw) and its rows [q_begin, q_end) (q = p - p0): reads the
// dcol rows ([sw][K * n], layout as im2col_segment) and computes, for each target not null:
//   grad_x[corner][c] += m * w_corner * dcol (per pixel, then tap, then corner: the order scatter_slice
//     repeats); a segment touches only its own channels, so segments never write the same element
//   partial, rows, table as described at BackwardTargets (mask factor applied in the reduction)
template <typename V, typename XT, typename Col>
void col2im_coord_segment(const ConvGeometry& g, const ImageInputs<V, XT>& in, const ChannelSegment& s, int64_t p0,
                          int64_t sw, int64_t q_begin, int64_t q_end, const V* dcol_rows,
                          const BackwardTargets<V, Col>& targets);

// grad_x for channels [c, c + count) of segment s (s.c_begin <= c, c + count <= s.c_end) from the
// segment's dcol rows and the samples' table of its offset group ([sw][K]), pixel by pixel, tap by
// tap, corner by corner: per element exactly the sums col2im_coord_segment forms.
template <typename V>
void scatter_slice(const ConvGeometry& g, const ChannelSegment& s, int64_t sw, const SampleEntry<V>* table,
                   const V* dcol_rows, int64_t c, int64_t count, V* grad_x);

// Sums the partials of the `blocks` segments of offset group og (partials: [blocks][K][3][sw], in
// channel order) into grad_offset and grad_mask (either may be null; one image, in the problem's
// layout) for the span's pixels [p0, p0 + sw).
template <typename V>
void reduce_coord_partials(const ConvGeometry& g, const V* mask, int64_t og, int64_t p0, int64_t sw, int64_t blocks,
                           const V* partials, V* grad_offset, V* grad_mask);

}  // namespace dcnjit::cpu
