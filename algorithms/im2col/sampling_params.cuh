// dcn::SamplingParams: the one by-value argument of the im2col family's sampling kernels (im2col,
// col2im, coord, col2im_coord, and the deterministic col2im's kernels: col2im_count, col2im_scan,
// col2im_fill, col2im_sort, col2im_gather). Plain data shared by the host launch code (im2col_pipeline.cpp), the sim
// backend and the device code, so it uses only built-in types (no <cstdint>: NVRTC has no standard
// headers). The launch code zero-fills it first; a kernel reads only the fields its comment names.
//
// The kernels see one chunk of `images` images: x, offset, mask and the gradients point at the chunk's
// first image. Every activation tensor carries its strides (templates/tensor_layout.cuh); the column
// buffer's layout is the algorithm's own (tap_geometry.cuh, docs/architecture.md).
#pragma once

#include "templates/tensor_layout.cuh"

namespace dcn {

// Rows of block_threads counts that one block of col2im_scan scans: a tile is block_threads * kMapScanRows
// map pixels (the host sizes map_tile_sums with it, im2col_workspace.cpp).
constexpr int kMapScanRows = 8;

struct SamplingParams {
  const void* x;             // [images, C, H, W] logical, storage dtype
  const void* offset;        // [images, 2*og*kh*kw, Ho, Wo] logical, (dy, dx) interleaved per tap
  const void* mask;          // [images, og*kh*kw, Ho, Wo] logical; read only when the kernel has a mask
  void* columns;             // im2col output, storage dtype (tap_geometry.cuh: column_at)
  const void* grad_columns;  // col2im / coord input (dcol): same layout as columns
  void* grad_x_accum;        // col2im target [images, C, H, W] in the compute type (f32, or f64), with x's
                             // strides; grad_x itself for f32/f64 problems. Null: grad_x not requested
  void* grad_offset;         // like offset, storage dtype; null: not requested
  void* grad_mask;           // like mask, storage dtype; null: not requested
  void* grad_x;              // col2im_gather's target: grad_x [images, C, H, W] logical, storage dtype, x's strides
  // The deterministic col2im's map from input pixels to the entries that touch them (deform_col2im_gather.cuh),
  // over the chunk's map pixels q = (image * og + group) * H*W + y*W + x, `map_pixels` of them. Counts and
  // keys are unsigned of the index's width (32 or 64 bits).
  void* map_counts;          // [map_pixels + 1]: entries per pixel (col2im_count), then fill cursors (col2im_scan)
  void* map_starts;          // [map_pixels + 1]: each pixel's first entry; [map_pixels] = all entries
  void* map_tile_sums;       // [ceil((map_pixels + 1) / tile)]: entries per scan tile, then their prefix sums
  void* map_keys;            // [4 * work items]: column element of the entry's item (group's first channel) * 4
                             // + corner, its sort key
  void* map_weights;         // [4 * work items] compute type: m * w_k of the entry
  int scan_phase;            // col2im_scan: 0 tile sums, 1 their prefix (one block), 2 each pixel's start
  long long images;          // images in this chunk
  long long C, H, W, Ho, Wo;
  long long offset_groups;   // og; C == og * channels_per_group
  long long column_pitch;    // elements between rows of the column matrix (tap_geometry.cuh)
  int pad_h, pad_w;          // stride, dilation and kernel size are compile-time (Spec)
  ActivationStrides x_strides;       // x and grad_x_accum (pixel = h*W + w)
  ActivationStrides offset_strides;  // offset and grad_offset (pixel = ho*Wo + wo)
  ActivationStrides mask_strides;    // mask and grad_mask
};

}  // namespace dcn
