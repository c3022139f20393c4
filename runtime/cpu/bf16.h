// The storage types of the cpu backend and the conversions between them and the compute type:
//   float, double  stored and computed as they are;
//   Bf16           16 bits of storage for the native bf16 path (AVX512-BF16 GEMMs), computed in float.
// to_bf16 rounds to nearest even and keeps a NaN a NaN, bit-exact with core/half.h's float_to_bf16
// (and so with the GPU backends), but written without branches: the loops that store bf16 columns or
// outputs vectorize.
#pragma once

#include <cstdint>
#include <type_traits>

#include "core/half.h"

namespace dcnjit::cpu {

struct Bf16 {
  uint16_t bits;
};
static_assert(sizeof(Bf16) == 2, "Bf16 must be layout-compatible with the caller's uint16 bf16 arrays");

inline Bf16 to_bf16(float f) {
  const uint32_t bits = float_to_bits(f);
  const uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
  const uint32_t quiet_nan = (bits >> 16) | 0x40u;
  return Bf16{uint16_t((bits & 0x7fffffffu) > 0x7f800000u ? quiet_nan : rounded)};
}

// A stored value as the compute type V.
template <typename V, typename S>
inline V widen(S s) {
  if constexpr (std::is_same_v<S, Bf16>)
    return V(bits_to_float(uint32_t(s.bits) << 16));
  else
    return V(s);
}

// A compute value rounded into storage type S.
template <typename S, typename V>
inline S narrow(V v) {
  if constexpr (std::is_same_v<S, Bf16>)
    return to_bf16(float(v));
  else
    return S(v);
}

}  // namespace dcnjit::cpu
