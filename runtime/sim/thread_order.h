// The order in which the sim runs the threads of a block between two synchronization points.
// On the GPU that order is unspecified; a kernel whose result depends on it has a race (usually a
// missing __syncthreads). Tests run kernels under several orders to expose such races.
//
// Selected per device (SimKernelDevice::set_thread_order) or by the environment variable
// DCNJIT_SIM_ORDER: "in_order" (default), "reversed", "random" (seed 1) or "random:<seed>".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dcnjit::sim {

struct ThreadOrder {
  enum class Kind { in_order, reversed, random };
  Kind kind = Kind::in_order;
  uint64_t seed = 1;  // random only

  static ThreadOrder in_order() { return {Kind::in_order, 1}; }
  static ThreadOrder reversed() { return {Kind::reversed, 1}; }
  static ThreadOrder random(uint64_t seed) { return {Kind::random, seed}; }

  // "in_order" | "reversed" | "random" | "random:<seed>"; anything else throws
  // Error(InvalidArgument) naming `origin` (e.g. "DCNJIT_SIM_ORDER").
  static ThreadOrder parse(const std::string& text, const std::string& origin = "thread order");
  // DCNJIT_SIM_ORDER when set, else in_order.
  static ThreadOrder from_environment();
  std::string to_string() const;

  // Puts the thread indices `ids` (ascending) into this order. `block` and `phase` (the number of
  // synchronization points passed so far) vary the random permutation deterministically, so a run
  // is reproducible whatever worker thread executes which block.
  void arrange(std::vector<unsigned>& ids, uint64_t block, uint64_t phase) const;

  bool operator==(const ThreadOrder&) const = default;
};

}  // namespace dcnjit::sim
