// The layout policy of the activation tensors (x, offset, mask, y and their gradients): one kernel
// template serves NCHW and NHWC. Parameter structs carry every stride at run time (as FlashAttention's
// params do), so a kernel indexes any dense layout; the policy tells the compiler which stride is 1, so
// the unit-stride walk (along pixels in NCHW, along channels in NHWC) compiles to plain increments and
// the other stride is read from the params.
//
// An activation element (n, channel k, pixel p = h*W + w) is at
//   n * image_stride + k * channel_stride<Layout>(params.channel_stride) + p * pixel_stride<Layout>(...).
// In NCHW the pixel stride is 1 and the channel stride H*W (x) or P = Ho*Wo (offset, mask, y); in NHWC
// the channel stride is 1 and the pixel stride is the channel count.
#pragma once

#include "templates/portability.cuh"

namespace dcn {

enum LayoutId : int { kNCHW = 0, kNHWC = 1 };

template <int kLayout>
struct Layout {
  static constexpr bool channels_last = kLayout == kNHWC;

  template <typename Index>
  DCN_DEVICE static Index channel_stride(long long runtime_stride) {
    return channels_last ? Index(1) : Index(runtime_stride);
  }
  template <typename Index>
  DCN_DEVICE static Index pixel_stride(long long runtime_stride) {
    return channels_last ? Index(runtime_stride) : Index(1);
  }
};

// Strides (elements) of a 3-level activation tensor: image, channel, pixel (pixel = h*W + w).
struct ActivationStrides {
  long long image, channel, pixel;
};

}  // namespace dcn
