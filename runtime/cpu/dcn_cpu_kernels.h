// The sampling passes of the CPU backend on raw contiguous arrays, one image at a time:
//   im2col_segment        x, offset, mask -> column rows (forward; backward when only grad_weight is wanted)
//   col2im_coord_segment  dcol rows -> grad_x scatter, partial sums of the coordinate gradients, and
//                         optionally the column rows (backward)
//   reduce_coord_partials partial sums -> grad_offset, grad_mask
// plus the layout copies they need. All sampling math is dcn::sample_tap (templates/sampling.cuh).
//
// Column layout. The channels are split into segments, each inside one conv group and one offset
// group (so one GEMM operand slice and one sample per tap and pixel serve all its channels). The
// columns of a tile of tw output pixels hold the segments one after another; segment s, starting at
// channel c0 with n channels, occupies elements [tw * K * c0, tw * K * (c0 + n)) as rows [q][t][c - c0]:
// pixel-major, then tap, then channel. One sample thus feeds a contiguous run of channels, read from a
// channels-last copy of x ([H*W][C]) and, in backward, scattered into a channels-last grad_x: every
// channel loop is unit-stride and vectorized by the compiler, and each segment's rows are one
// contiguous stream. The GEMMs read a segment's rows as the transposed operand against the weights
// permuted to the same order (weight_to_segments).
//
// The forward uses the largest segments (conv group intersected with offset group: the GEMM depth
// stays whole); the backward splits them into blocks of at most kChannelBlock channels, the unit of
// parallel work (a block owns its channels of grad_x).
#pragma once

#include <cstdint>
#include <vector>

#include "dcnjit/problem.h"

namespace dcnjit::cpu {

// Problem sizes in the form the loops use.
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

  static ConvGeometry of(const Problem& problem);
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

// One image's inputs. mask is null when the problem has none; x is the channels-last copy.
template <typename T>
struct ImageInputs {
  const T* x;       // [H*W, C]
  const T* offset;  // [2 * og * K, P], (dy, dx) interleaved per tap
  const T* mask;    // [og * K, P] or null
};

// x of one image [C][H*W] -> [H*W][C], and back.
template <typename T>
void to_channels_last(const ConvGeometry& g, const T* x, T* x_channels_last);
template <typename T>
void from_channels_last(const ConvGeometry& g, const T* x_channels_last, T* x);

// weight [Co][C/groups][K] -> per output channel, the segments of its group one after another, each
// [K][channels]: the GEMM operand whose depth matches the segments' column rows. And back.
template <typename T>
void weight_to_segments(const ConvGeometry& g, const std::vector<ChannelSegment>& segments, const T* weight,
                        T* permuted);
template <typename T>
void weight_from_segments(const ConvGeometry& g, const std::vector<ChannelSegment>& segments, const T* permuted,
                          T* weight);

// Writes segment s's rows for output pixels [p_begin, p_end) of one image into `rows` (the segment's
// part of the tile's columns, whose row 0 is pixel p_row0): rows[p - p_row0][t][c'] = m * sample.
template <typename T>
void im2col_segment(const ConvGeometry& g, const ImageInputs<T>& in, const ChannelSegment& s, int64_t p_row0,
                    int64_t p_begin, int64_t p_end, T* rows);

// For segment s and the tile's pixels [p0, p0 + tw), reads its dcol rows (layout as im2col_segment)
// and computes, for each target not null:
//   grad_x (channels-last, [H*W][C]): grad_x[corner][c] += m * w_corner * dcol  (a segment touches
//     only its own channels, so segments never write the same element; the caller zeroes grad_x)
//   partial: [K][3][tw] sums over the segment's channels of
//     dcol * d sample/d py, dcol * d sample/d px, dcol * sample   (mask factor applied in the reduction)
//   rows: the column rows, exactly as im2col_segment writes them (the column recompute for
//     grad_weight, fused here because this pass loads the same x values anyway)
template <typename T>
void col2im_coord_segment(const ConvGeometry& g, const ImageInputs<T>& in, const ChannelSegment& s, int64_t p0,
                          int64_t tw, const T* dcol_rows, T* grad_x, T* partial, T* rows);

// Sums the partials of the `blocks` segments of offset group og (partials: [blocks][K][3][tw], in
// channel order) into grad_offset [2*og*K, P] and grad_mask [og*K, P] (either may be null) of one image,
// for the tile's pixels [p0, p0 + tw).
template <typename T>
void reduce_coord_partials(const ConvGeometry& g, const ImageInputs<T>& in, int64_t og, int64_t p0, int64_t tw,
                           int64_t blocks, const T* partials, T* grad_offset, T* grad_mask);

}  // namespace dcnjit::cpu
