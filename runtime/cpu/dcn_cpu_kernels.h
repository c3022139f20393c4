// The sampling passes of the CPU backend on raw contiguous arrays (NCHW, one image at a time):
//   im2col_block        x, offset, mask -> column rows (forward; backward when only grad_weight is wanted)
//   col2im_coord_block  dcol -> grad_x scatter, per-block partial sums of the coordinate gradients, and
//                       optionally the column rows (backward)
//   reduce_coord_partials  partial sums -> grad_offset, grad_mask
// All sampling math is dcn::sample_tap (templates/sampling.cuh). A sample (corner indices, weights and
// their derivatives) is computed once per channel block, tap and output pixel, and used by all the
// block's channels (up to kChannelBlock), which is what makes these passes cheap next to the GEMMs.
//
// Column layout of one image: row r = c * K + t (input channel c, tap t = i * kw + j, the order of the
// weight tensor [Co, C/groups, kh, kw]), column q = output pixel p0 + q of the current pixel tile.
#pragma once

#include <cstdint>

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

// The sampling passes split each offset group into blocks of at most this many channels: a block is
// one unit of parallel work, and the coordinate gradients are summed per block and then over blocks
// in a fixed order, so the result does not depend on the thread count.
constexpr int64_t kChannelBlock = 32;

inline int64_t channel_blocks_per_offset_group(const ConvGeometry& g) {
  return (g.channels_per_offset_group + kChannelBlock - 1) / kChannelBlock;
}

// One image's inputs. mask is null when the problem has none.
template <typename T>
struct ImageInputs {
  const T* x;       // [C, H, W]
  const T* offset;  // [2 * og * K, P], (dy, dx) interleaved per tap
  const T* mask;    // [og * K, P] or null
};

// The work of one block: channels [c_begin, c_end) of offset group `og`, output pixels [p0, p0 + tw).
struct BlockRange {
  int64_t og = 0;
  int64_t c_begin = 0, c_end = 0;  // absolute channel indices
  int64_t p0 = 0, tw = 0;
};

// Writes the column rows of the block's channels: col[(c*K + t) * tw + q] = m * sample(x[c], py, px).
template <typename T>
void im2col_block(const ConvGeometry& g, const ImageInputs<T>& in, const BlockRange& r, T* col);

// The forward's column layout is pixel-major instead (the transpose of the above, with the GEMM depth
// reordered): the row of output pixel q holds, per conv group, its taps and, per tap, the group's
// channels, element [grp][t][c'] at grp * K * Cg + t * Cg + c'. A sample then feeds a contiguous run of
// channels from a channels-last copy of x, so the channel loop is unit-stride loads and stores that the
// compiler vectorizes; the GEMM reads the rows as B^T against weights permuted to [Co][t][c'].

// x of one image [C][H*W] -> [H*W][C].
template <typename T>
void to_channels_last(const ConvGeometry& g, const T* x, T* x_channels_last);

// weight [Co][C/groups][K] -> [Co][K][C/groups], the A operand for the pixel-major columns.
template <typename T>
void weight_taps_major(const ConvGeometry& g, const T* weight, T* permuted);

// Writes the pixel-major rows of output pixels [p_begin, p_end) of one image into `col`, whose row 0
// is pixel `p_row0` (rows are C * K elements long). in.x is the image's channels-last copy.
template <typename T>
void im2col_pixel_major(const ConvGeometry& g, const ImageInputs<T>& in, int64_t p_row0, int64_t p_begin,
                        int64_t p_end, T* col);

// For the block's channels, reads dcol rows (same layout as col) and computes, for each target not null:
//   grad_x: grad_x[c][corner] += m * w_corner * dcol  (plane c is touched only by channel c, so blocks
//     never write the same element; the caller zeroes grad_x first)
//   partial: [K][3][tw] sums over the block's channels of
//     dcol * d sample/d py, dcol * d sample/d px, dcol * sample   (mask factor applied in the reduction)
//   col: the column rows, exactly as im2col_block writes them (the column recompute for grad_weight,
//     fused here because this pass loads the same x values anyway)
template <typename T>
void col2im_coord_block(const ConvGeometry& g, const ImageInputs<T>& in, const BlockRange& r, const T* dcol, T* grad_x,
                        T* partial, T* col);

// Sums the partials of all channel blocks of offset group r.og (partials: [blocks][K][3][tw], blocks in
// order) into grad_offset [2*og*K, P] and grad_mask [og*K, P] (either may be null) of one image.
template <typename T>
void reduce_coord_partials(const ConvGeometry& g, const ImageInputs<T>& in, const BlockRange& r, int64_t blocks,
                           const T* partials, T* grad_offset, T* grad_mask);

}  // namespace dcnjit::cpu
