#include "runtime/cpu/float_staging.h"

#include <cstdint>

#include "core/half.h"

namespace dcnjit::cpu {

const float* input_as_f32(const TensorRef& tensor, std::vector<float>& storage) {
  if (!tensor.present()) return nullptr;
  if (tensor.dtype == DType::f32) return static_cast<const float*>(tensor.data);
  const auto* bits = static_cast<const uint16_t*>(tensor.data);
  storage.resize(std::size_t(tensor.numel()));
  if (tensor.dtype == DType::f16)
    for (std::size_t i = 0; i < storage.size(); ++i) storage[i] = half_to_float(bits[i]);
  else
    for (std::size_t i = 0; i < storage.size(); ++i) storage[i] = bf16_to_float(bits[i]);
  return storage.data();
}

float* output_as_f32(const TensorRef& tensor, std::vector<float>& storage) {
  if (!tensor.present()) return nullptr;
  if (tensor.dtype == DType::f32) return static_cast<float*>(tensor.data);
  storage.assign(std::size_t(tensor.numel()), 0.0f);
  return storage.data();
}

void store_output(const TensorRef& tensor, const std::vector<float>& storage) {
  if (!tensor.present() || tensor.dtype == DType::f32) return;
  auto* bits = static_cast<uint16_t*>(tensor.data);
  if (tensor.dtype == DType::f16)
    for (std::size_t i = 0; i < storage.size(); ++i) bits[i] = float_to_half(storage[i]);
  else
    for (std::size_t i = 0; i < storage.size(); ++i) bits[i] = float_to_bf16(storage[i]);
}

}  // namespace dcnjit::cpu
