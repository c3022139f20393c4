// Atomics of the SIMT shim (included by simt.h). Blocks run concurrently on several worker threads,
// so these are real atomic read-modify-writes (the compiler's __atomic builtins, which is what
// std::atomic_ref uses; called directly so that a counting build, whose instrumentation would turn
// std::atomic_ref's out-of-line members into TSan runtime calls, needs no runtime). Threads of one
// block never preempt each other between hooks, but they share memory with other blocks. Relaxed
// ordering, as CUDA's atomics; __threadfence() is a full fence.
//
// In a counting build each public atomic logs one atomic access at its caller's instruction
// (simt_counters.h) and is kept out of line for that.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

namespace dcnjit_sim {

template <typename T>
inline constexpr bool is_atomic_integer = std::is_same_v<T, int> || std::is_same_v<T, unsigned> ||
                                          std::is_same_v<T, unsigned long long> || std::is_same_v<T, long long>;

// Read-modify-write of a value whose bits fit a `Word` (floats, halves, bf16 pairs) by a
// compare-exchange loop; `update` maps the old value to the new one. Returns the old value.
template <typename T, typename Word, typename Update>
DCNJIT_SIM_NOT_COUNTED inline T atomic_update_bits(T* address, Update update) {
  static_assert(sizeof(T) == sizeof(Word));
  Word* word = reinterpret_cast<Word*>(address);
  Word expected = __atomic_load_n(word, __ATOMIC_RELAXED);
  for (;;) {
    T old;
    std::memcpy(&old, &expected, sizeof(T));
    const T next = update(old);
    Word desired;
    std::memcpy(&desired, &next, sizeof(T));
    if (__atomic_compare_exchange_n(word, &expected, desired, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) return old;
  }
}

template <typename T>
using same_size_word =
    std::conditional_t<sizeof(T) == 2, uint16_t, std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>>;

}  // namespace dcnjit_sim

#if defined(DCNJIT_SIM_COUNTERS)
#define DCNJIT_SIM_LOG_ATOMIC(address) \
  dcnjit_sim::log_access(DCNJIT_SIM_CALL_SITE(), address, sizeof(*(address)), dcnjit_sim::AccessKind::atomic)
#else
#define DCNJIT_SIM_LOG_ATOMIC(address) ((void)0)
#endif

// Add: integers (fetch_add), float and double (compare-exchange), f16/bf16 scalars and pairs.
template <typename T>
DCNJIT_SIM_LOGS_CALLER inline std::enable_if_t<dcnjit_sim::is_atomic_integer<T>, T> atomicAdd(T* address, T value) {
  DCNJIT_SIM_LOG_ATOMIC(address);
  return __atomic_fetch_add(address, value, __ATOMIC_RELAXED);
}

template <typename T>
DCNJIT_SIM_LOGS_CALLER inline std::enable_if_t<std::is_floating_point_v<T>, T> atomicAdd(T* address, T value) {
  DCNJIT_SIM_LOG_ATOMIC(address);
  return dcnjit_sim::atomic_update_bits<T, dcnjit_sim::same_size_word<T>>(address, [&](T old) { return old + value; });
}

DCNJIT_SIM_LOGS_CALLER inline __half atomicAdd(__half* address, __half value) {
  DCNJIT_SIM_LOG_ATOMIC(address);
  return dcnjit_sim::atomic_update_bits<__half, uint16_t>(address, [&](__half old) { return __hadd(old, value); });
}

DCNJIT_SIM_LOGS_CALLER inline __half2 atomicAdd(__half2* address, __half2 value) {
  DCNJIT_SIM_LOG_ATOMIC(address);
  return dcnjit_sim::atomic_update_bits<__half2, uint32_t>(address, [&](__half2 old) { return __hadd2(old, value); });
}

DCNJIT_SIM_LOGS_CALLER inline __nv_bfloat16 atomicAdd(__nv_bfloat16* address, __nv_bfloat16 value) {
  DCNJIT_SIM_LOG_ATOMIC(address);
  return dcnjit_sim::atomic_update_bits<__nv_bfloat16, uint16_t>(address,
                                                                 [&](__nv_bfloat16 old) { return __hadd(old, value); });
}

DCNJIT_SIM_LOGS_CALLER inline __nv_bfloat162 atomicAdd(__nv_bfloat162* address, __nv_bfloat162 value) {
  DCNJIT_SIM_LOG_ATOMIC(address);
  return dcnjit_sim::atomic_update_bits<__nv_bfloat162, uint32_t>(
      address, [&](__nv_bfloat162 old) { return __hadd2(old, value); });
}

template <typename T>
DCNJIT_SIM_LOGS_CALLER inline std::enable_if_t<dcnjit_sim::is_atomic_integer<T>, T> atomicSub(T* address, T value) {
  DCNJIT_SIM_LOG_ATOMIC(address);
  return __atomic_fetch_sub(address, value, __ATOMIC_RELAXED);
}

template <typename T>
DCNJIT_SIM_LOGS_CALLER inline std::enable_if_t<dcnjit_sim::is_atomic_integer<T> || std::is_same_v<T, float>, T>
atomicExch(T* address, T value) {
  DCNJIT_SIM_LOG_ATOMIC(address);
  return dcnjit_sim::atomic_update_bits<T, dcnjit_sim::same_size_word<T>>(address, [&](T) { return value; });
}

template <typename T>
DCNJIT_SIM_LOGS_CALLER inline std::enable_if_t<dcnjit_sim::is_atomic_integer<T> || std::is_same_v<T, unsigned short>, T>
atomicCAS(T* address, T compare, T value) {
  DCNJIT_SIM_LOG_ATOMIC(address);
  __atomic_compare_exchange_n(address, &compare, value, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  return compare;  // holds the old value whether or not the exchange happened
}

template <typename T>
DCNJIT_SIM_LOGS_CALLER inline std::enable_if_t<dcnjit_sim::is_atomic_integer<T>, T> atomicMax(T* address, T value) {
  DCNJIT_SIM_LOG_ATOMIC(address);
  return dcnjit_sim::atomic_update_bits<T, dcnjit_sim::same_size_word<T>>(
      address, [&](T old) { return old < value ? value : old; });
}

template <typename T>
DCNJIT_SIM_LOGS_CALLER inline std::enable_if_t<dcnjit_sim::is_atomic_integer<T>, T> atomicMin(T* address, T value) {
  DCNJIT_SIM_LOG_ATOMIC(address);
  return dcnjit_sim::atomic_update_bits<T, dcnjit_sim::same_size_word<T>>(
      address, [&](T old) { return value < old ? value : old; });
}

template <typename T>
DCNJIT_SIM_LOGS_CALLER inline std::enable_if_t<dcnjit_sim::is_atomic_integer<T>, T> atomicAnd(T* address, T value) {
  DCNJIT_SIM_LOG_ATOMIC(address);
  return __atomic_fetch_and(address, value, __ATOMIC_RELAXED);
}

template <typename T>
DCNJIT_SIM_LOGS_CALLER inline std::enable_if_t<dcnjit_sim::is_atomic_integer<T>, T> atomicOr(T* address, T value) {
  DCNJIT_SIM_LOG_ATOMIC(address);
  return __atomic_fetch_or(address, value, __ATOMIC_RELAXED);
}

template <typename T>
DCNJIT_SIM_LOGS_CALLER inline std::enable_if_t<dcnjit_sim::is_atomic_integer<T>, T> atomicXor(T* address, T value) {
  DCNJIT_SIM_LOG_ATOMIC(address);
  return __atomic_fetch_xor(address, value, __ATOMIC_RELAXED);
}

// ((old >= limit) ? 0 : old + 1), as CUDA defines it.
DCNJIT_SIM_LOGS_CALLER inline unsigned atomicInc(unsigned* address, unsigned limit) {
  DCNJIT_SIM_LOG_ATOMIC(address);
  return dcnjit_sim::atomic_update_bits<unsigned, unsigned>(address,
                                                            [&](unsigned old) { return old >= limit ? 0u : old + 1u; });
}

// (((old == 0) || (old > limit)) ? limit : old - 1), as CUDA defines it.
DCNJIT_SIM_LOGS_CALLER inline unsigned atomicDec(unsigned* address, unsigned limit) {
  DCNJIT_SIM_LOG_ATOMIC(address);
  return dcnjit_sim::atomic_update_bits<unsigned, unsigned>(
      address, [&](unsigned old) { return (old == 0u || old > limit) ? limit : old - 1u; });
}

// Scope variants: on the host every scope is the whole machine.
#define atomicAdd_block atomicAdd
#define atomicAdd_system atomicAdd

DCNJIT_SIM_NOT_COUNTED inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
DCNJIT_SIM_NOT_COUNTED inline void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
DCNJIT_SIM_NOT_COUNTED inline void __threadfence_system() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
