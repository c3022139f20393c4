// DLPack arrays (nanobind's ndarray: torch, numpy, cupy, anything with __dlpack__) as dcnjit TensorRefs over
// the same memory: no copy, the producer's shape and strides kept as they are. What the C++ API cannot take
// (a dtype or device it does not know, rank above 4) is an error naming the tensor.
#pragma once

#include <nanobind/ndarray.h>

#include <cstdint>
#include <string>

#include "dcnjit/dcnjit.h"

namespace dcnjit::python {

// DLPack device of an array: DLPack's device type code and the device ordinal.
struct Placement {
  int32_t type = 0;
  int32_t id = 0;
  bool operator==(const Placement&) const = default;
};

// "float32", "float16", "bfloat16", "float64", "int64", ... (the names torch and numpy print).
std::string dtype_name(nanobind::dlpack::dtype dtype);
// The dcnjit dtype of an array; Error(InvalidArgument) naming `name` for any other.
DType to_dtype(const char* name, nanobind::dlpack::dtype dtype);
// cpu or cuda; Error(InvalidArgument) naming `name` for any other DLPack device.
Device to_device(const char* name, int32_t device_type);
std::string placement_name(Placement placement);  // "cpu", "cuda:1"

// The view of `array` that the C++ API reads or writes (rank 0 to 4; strides in elements).
TensorRef tensor_ref(const char* name, void* data, nanobind::dlpack::dtype dtype, int32_t device_type, std::size_t ndim,
                     const int64_t* shape, const int64_t* strides);

template <typename Array>
TensorRef tensor_ref(const char* name, const Array& array) {
  return tensor_ref(name, const_cast<void*>(static_cast<const void*>(array.data())), array.dtype(),
                    array.device_type(), array.ndim(), array.shape_ptr(), array.stride_ptr());
}

template <typename Array>
Placement placement(const Array& array) {
  return {array.device_type(), array.device_id()};
}

}  // namespace dcnjit::python
