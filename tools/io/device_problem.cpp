#include "tools/io/device_problem.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>

#include "dcnjit/error.h"
#include "core/checked_size.h"
#include "core/half.h"
#include "core/host_memory.h"
#include "core/problem_tensors.h"

namespace dcnjit::io {
namespace {

// A finite float32 value that f16 (or, just below FLT_MAX, bf16) cannot hold would become Inf on the
// device: an error naming the tensor and the element, as .npy reading does for float64 (tools/io/npy.h).
void check_representable(const HostArray& array, DType dtype, const char* name) {
  if (dtype != DType::f16 && dtype != DType::bf16) return;  // f32 and f64 hold every float32 value
  for (std::size_t i = 0; i < array.data.size(); ++i) {
    const float v = array.data[i];
    const float stored = dtype == DType::f16 ? half_to_float(float_to_half(v)) : bf16_to_float(float_to_bf16(v));
    if (std::isfinite(v) && !std::isfinite(stored))
      throw Error(ErrorCode::InvalidArgument,
                  fmt::format("{}: element {} is {:g}, beyond {}'s range (largest finite value {:g}); use a wider "
                              "--dtype or scale the data",
                              name, element_index_text(array.shape, i), v, to_string(dtype),
                              dtype == DType::f16 ? 65504.0 : 3.3895313892515355e38));
  }
}

// The backend's memory for tensor `name`: a failure names the tensor and the bytes.
DeviceBuffer allocate_named(const DeviceProblem::Allocator& allocate, std::size_t bytes, const char* name) {
  try {
    return allocate(bytes);
  } catch (const Error& e) {
    throw Error(e.code(), fmt::format("{}: {}", name, e.what()));
  } catch (const std::bad_alloc&) {
    throw detail::host_allocation_error(name, bytes, "out of memory");
  }
}

DeviceBuffer upload(const DeviceProblem::Allocator& allocate, const HostArray& array, DType dtype, const char* name) {
  check_representable(array, dtype, name);
  const std::size_t size = detail::checked_bytes(name, array.numel(), dtype_size(dtype));
  const std::vector<std::byte> bytes =
      dtype == DType::f32 ? std::vector<std::byte>()
                          : detail::allocate_host(name, size, [&] { return encode(array.data, dtype); });
  DeviceBuffer buffer = allocate_named(allocate, size, name);
  // f32 needs no conversion: the array's own bytes go up.
  buffer.upload(dtype == DType::f32 ? static_cast<const void*>(array.data.data()) : bytes.data(), size);
  return buffer;
}

DeviceBuffer allocate_elements(const DeviceProblem::Allocator& allocate, int64_t count, DType dtype,
                               const char* name) {
  return allocate_named(allocate, detail::checked_bytes(name, count, dtype_size(dtype)), name);
}

// The tensor of `role` in its memory order (the order of the .npy files: NHWC activations for nhwc), as
// `name` in the errors (grad_x for the role x, ...).
HostArray download(const DeviceBuffer& buffer, const Problem& problem, TensorRole role, const char* name) {
  const TensorShape shape = tensor_shape(problem, role);
  const int64_t count = shape.elements;
  const std::size_t size = detail::checked_bytes(name, count, dtype_size(problem.dtype));
  HostArray array{shape.memory_shape(), {}};
  if (problem.dtype == DType::f32) {
    detail::allocate_host(name, size, [&] { array.data.resize(std::size_t(count)); });
    buffer.download(array.data.data(), size);
    return array;
  }
  std::vector<std::byte> bytes = detail::allocate_host(name, size, [&] { return std::vector<std::byte>(size); });
  buffer.download(bytes.data(), size);
  array.data =
      detail::allocate_host(name, std::size_t(count) * sizeof(float), [&] { return decode(bytes, problem.dtype); });
  return array;
}

TensorRef tensor_of(const DeviceBuffer& buffer, const Problem& problem, TensorRole role) {
  const TensorShape s = tensor_shape(problem, role);
  TensorRef t = buffer.tensor(problem.dtype, {s.elements});  // checks the size, sets the device
  t.rank = s.rank;
  t.shape = s.shape;
  t.strides = s.strides;
  return t;
}

}  // namespace

std::vector<std::byte> encode(const std::vector<float>& values, DType dtype) {
  std::vector<std::byte> bytes(values.size() * dtype_size(dtype));
  switch (dtype) {
    case DType::f32:
      if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
      break;
    case DType::f16:
    case DType::bf16:
      for (std::size_t i = 0; i < values.size(); ++i) {
        const uint16_t h = dtype == DType::f16 ? float_to_half(values[i]) : float_to_bf16(values[i]);
        std::memcpy(bytes.data() + 2 * i, &h, 2);
      }
      break;
    case DType::f64:
      for (std::size_t i = 0; i < values.size(); ++i) {
        const double d = values[i];
        std::memcpy(bytes.data() + 8 * i, &d, 8);
      }
      break;
  }
  return bytes;
}

std::vector<float> decode(const std::vector<std::byte>& bytes, DType dtype) {
  std::vector<float> values(bytes.size() / dtype_size(dtype));
  switch (dtype) {
    case DType::f32:
      if (!values.empty()) std::memcpy(values.data(), bytes.data(), values.size() * 4);
      break;
    case DType::f16:
    case DType::bf16:
      for (std::size_t i = 0; i < values.size(); ++i) {
        uint16_t h;
        std::memcpy(&h, bytes.data() + 2 * i, 2);
        values[i] = dtype == DType::f16 ? half_to_float(h) : bf16_to_float(h);
      }
      break;
    case DType::f64:
      for (std::size_t i = 0; i < values.size(); ++i) {
        double d;
        std::memcpy(&d, bytes.data() + 8 * i, 8);
        values[i] = float(d);
      }
      break;
  }
  return values;
}

DeviceProblem::DeviceProblem(const ProblemArrays& arrays, bool backward, const Allocator& allocate)
    : problem_(arrays.problem), backward_(backward) {
  const Problem& p = problem_;
  const DType t = p.dtype;
  p.validate();  // the sizes below are products of its dimensions
  if (backward && !arrays.grad_y) throw Error(ErrorCode::InvalidArgument, "grad_y: backward needs the gradient of y");
  x_ = upload(allocate, arrays.x, t, "x");
  offset_ = upload(allocate, arrays.offset, t, "offset");
  weight_ = upload(allocate, arrays.weight, t, "weight");
  if (arrays.mask) mask_ = upload(allocate, *arrays.mask, t, "mask");
  if (arrays.bias) bias_ = upload(allocate, *arrays.bias, t, "bias");
  y_ = allocate_elements(allocate, tensor_shape(p, TensorRole::y).elements, t, "y");
  if (!backward) return;
  grad_y_ = upload(allocate, *arrays.grad_y, t, "grad_y");
  grad_x_ = allocate_elements(allocate, arrays.x.numel(), t, "grad_x");
  grad_offset_ = allocate_elements(allocate, arrays.offset.numel(), t, "grad_offset");
  grad_weight_ = allocate_elements(allocate, arrays.weight.numel(), t, "grad_weight");
  if (p.mask) grad_mask_ = allocate_elements(allocate, arrays.mask->numel(), t, "grad_mask");
  if (p.bias) grad_bias_ = allocate_elements(allocate, p.Co, t, "grad_bias");
}

DeviceProblem::DeviceProblem(Engine& engine, const ProblemArrays& arrays, bool backward)
    : DeviceProblem(arrays, backward, [&engine](std::size_t bytes) { return engine.allocate(bytes); }) {}

ForwardArgs DeviceProblem::forward_args() const {
  const Problem& p = problem_;
  ForwardArgs a;
  a.x = tensor_of(x_, p, TensorRole::x);
  a.offset = tensor_of(offset_, p, TensorRole::offset);
  a.weight = tensor_of(weight_, p, TensorRole::weight);
  if (p.mask) a.mask = tensor_of(mask_, p, TensorRole::mask);
  if (p.bias) a.bias = tensor_of(bias_, p, TensorRole::bias);
  a.y = tensor_of(y_, p, TensorRole::y);
  return a;
}

BackwardArgs DeviceProblem::backward_args() const {
  if (!backward_) throw Error(ErrorCode::Internal, "DeviceProblem: made without backward buffers");
  const ForwardArgs f = forward_args();
  const Problem& p = problem_;
  BackwardArgs a;
  a.x = f.x;
  a.offset = f.offset;
  a.mask = f.mask;
  a.weight = f.weight;
  a.grad_y = tensor_of(grad_y_, p, TensorRole::y);
  a.grad_x = tensor_of(grad_x_, p, TensorRole::x);
  a.grad_offset = tensor_of(grad_offset_, p, TensorRole::offset);
  a.grad_weight = tensor_of(grad_weight_, p, TensorRole::weight);
  if (p.mask) a.grad_mask = tensor_of(grad_mask_, p, TensorRole::mask);
  if (p.bias) a.grad_bias = tensor_of(grad_bias_, p, TensorRole::bias);
  return a;
}

ProblemResults DeviceProblem::download() const {
  const Problem& p = problem_;
  ProblemResults r;
  r.y = io::download(y_, p, TensorRole::y, "y");
  if (!backward_) return r;
  r.grad_x = io::download(grad_x_, p, TensorRole::x, "grad_x");
  r.grad_offset = io::download(grad_offset_, p, TensorRole::offset, "grad_offset");
  r.grad_weight = io::download(grad_weight_, p, TensorRole::weight, "grad_weight");
  if (p.mask) r.grad_mask = io::download(grad_mask_, p, TensorRole::mask, "grad_mask");
  if (p.bias) r.grad_bias = io::download(grad_bias_, p, TensorRole::bias, "grad_bias");
  return r;
}

ProblemResults run_problem(Engine& engine, const ProblemArrays& arrays, bool backward) {
  const Plan plan = engine.plan(arrays.problem);
  DeviceProblem device(engine, arrays, backward);
  plan.forward(device.forward_args());
  if (backward) plan.backward(device.backward_args());
  return device.download();
}

}  // namespace dcnjit::io
