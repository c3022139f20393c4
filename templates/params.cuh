// dcn::Params: the one argument of every generated kernel, passed by value. Plain data shared by
// the host pipeline (runtime/pipeline), the sim backend and the device code, so it uses only
// built-in types (no <cstdint>: NVRTC has no standard headers). Each kernel family reads the
// fields its comment names and ignores the rest; the pipeline zero-fills the struct first.
//
// Tensors are NCHW and contiguous. Sampling kernels see one chunk of `images` images: the pipeline
// points x, offset, mask, columns, ... at the first image of the chunk.
#pragma once

namespace dcn {

struct Params {
  // --- sampling kernels (im2col, col2im, coord, col2im_coord) ---------------------------------
  const void* x;             // [images, C, H, W], storage dtype
  const void* offset;        // [images, 2*og*kh*kw, Ho, Wo], (dy, dx) interleaved per tap
  const void* mask;          // [images, og*kh*kw, Ho, Wo]; read only when the kernel has a mask
  void* columns;             // im2col output: [images, C*kh*kw, Ho*Wo], storage dtype
  const void* grad_columns;  // col2im / coord input (dcol): same layout as columns
  float* grad_x_accum;       // col2im target [images, C, H, W] in f32 (grad_x itself when f32);
                             // null: grad_x not requested
  void* grad_offset;         // [images, 2*og*kh*kw, Ho, Wo], storage dtype; null: not requested
  void* grad_mask;           // [images, og*kh*kw, Ho, Wo], storage dtype; null: not requested
  long long images;          // images in this chunk
  long long C, H, W, Ho, Wo;
  long long offset_groups;   // og; C == og * channels_per_group
  int pad_h, pad_w;          // stride, dilation and kernel size are compile-time (Spec)

  // --- bias_grad: grad_bias[o] = sum_{n, p} grad_y[n, o, p] -------------------------------------
  const void* grad_y;        // [N, Co, Ho*Wo], storage dtype
  void* grad_bias;           // [Co], storage dtype
  long long N, Co, pixels;   // pixels = Ho*Wo

  // --- reduce: dst[i] = (accumulate ? dst[i] : 0) + sum_{b < batch} src[b*batch_stride + i] ---
  // --- cast:   dst[i] = storage(src[i]), src in f32 ----------------------------------------------
  const void* src;
  void* dst;
  long long count;           // elements per operand (i in [0, count))
  long long batch;
  long long batch_stride;
  int accumulate;
};

}  // namespace dcn
