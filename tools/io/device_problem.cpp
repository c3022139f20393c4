#include "tools/io/device_problem.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>

#include "dcnjit/error.h"
#include "runtime/checked_size.h"
#include "runtime/half.h"
#include "runtime/host_memory.h"

namespace dcnjit::io {
namespace {

// A finite float32 value that f16 (or, just below FLT_MAX, bf16) cannot hold would become Inf on the
// device: an error naming the tensor and the element, as .npy reading does for float64 (tools/io/npy.h).
void check_representable(const HostArray& array, DType dtype, const char* name) {
  if (dtype == DType::f32) return;
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
      dtype == DType::f32 ? std::vector<std::byte>() : detail::allocate_host(name, size, [&] { return encode(array.data, dtype); });
  DeviceBuffer buffer = allocate_named(allocate, size, name);
  // f32 needs no conversion: the array's own bytes go up.
  buffer.upload(dtype == DType::f32 ? static_cast<const void*>(array.data.data()) : bytes.data(), size);
  return buffer;
}

DeviceBuffer allocate_elements(const DeviceProblem::Allocator& allocate, int64_t count, DType dtype,
                               const char* name) {
  return allocate_named(allocate, detail::checked_bytes(name, count, dtype_size(dtype)), name);
}

HostArray download(const DeviceBuffer& buffer, std::vector<int64_t> shape, DType dtype, const char* name) {
  HostArray array{std::move(shape), {}};
  const int64_t count = array.numel();
  const std::size_t size = detail::checked_bytes(name, count, dtype_size(dtype));
  if (dtype == DType::f32) {
    detail::allocate_host(name, size, [&] { array.data.resize(std::size_t(count)); });
    buffer.download(array.data.data(), size);
    return array;
  }
  std::vector<std::byte> bytes = detail::allocate_host(name, size, [&] { return std::vector<std::byte>(size); });
  buffer.download(bytes.data(), size);
  array.data = detail::allocate_host(name, std::size_t(count) * sizeof(float), [&] { return decode(bytes, dtype); });
  return array;
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
  y_ = allocate_elements(allocate, detail::checked_product("y", {p.N, p.Co, p.Ho(), p.Wo()}), t, "y");
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
  const DType t = p.dtype;
  ForwardArgs a;
  a.x = x_.tensor(t, {p.N, p.C, p.H, p.W});
  a.offset = offset_.tensor(t, {p.N, 2 * p.offset_groups * p.taps(), p.Ho(), p.Wo()});
  a.weight = weight_.tensor(t, {p.Co, p.C / p.groups, p.kh, p.kw});
  if (p.mask) a.mask = mask_.tensor(t, {p.N, p.offset_groups * p.taps(), p.Ho(), p.Wo()});
  if (p.bias) a.bias = bias_.tensor(t, {p.Co});
  a.y = y_.tensor(t, {p.N, p.Co, p.Ho(), p.Wo()});
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
  a.grad_y = grad_y_.tensor(p.dtype, {p.N, p.Co, p.Ho(), p.Wo()});
  a.grad_x = grad_x_.tensor(p.dtype, {p.N, p.C, p.H, p.W});
  a.grad_offset = grad_offset_.tensor(p.dtype, {p.N, 2 * p.offset_groups * p.taps(), p.Ho(), p.Wo()});
  a.grad_weight = grad_weight_.tensor(p.dtype, {p.Co, p.C / p.groups, p.kh, p.kw});
  if (p.mask) a.grad_mask = grad_mask_.tensor(p.dtype, {p.N, p.offset_groups * p.taps(), p.Ho(), p.Wo()});
  if (p.bias) a.grad_bias = grad_bias_.tensor(p.dtype, {p.Co});
  return a;
}

ProblemResults DeviceProblem::download() const {
  const Problem& p = problem_;
  const DType t = p.dtype;
  const int64_t taps = p.taps();
  ProblemResults r;
  r.y = io::download(y_, {p.N, p.Co, p.Ho(), p.Wo()}, t, "y");
  if (!backward_) return r;
  r.grad_x = io::download(grad_x_, {p.N, p.C, p.H, p.W}, t, "grad_x");
  r.grad_offset =
      io::download(grad_offset_, {p.N, 2 * int64_t(p.offset_groups) * taps, p.Ho(), p.Wo()}, t, "grad_offset");
  r.grad_weight = io::download(grad_weight_, {p.Co, p.C / p.groups, p.kh, p.kw}, t, "grad_weight");
  if (p.mask)
    r.grad_mask = io::download(grad_mask_, {p.N, int64_t(p.offset_groups) * taps, p.Ho(), p.Wo()}, t, "grad_mask");
  if (p.bias) r.grad_bias = io::download(grad_bias_, {p.Co}, t, "grad_bias");
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
