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
  bool is_contiguous() const;
  std::string shape_string() const;  // "[2, 18, 50, 76]"

  // A dense row-major (NCHW) tensor of the given shape.
  static TensorRef contiguous(void* data, DType dtype, Device device, std::initializer_list<int64_t> shape);
  static TensorRef contiguous(const void* data, DType dtype, Device device, std::initializer_list<int64_t> shape) {
    return contiguous(const_cast<void*>(data), dtype, device, shape);
  }
};

}  // namespace dcnjit
