// dcn::FusedParams: the one by-value argument of the fused family's kernels (forward, weight
// gradient, data gradient, their reductions, the weight permutation). Plain data shared by the host
// launch code (fused_passes.cpp), the sim backend and the device code: built-in types only (NVRTC has
// no standard headers). The launch code zero-fills it; a kernel reads the fields its comment names.
//
// Pixels are numbered across images: pixel n of the call is (image n / P, output pixel n % P), P = Ho*Wo,
// so a tile of pixels may span images (the implicit GEMM's N dimension is images * P).
#pragma once

#include "algorithms/gather/pixel_map_params.cuh"
#include "templates/tensor_layout.cuh"

namespace dcn {

struct FusedParams {
  const void* x;               // [N, C, H, W] logical, storage dtype
  const void* offset;          // [N, 2*og*kh*kw, Ho, Wo] logical, (dy, dx) interleaved per tap
  const void* mask;            // [N, og*kh*kw, Ho, Wo] logical; read only when the kernel has a mask
  const void* weight;          // [Co, C/groups, kh, kw], storage dtype (weights kernel: its input)
  const void* weights;         // the permuted weights the GEMMs read (fused_weights.cuh: its output)
  const void* bias;            // [Co] or null (forward)
  void* y;                     // [N, Co, Ho, Wo] logical (forward)
  const void* grad_y;          // like y (backward)
  void* grad_x_accum;          // data gradient's scatter target in f32, x's strides; null: not requested
  void* grad_offset;           // like offset, storage dtype; null: not requested
  void* grad_mask;             // like mask, storage dtype; null: not requested
  void* grad_weight;           // like weight, storage dtype; null: not requested
  void* weight_partials;       // [split][Co][C/groups*taps] f32, k' in the reduction order: split-K partials
  void* coord_partials;        // [slots][N][og][taps][P][5] f32: per channel chunk, corner sums S_k and Z
  // The deterministic data gradient (atomic=gather, fused_gather.cuh) runs per chunk of images: N, x,
  // offset, mask, grad_y and the gradients then describe the chunk.
  void* grad_columns;          // the chunk's column gradient, f32 (fused_columns.cuh); null: grad_x scatters
  void* grad_x;                // the gather's target: grad_x of the chunk, storage dtype, x's strides
  PixelMap map;                // the gather's map of the chunk (algorithms/gather/pixel_map.cuh)
  long long N, C, H, W, Co, Ho, Wo;
  long long offset_groups;     // og
  long long weight_pitch;      // elements between rows of the permuted weights (a multiple of 8)
  long long split;             // weight gradient: CTAs sharing one output tile along the pixels
  long long split_pixels;      // pixels each of them reduces (a multiple of the tile's BK)
  long long chunks_per_offset_group;  // data gradient: channel chunks (coord partial slots) per og
  int pad_h, pad_w;            // stride, dilation and kernel size are compile-time (the Spec)
  // 1 when x may be read as 16-byte vectors of channels: NHWC, x 16-byte aligned, and its image and
  // pixel strides multiples of a vector (tile_loaders.cuh's SampledTile; set by the launch code).
  int x_vectors;
  ActivationStrides x_strides;       // x and grad_x_accum (pixel = h*W + w)
  ActivationStrides offset_strides;  // offset and grad_offset (pixel = ho*Wo + wo)
  ActivationStrides mask_strides;    // mask and grad_mask
  ActivationStrides y_strides;       // y and grad_y
};

}  // namespace dcn
