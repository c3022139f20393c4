// Atomic scatter into an accumulator in the compute type (f32, or f64), the one write pattern of col2im.
// Two strategies (the im2col algorithm's `atomic` knob), chosen at compile time:
//
//   kAtomicPlain  every thread issues its own atomicAdd.
//   kAtomicWarp   lanes are adjacent output pixels of one (channel, tap); where their sample points
//                 fall into the same cell (offsets that converge, v1's clamped border rows, strongly
//                 downscaling offsets) they target the same addresses. Lanes with equal addresses
//                 that are adjacent in the warp first sum their values with a segmented shuffle
//                 reduction and only the first lane of each run issues the atomic. Cost: a fixed
//                 7 shuffles + 1 ballot per call,
//                 whatever the address pattern; never more atomics than plain.
//
// All 32 lanes of the warp must call scatter_add together (the callers' loops are block-uniform);
// a lane with nothing to add passes valid == false.
#pragma once

#include "templates/portability.cuh"

namespace dcn {

enum AtomicStrategy : int { kAtomicPlain = 0, kAtomicWarp = 1 };

template <int kAtomic, typename Index, typename Value>
DCN_DEVICE void scatter_add(Value* __restrict__ base, Index at, Value value, bool valid) {
  if (kAtomic == kAtomicPlain) {
    if (valid) atomicAdd(base + at, value);
    return;
  }
  // kAtomicWarp. Lanes without a contribution get a sentinel address that no valid lane has.
  const int lane = int(threadIdx.x) & (kWarpSize - 1);
  const Index address = valid ? at : Index(-1);
  Value sum = valid ? value : Value(0);
  const Index next_address = __shfl_down_sync(kFullWarpMask, address, 1);
  const Index prev_address = __shfl_up_sync(kFullWarpMask, address, 1);
  // A run of equal addresses ends at a lane whose successor differs (or at lane 31).
  const bool run_end = lane == kWarpSize - 1 || next_address != address;
  const bool run_start = lane == 0 || prev_address != address;
  const unsigned ends = __ballot_sync(kFullWarpMask, run_end);
  const int last_of_run = lane + lowest_set_bit(ends >> lane);  // ends has bit 31 set: never empty
  // Segmented suffix sum: after the loop, lane holds the sum of lanes [lane, last_of_run].
#pragma unroll
  for (int d = 1; d < kWarpSize; d *= 2) {
    const Value other = __shfl_down_sync(kFullWarpMask, sum, d);
    if (lane + d <= last_of_run) sum += other;
  }
  if (valid && run_start) atomicAdd(base + at, sum);
}

}  // namespace dcn
