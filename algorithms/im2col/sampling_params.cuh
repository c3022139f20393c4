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

#include "algorithms/gather/pixel_map_params.cuh"
#include "templates/tensor_layout.cuh"

namespace dcn {

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
  PixelMap map;              // the deterministic col2im's map of the chunk (deform_col2im_gather.cuh)
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
