// Warp collectives of the SIMT shim (included by simt.h): shuffles, votes, match, reduce and
// __syncwarp. Each lane posts a WarpRequest to the engine, which parks the lane's fiber until every
// lane named in the mask has posted, checks that they agree (same operation and mask; a mismatch or
// a lane that never arrives is reported as an error, not a hang), and returns each lane's result.
// Lanes are linear thread indices % 32, as on the GPU.
#pragma once

#include <cstdint>
#include <cstring>
#include <source_location>
#include <type_traits>

namespace dcnjit_sim {

DCNJIT_SIM_NOT_COUNTED inline WarpResult warp_collective(WarpOp op, unsigned mask, int lane_argument, int width,
                                                         uint64_t value, unsigned value_bytes,
                                                         const std::source_location& where) {
  ThreadContext* self = current_thread;
  const WarpRequest request{op, mask, lane_argument, width, value, value_bytes, where.file_name(), where.line(),
                            nullptr, nullptr, nullptr};
  const WarpResult result = self->hooks->warp_collective(self, &request);
  enter(self);
  return result;
}

template <typename T>
inline T shuffle(WarpOp op, unsigned mask, T value, int lane_argument, int width, const std::source_location& where) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= sizeof(uint64_t),
                "the sim shuffles values of at most 8 bytes (as CUDA's __shfl*_sync overloads)");
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(T));
  const WarpResult result = warp_collective(op, mask, lane_argument, width, bits, sizeof(T), where);
  T out;
  std::memcpy(&out, &result.value, sizeof(T));
  return out;
}

template <typename T>
inline uint64_t to_bits(T value) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= sizeof(uint64_t));
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(T));
  return bits;
}

}  // namespace dcnjit_sim

template <typename T>
inline T __shfl_sync(unsigned mask, T var, int src_lane, int width = warpSize,
                     std::source_location where = std::source_location::current()) {
  return dcnjit_sim::shuffle(dcnjit_sim::WarpOp::shfl_idx, mask, var, src_lane, width, where);
}

template <typename T>
inline T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize,
                        std::source_location where = std::source_location::current()) {
  return dcnjit_sim::shuffle(dcnjit_sim::WarpOp::shfl_up, mask, var, int(delta), width, where);
}

template <typename T>
inline T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize,
                          std::source_location where = std::source_location::current()) {
  return dcnjit_sim::shuffle(dcnjit_sim::WarpOp::shfl_down, mask, var, int(delta), width, where);
}

template <typename T>
inline T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = warpSize,
                         std::source_location where = std::source_location::current()) {
  return dcnjit_sim::shuffle(dcnjit_sim::WarpOp::shfl_xor, mask, var, lane_mask, width, where);
}

inline unsigned __ballot_sync(unsigned mask, int predicate,
                              std::source_location where = std::source_location::current()) {
  return unsigned(dcnjit_sim::warp_collective(dcnjit_sim::WarpOp::ballot, mask, 0, 32, predicate != 0, 4, where).value);
}

// The engine answers a ballot with the bits of the participating lanes whose predicate held.
inline int __any_sync(unsigned mask, int predicate, std::source_location where = std::source_location::current()) {
  return __ballot_sync(mask, predicate, where) != 0;
}

inline int __all_sync(unsigned mask, int predicate, std::source_location where = std::source_location::current()) {
  const unsigned ballot = __ballot_sync(mask, predicate, where);
  const dcnjit_sim::ThreadContext* self = dcnjit_sim::current_thread;
  return ballot == (mask & self->warp_lanes);
}

inline void __syncwarp(unsigned mask = 0xffffffffu, std::source_location where = std::source_location::current()) {
  dcnjit_sim::warp_collective(dcnjit_sim::WarpOp::sync, mask, 0, 32, 0, 0, where);
}

// The lanes of the warp that exist and have not exited. (On the GPU: the converged lanes; in the sim
// every live lane counts as converged.)
inline unsigned __activemask() { return dcnjit_sim::current_thread->warp_lanes; }

template <typename T>
inline unsigned __match_any_sync(unsigned mask, T value, std::source_location where = std::source_location::current()) {
  return unsigned(dcnjit_sim::warp_collective(dcnjit_sim::WarpOp::match_any, mask, 0, 32,
                                              dcnjit_sim::to_bits(value), sizeof(T), where)
                      .value);
}

template <typename T>
inline unsigned __match_all_sync(unsigned mask, T value, int* predicate,
                                 std::source_location where = std::source_location::current()) {
  const dcnjit_sim::WarpResult result = dcnjit_sim::warp_collective(dcnjit_sim::WarpOp::match_all, mask, 0, 32,
                                                                    dcnjit_sim::to_bits(value), sizeof(T), where);
  *predicate = result.predicate;
  return unsigned(result.value);
}

#define DCNJIT_SIM_WARP_REDUCE(name, type, op)                                                              \
  inline type name(unsigned mask, type value, std::source_location where = std::source_location::current()) { \
    return type(dcnjit_sim::warp_collective(dcnjit_sim::WarpOp::op, mask, 0, 32, dcnjit_sim::to_bits(value),  \
                                            sizeof(type), where)                                              \
                    .value);                                                                                  \
  }
DCNJIT_SIM_WARP_REDUCE(__reduce_add_sync, unsigned, reduce_add)
DCNJIT_SIM_WARP_REDUCE(__reduce_add_sync, int, reduce_add)
DCNJIT_SIM_WARP_REDUCE(__reduce_min_sync, unsigned, reduce_min_unsigned)
DCNJIT_SIM_WARP_REDUCE(__reduce_min_sync, int, reduce_min_signed)
DCNJIT_SIM_WARP_REDUCE(__reduce_max_sync, unsigned, reduce_max_unsigned)
DCNJIT_SIM_WARP_REDUCE(__reduce_max_sync, int, reduce_max_signed)
DCNJIT_SIM_WARP_REDUCE(__reduce_and_sync, unsigned, reduce_and)
DCNJIT_SIM_WARP_REDUCE(__reduce_or_sync, unsigned, reduce_or)
DCNJIT_SIM_WARP_REDUCE(__reduce_xor_sync, unsigned, reduce_xor)
#undef DCNJIT_SIM_WARP_REDUCE
