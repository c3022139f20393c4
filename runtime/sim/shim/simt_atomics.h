// Atomics of the SIMT shim (included by simt.h). Blocks run concurrently on several worker threads,
// so these are real atomic read-modify-writes (std::atomic_ref). Threads of one block never preempt
// each other between hooks, but they share memory with other blocks. Relaxed ordering, as CUDA's
// atomics; __threadfence() is a full fence.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace dcnjit_sim {

template <typename T>
inline std::atomic_ref<T> atomic_at(T* address) {
  return std::atomic_ref<T>(*address);
}

// Read-modify-write of a value stored in a `Word` (a 16- or 32-bit pattern of halves/bf16s) by a
// compare-exchange loop; `update` maps the old value to the new one. Returns the old value.
template <typename T, typename Word, typename Update>
inline T atomic_update_bits(T* address, Update update) {
  static_assert(sizeof(T) == sizeof(Word));
  std::atomic_ref<Word> word(*reinterpret_cast<Word*>(address));
  Word expected = word.load(std::memory_order_relaxed);
  for (;;) {
    T old;
    std::memcpy(&old, &expected, sizeof(T));
    const T next = update(old);
    Word desired;
    std::memcpy(&desired, &next, sizeof(T));
    if (word.compare_exchange_weak(expected, desired, std::memory_order_relaxed)) return old;
  }
}

template <typename T>
inline constexpr bool is_atomic_integer =
    std::is_same_v<T, int> || std::is_same_v<T, unsigned> || std::is_same_v<T, unsigned long long> ||
    std::is_same_v<T, long long>;

}  // namespace dcnjit_sim

// Add: integers, float, double (fetch_add), f16/bf16 scalars and pairs (compare-exchange).
template <typename T>
inline std::enable_if_t<dcnjit_sim::is_atomic_integer<T> || std::is_floating_point_v<T>, T> atomicAdd(T* address,
                                                                                                    T value) {
  return dcnjit_sim::atomic_at(address).fetch_add(value, std::memory_order_relaxed);
}

inline __half atomicAdd(__half* address, __half value) {
  return dcnjit_sim::atomic_update_bits<__half, uint16_t>(address, [&](__half old) { return __hadd(old, value); });
}

inline __half2 atomicAdd(__half2* address, __half2 value) {
  return dcnjit_sim::atomic_update_bits<__half2, uint32_t>(address,
                                                           [&](__half2 old) { return __hadd2(old, value); });
}

inline __nv_bfloat16 atomicAdd(__nv_bfloat16* address, __nv_bfloat16 value) {
  return dcnjit_sim::atomic_update_bits<__nv_bfloat16, uint16_t>(
      address, [&](__nv_bfloat16 old) { return __hadd(old, value); });
}

inline __nv_bfloat162 atomicAdd(__nv_bfloat162* address, __nv_bfloat162 value) {
  return dcnjit_sim::atomic_update_bits<__nv_bfloat162, uint32_t>(
      address, [&](__nv_bfloat162 old) { return __hadd2(old, value); });
}

template <typename T>
inline std::enable_if_t<dcnjit_sim::is_atomic_integer<T>, T> atomicSub(T* address, T value) {
  return dcnjit_sim::atomic_at(address).fetch_sub(value, std::memory_order_relaxed);
}

template <typename T>
inline std::enable_if_t<dcnjit_sim::is_atomic_integer<T> || std::is_same_v<T, float>, T> atomicExch(T* address,
                                                                                                 T value) {
  return dcnjit_sim::atomic_at(address).exchange(value, std::memory_order_relaxed);
}

template <typename T>
inline std::enable_if_t<dcnjit_sim::is_atomic_integer<T> || std::is_same_v<T, unsigned short>, T> atomicCAS(
    T* address, T compare, T value) {
  dcnjit_sim::atomic_at(address).compare_exchange_strong(compare, value, std::memory_order_relaxed);
  return compare;  // holds the old value whether or not the exchange happened
}

template <typename T>
inline std::enable_if_t<dcnjit_sim::is_atomic_integer<T>, T> atomicMax(T* address, T value) {
  auto ref = dcnjit_sim::atomic_at(address);
  T old = ref.load(std::memory_order_relaxed);
  while (old < value && !ref.compare_exchange_weak(old, value, std::memory_order_relaxed)) {
  }
  return old;
}

template <typename T>
inline std::enable_if_t<dcnjit_sim::is_atomic_integer<T>, T> atomicMin(T* address, T value) {
  auto ref = dcnjit_sim::atomic_at(address);
  T old = ref.load(std::memory_order_relaxed);
  while (value < old && !ref.compare_exchange_weak(old, value, std::memory_order_relaxed)) {
  }
  return old;
}

template <typename T>
inline std::enable_if_t<dcnjit_sim::is_atomic_integer<T>, T> atomicAnd(T* address, T value) {
  return dcnjit_sim::atomic_at(address).fetch_and(value, std::memory_order_relaxed);
}

template <typename T>
inline std::enable_if_t<dcnjit_sim::is_atomic_integer<T>, T> atomicOr(T* address, T value) {
  return dcnjit_sim::atomic_at(address).fetch_or(value, std::memory_order_relaxed);
}

template <typename T>
inline std::enable_if_t<dcnjit_sim::is_atomic_integer<T>, T> atomicXor(T* address, T value) {
  return dcnjit_sim::atomic_at(address).fetch_xor(value, std::memory_order_relaxed);
}

// ((old >= limit) ? 0 : old + 1), as CUDA defines it.
inline unsigned atomicInc(unsigned* address, unsigned limit) {
  return dcnjit_sim::atomic_update_bits<unsigned, unsigned>(
      address, [&](unsigned old) { return old >= limit ? 0u : old + 1u; });
}

// (((old == 0) || (old > limit)) ? limit : old - 1), as CUDA defines it.
inline unsigned atomicDec(unsigned* address, unsigned limit) {
  return dcnjit_sim::atomic_update_bits<unsigned, unsigned>(
      address, [&](unsigned old) { return (old == 0u || old > limit) ? limit : old - 1u; });
}

// Scope variants: on the host every scope is the whole machine.
#define atomicAdd_block atomicAdd
#define atomicAdd_system atomicAdd

inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __threadfence_block() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __threadfence_system() { std::atomic_thread_fence(std::memory_order_seq_cst); }
