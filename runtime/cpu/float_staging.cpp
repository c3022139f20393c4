#include "runtime/cpu/float_staging.h"

#include <cstdint>

#include "core/half.h"
#include "runtime/cpu/bf16.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define DCNJIT_HAVE_F16C_PATH 1
#endif

namespace dcnjit::cpu {
namespace {

#ifdef DCNJIT_HAVE_F16C_PATH
bool cpu_has_f16c() {
  static const bool has = __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx");
  return has;
}

__attribute__((target("avx,f16c"))) std::size_t f16_to_f32_f16c(const uint16_t* in, float* out, std::size_t n) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
  return i;
}

__attribute__((target("avx,f16c"))) std::size_t f32_to_f16_f16c(const float* in, uint16_t* out, std::size_t n) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  return i;
}
#endif

}  // namespace

void f16_to_f32(const uint16_t* in, float* out, std::size_t n) {
  std::size_t i = 0;
#ifdef DCNJIT_HAVE_F16C_PATH
  if (cpu_has_f16c()) i = f16_to_f32_f16c(in, out, n);
#endif
  for (; i < n; ++i) out[i] = half_to_float(in[i]);
}

void f32_to_f16(const float* in, uint16_t* out, std::size_t n) {
  std::size_t i = 0;
#ifdef DCNJIT_HAVE_F16C_PATH
  if (cpu_has_f16c()) i = f32_to_f16_f16c(in, out, n);
#endif
  for (; i < n; ++i) out[i] = float_to_half(in[i]);
}

void bf16_to_f32(const uint16_t* in, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = bf16_to_float(in[i]);
}

void f32_to_bf16(const float* in, uint16_t* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = to_bf16(in[i]).bits;
}

const float* input_as_f32(const TensorRef& tensor, std::vector<float>& storage) {
  if (!tensor.present()) return nullptr;
  if (tensor.dtype == DType::f32) return static_cast<const float*>(tensor.data);
  const auto* bits = static_cast<const uint16_t*>(tensor.data);
  storage.resize(std::size_t(tensor.numel()));
  if (tensor.dtype == DType::f16)
    f16_to_f32(bits, storage.data(), storage.size());
  else
    bf16_to_f32(bits, storage.data(), storage.size());
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
    f32_to_f16(storage.data(), bits, storage.size());
  else
    f32_to_bf16(storage.data(), bits, storage.size());
}

}  // namespace dcnjit::cpu
