// The by-value parameter structs of the kernel families every algorithm shares (bias_grad.cuh,
// cast.cuh). Plain data: the host launch code (algorithms/shared_kernels.cpp) fills them and the device
// code reads them, so they use only built-in types (NVRTC has no standard headers).
#pragma once

#include "templates/tensor_layout.cuh"

namespace dcn {

// bias_grad: grad_bias[o] = sum_{n, p} grad_y[n, o, p].
struct BiasGradParams {
  const void* grad_y;              // [N, Co, Ho, Wo] logical, storage dtype
  void* grad_bias;                 // [Co], storage dtype
  long long N, Co, pixels;         // pixels = Ho*Wo
  ActivationStrides grad_y_strides;
};

// cast: dst[i] = storage(src[i]), src in f32
struct ElementwiseParams {
  const void* src;
  void* dst;
  long long count;  // elements (i in [0, count))
};

}  // namespace dcn
