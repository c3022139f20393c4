// TensorRef: a non-owning view of caller memory. dcnjit never allocates the caller's tensors.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "dcnjit/problem.h"

namespace dcnjit {

enum class Device { cpu, cuda };
const char* to_string(Device device);

struct TensorRef {
  void* data = nullptr;  // null means "absent" (optional input) or "not requested" (gradient output)
  DType dtype = DType::f32;
  Device device = Device::cpu;
  int rank = 0;
  std::array<int64_t, 4> shape{};
  std::array<int64_t, 4> strides{};  // in elements

  bool present() const { return data != nullptr; }
  int64_t numel() const;
  bool is_contiguous() const;      // dense row-major in the logical (NCHW) order
  bool is_channels_last() const;   // rank 4, dense in [N, H, W, C] memory order (PyTorch's channels_last)
  bool is_dense(Layout layout) const { return layout == Layout::nhwc ? is_channels_last() : is_contiguous(); }
  std::string shape_string() const;  // "[2, 18, 50, 76]"

  // A dense row-major (NCHW) tensor of the given shape.
  static TensorRef contiguous(void* data, DType dtype, Device device, std::initializer_list<int64_t> shape);
  static TensorRef contiguous(const void* data, DType dtype, Device device, std::initializer_list<int64_t> shape) {
    return contiguous(const_cast<void*>(data), dtype, device, shape);
  }
  // A rank-4 tensor of logical shape [N, C, H, W] stored as [N, H, W, C] (channels-last strides).
  static TensorRef channels_last(void* data, DType dtype, Device device, std::initializer_list<int64_t> nchw_shape);
  // contiguous() for Layout::nchw, channels_last() for Layout::nhwc (rank 4 only; others are contiguous).
  static TensorRef dense(void* data, DType dtype, Device device, Layout layout, std::initializer_list<int64_t> shape);
};

}  // namespace dcnjit
