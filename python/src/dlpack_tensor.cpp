#include "dlpack_tensor.h"

#include <fmt/format.h>

#include <cstddef>

namespace dcnjit::python {

namespace dl = nanobind::dlpack;

std::string dtype_name(dl::dtype dtype) {
  const char* kind = "unknown";
  switch (dl::dtype_code(dtype.code)) {
    case dl::dtype_code::Int: kind = "int"; break;
    case dl::dtype_code::UInt: kind = "uint"; break;
    case dl::dtype_code::Float: kind = "float"; break;
    case dl::dtype_code::Bfloat: kind = "bfloat"; break;
    case dl::dtype_code::Complex: kind = "complex"; break;
    case dl::dtype_code::Bool: return "bool";
    default: break;
  }
  std::string name = fmt::format("{}{}", kind, dtype.bits);
  if (dtype.lanes != 1) name += fmt::format("x{}", dtype.lanes);
  return name;
}

DType to_dtype(const char* name, dl::dtype dtype) {
  if (dtype.lanes == 1) {
    if (dtype.code == uint8_t(dl::dtype_code::Float)) {
      if (dtype.bits == 32) return DType::f32;
      if (dtype.bits == 16) return DType::f16;
      if (dtype.bits == 64) return DType::f64;
    }
    if (dtype.code == uint8_t(dl::dtype_code::Bfloat) && dtype.bits == 16) return DType::bf16;
  }
  throw Error(ErrorCode::InvalidArgument,
              fmt::format("{}: dtype {} is not supported (float32, float16, bfloat16 or float64)", name,
                          dtype_name(dtype)));
}

Device to_device(const char* name, int32_t device_type) {
  if (device_type == nanobind::device::cpu::value) return Device::cpu;
  if (device_type == nanobind::device::cuda::value) return Device::cuda;
  throw Error(ErrorCode::InvalidArgument,
              fmt::format("{}: DLPack device type {} is not supported (CPU memory or CUDA device memory)", name,
                          device_type));
}

std::string placement_name(Placement placement) {
  if (placement.type == nanobind::device::cpu::value) return "cpu";
  if (placement.type == nanobind::device::cuda::value) return fmt::format("cuda:{}", placement.id);
  return fmt::format("DLPack device {}:{}", placement.type, placement.id);
}

TensorRef tensor_ref(const char* name, void* data, dl::dtype dtype, int32_t device_type, std::size_t ndim,
                     const int64_t* shape, const int64_t* strides) {
  if (ndim > 4)
    throw Error(ErrorCode::InvalidArgument, fmt::format("{}: rank {} exceeds 4", name, ndim));
  TensorRef ref;
  ref.data = data;
  ref.dtype = to_dtype(name, dtype);
  ref.device = to_device(name, device_type);
  ref.rank = int(ndim);
  for (std::size_t i = 0; i < ndim; ++i) {
    ref.shape[i] = shape[i];
    ref.strides[i] = strides[i];
  }
  // An empty tensor has no memory to point at; the C++ API reads a null data pointer as "absent", so
  // keep it non-null and let the shape checks report the empty dimension.
  if (ref.data == nullptr && ref.numel() == 0) ref.data = reinterpret_cast<void*>(alignof(std::max_align_t));
  return ref;
}

}  // namespace dcnjit::python
