#include "dcnjit/tensor.h"

#include <fmt/format.h>

#include "dcnjit/error.h"

namespace dcnjit {

const char* to_string(Device device) { return device == Device::cpu ? "cpu" : "cuda"; }

int64_t TensorRef::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank; ++i)
    if (shape[i] < 0 || __builtin_mul_overflow(n, shape[i], &n))
      throw Error(ErrorCode::InvalidArgument,
                  fmt::format("tensor of shape {}: too many elements for 64 bits", shape_string()));
  return n;
}

bool TensorRef::is_contiguous() const {
  int64_t expected = 1;
  for (int i = rank - 1; i >= 0; --i) {
    if (shape[i] != 1 && strides[i] != expected) return false;
    expected *= shape[i];
  }
  return true;
}

bool TensorRef::is_channels_last() const {
  if (rank != 4) return false;
  // Memory order n, h, w, c; size-1 dimensions may carry any stride (as in is_contiguous).
  const int order[4] = {0, 2, 3, 1};
  int64_t expected = 1;
  for (int k = 3; k >= 0; --k) {
    const int d = order[k];
    if (shape[d] != 1 && strides[d] != expected) return false;
    expected *= shape[d];
  }
  return true;
}

std::string TensorRef::shape_string() const {
  std::string s = "[";
  for (int i = 0; i < rank; ++i) s += fmt::format("{}{}", i ? ", " : "", shape[i]);
  return s + "]";
}

TensorRef TensorRef::contiguous(void* data, DType dtype, Device device, std::initializer_list<int64_t> shape) {
  if (shape.size() > 4)
    throw Error(ErrorCode::InvalidArgument, fmt::format("tensor: rank {} exceeds 4", shape.size()));
  TensorRef t;
  t.data = data;
  t.dtype = dtype;
  t.device = device;
  t.rank = int(shape.size());
  int i = 0;
  for (int64_t d : shape) t.shape[i++] = d;
  int64_t stride = 1;
  for (int k = t.rank - 1; k >= 0; --k) {
    t.strides[k] = stride;
    stride *= t.shape[k];
  }
  return t;
}


TensorRef TensorRef::channels_last(void* data, DType dtype, Device device, std::initializer_list<int64_t> nchw_shape) {
  if (nchw_shape.size() != 4)
    throw Error(ErrorCode::InvalidArgument,
                fmt::format("tensor: channels-last needs rank 4 [N, C, H, W], got rank {}", nchw_shape.size()));
  TensorRef t = contiguous(data, dtype, device, nchw_shape);
  const int64_t C = t.shape[1], H = t.shape[2], W = t.shape[3];
  t.strides = {H * W * C, 1, W * C, C};
  return t;
}

TensorRef TensorRef::dense(void* data, DType dtype, Device device, Layout layout,
                           std::initializer_list<int64_t> shape) {
  if (layout == Layout::nhwc && shape.size() == 4) return channels_last(data, dtype, device, shape);
  return contiguous(data, dtype, device, shape);
}

}  // namespace dcnjit
