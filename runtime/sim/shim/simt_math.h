// Math and bit intrinsics of the SIMT shim (included by simt.h). The C math functions (fmaf, floorf,
// expf, sqrtf, ...) come from <math.h>; this file adds the CUDA-only names. The fast approximate
// intrinsics (__expf, __fdividef, ...) use the exact host functions: the sim checks logic, not
// last-bit rounding of approximations.
#pragma once

#include <math.h>

#include <bit>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

namespace dcnjit_sim {

template <typename To, typename From>
inline To bit_copy(From from) {
  static_assert(sizeof(To) == sizeof(From));
  To to;
  std::memcpy(&to, &from, sizeof(To));
  return to;
}

template <typename T>
inline constexpr bool is_plain_number = std::is_arithmetic_v<T> && !std::is_same_v<T, bool>;

}  // namespace dcnjit_sim

// min/max over mixed arithmetic types, with the usual arithmetic conversions (CUDA's overload set
// for int/unsigned/long long/float/double and their mixes resolves the same way).
template <typename A, typename B>
inline std::enable_if_t<dcnjit_sim::is_plain_number<A> && dcnjit_sim::is_plain_number<B>, std::common_type_t<A, B>>
min(A a, B b) {
  using C = std::common_type_t<A, B>;
  return C(b) < C(a) ? C(b) : C(a);
}

template <typename A, typename B>
inline std::enable_if_t<dcnjit_sim::is_plain_number<A> && dcnjit_sim::is_plain_number<B>, std::common_type_t<A, B>>
max(A a, B b) {
  using C = std::common_type_t<A, B>;
  return C(a) < C(b) ? C(b) : C(a);
}

inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
inline float __expf(float x) { return expf(x); }
inline float __exp10f(float x) { return powf(10.0f, x); }
inline float __logf(float x) { return logf(x); }
inline float __log2f(float x) { return log2f(x); }
inline float __log10f(float x) { return log10f(x); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __tanf(float x) { return tanf(x); }
inline float __powf(float x, float y) { return powf(x, y); }
inline float __fdividef(float x, float y) { return x / y; }
inline float __saturatef(float x) { return x != x ? 0.0f : fminf(fmaxf(x, 0.0f), 1.0f); }  // NaN -> 0
inline float __fadd_rn(float x, float y) { return x + y; }
inline float __fsub_rn(float x, float y) { return x - y; }
inline float __fmul_rn(float x, float y) { return x * y; }
inline float __fdiv_rn(float x, float y) { return x / y; }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __fsqrt_rn(float x) { return sqrtf(x); }
inline float __fmaf_rn(float x, float y, float z) { return fmaf(x, y, z); }
inline double __dadd_rn(double x, double y) { return x + y; }
inline double __dmul_rn(double x, double y) { return x * y; }
inline double __fma_rn(double x, double y, double z) { return fma(x, y, z); }

// Float -> integer conversions with an explicit rounding mode. Out-of-range inputs are undefined in
// C++ but saturate on the GPU; the sim traps instead of invoking undefined behaviour.
namespace dcnjit_sim {
template <typename Int>
inline Int checked_float_to_int(double rounded, const char* what) {
  if (!(rounded >= double(std::numeric_limits<Int>::min()) && rounded <= double(std::numeric_limits<Int>::max())))
    trap(what);
  return Int(rounded);
}
}  // namespace dcnjit_sim

inline int __float2int_rn(float x) { return dcnjit_sim::checked_float_to_int<int>(rintf(x), "__float2int_rn: out of range"); }
inline int __float2int_rz(float x) { return dcnjit_sim::checked_float_to_int<int>(truncf(x), "__float2int_rz: out of range"); }
inline int __float2int_rd(float x) { return dcnjit_sim::checked_float_to_int<int>(floorf(x), "__float2int_rd: out of range"); }
inline int __float2int_ru(float x) { return dcnjit_sim::checked_float_to_int<int>(ceilf(x), "__float2int_ru: out of range"); }
inline unsigned __float2uint_rn(float x) {
  return dcnjit_sim::checked_float_to_int<unsigned>(rintf(x), "__float2uint_rn: out of range");
}
inline float __int2float_rn(int x) { return float(x); }
inline float __uint2float_rn(unsigned x) { return float(x); }

inline int __float_as_int(float x) { return dcnjit_sim::bit_copy<int>(x); }
inline unsigned __float_as_uint(float x) { return dcnjit_sim::bit_copy<unsigned>(x); }
inline float __int_as_float(int x) { return dcnjit_sim::bit_copy<float>(x); }
inline float __uint_as_float(unsigned x) { return dcnjit_sim::bit_copy<float>(x); }
inline long long __double_as_longlong(double x) { return dcnjit_sim::bit_copy<long long>(x); }
inline double __longlong_as_double(long long x) { return dcnjit_sim::bit_copy<double>(x); }

// Bit manipulation.
inline int __popc(unsigned x) { return std::popcount(x); }
inline int __popcll(unsigned long long x) { return std::popcount(x); }
inline int __clz(int x) { return std::countl_zero(unsigned(x)); }
inline int __clzll(long long x) { return std::countl_zero((unsigned long long)x); }
inline int __ffs(int x) { return x == 0 ? 0 : std::countr_zero(unsigned(x)) + 1; }
inline int __ffsll(long long x) { return x == 0 ? 0 : std::countr_zero((unsigned long long)x) + 1; }
inline unsigned __brev(unsigned x) {
  unsigned r = 0;
  for (int i = 0; i < 32; ++i) r |= ((x >> i) & 1u) << (31 - i);
  return r;
}
inline unsigned __umulhi(unsigned a, unsigned b) { return unsigned((uint64_t(a) * b) >> 32); }
inline int __mulhi(int a, int b) { return int((int64_t(a) * b) >> 32); }
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
  return (unsigned long long)(((unsigned __int128)a * b) >> 64);
}

// Cached / streaming loads and stores: plain memory accesses on the host.
template <typename T> inline T __ldg(const T* p) { return *p; }
template <typename T> inline T __ldcg(const T* p) { return *p; }
template <typename T> inline T __ldca(const T* p) { return *p; }
template <typename T> inline T __ldcs(const T* p) { return *p; }
template <typename T> inline T __ldlu(const T* p) { return *p; }
template <typename T> inline T __ldcv(const T* p) { return *p; }
template <typename T> inline void __stcg(T* p, T v) { *p = v; }
template <typename T> inline void __stcs(T* p, T v) { *p = v; }
template <typename T> inline void __stwb(T* p, T v) { *p = v; }
template <typename T> inline void __stwt(T* p, T v) { *p = v; }

inline long long clock64() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
inline void __nanosleep(unsigned) {}
