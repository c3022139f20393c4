// The tensors of a problem: their logical shapes (always in NCHW order, as the API and PyTorch see
// them) and the dense strides of the problem's layout. One place, so validation, workloads, .npy I/O,
// the backends and the bindings agree on what NHWC means (docs/semantics.md):
//
//   tensor            logical shape              nchw memory order     nhwc memory order
//   x, grad_x         [N, C, H, W]               N, C, H, W            N, H, W, C
//   offset, grad_off  [N, 2*og*kh*kw, Ho, Wo]    N, K, Ho, Wo          N, Ho, Wo, K
//   mask, grad_mask   [N, og*kh*kw, Ho, Wo]      N, K, Ho, Wo          N, Ho, Wo, K
//   y, grad_y         [N, Co, Ho, Wo]            N, Co, Ho, Wo         N, Ho, Wo, Co
//   weight, grad_w    [Co, C/groups, kh, kw]     contiguous in both layouts
//   bias, grad_bias   [Co]                       contiguous in both layouts
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "dcnjit/problem.h"
#include "dcnjit/tensor.h"

namespace dcnjit {

enum class TensorRole { x, offset, mask, weight, bias, y };
const char* to_string(TensorRole role);

struct TensorShape {
  int rank = 0;
  std::array<int64_t, 4> shape{};    // logical (NCHW) order
  std::array<int64_t, 4> strides{};  // elements, dense in the problem's layout
  int64_t elements = 0;              // product of shape (0 when the product overflows int64)
  bool activation = false;           // laid out by the problem's layout (x, offset, mask, y)
  Layout layout = Layout::nchw;      // the memory order of `strides`: the problem's for activations

  std::vector<int64_t> shape_vector() const { return {shape.begin(), shape.begin() + rank}; }
  // The shape in memory order: [N, H, W, C] for an activation of an nhwc problem, else shape_vector().
  std::vector<int64_t> memory_shape() const;
};

TensorShape tensor_shape(const Problem& problem, TensorRole role);
// The logical (NCHW-order) shape of an array stored in memory order `memory` for `layout` (rank 4:
// [N, H, W, C] -> [N, C, H, W] for nhwc; unchanged otherwise).
std::vector<int64_t> logical_shape(const std::vector<int64_t>& memory, Layout layout);

// A TensorRef of `role` over `data`, dense in the problem's layout.
TensorRef tensor_ref(const Problem& problem, TensorRole role, void* data, Device device);

// Activation strides in the (image, channel, pixel) form the kernels take, pixel = h*W + w (x) or
// ho*Wo + wo (offset, mask, y).
struct ActivationStrides {
  int64_t image = 0, channel = 0, pixel = 0;
};
ActivationStrides activation_strides(const Problem& problem, TensorRole role);
inline ActivationStrides input_strides(const Problem& problem) { return activation_strides(problem, TensorRole::x); }
inline ActivationStrides output_strides(const Problem& problem) { return activation_strides(problem, TensorRole::y); }

}  // namespace dcnjit
