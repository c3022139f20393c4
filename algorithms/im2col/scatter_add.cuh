// Atomic scatter into an accumulator in the compute type (f32, or f64), the one write pattern of col2im.
// Two strategies (the im2col algorithm's `atomic` knob), chosen at compile time:
//
//   kAtomicPlain  every thread issues its own atomicAdd.
//   kAtomicWarp   lanes of equal rank in their split (tap_geometry.cuh: lanes kSplit apart, i.e. the
//                 same channel of adjacent output pixels of one tap) where their sample points fall
//                 into the same cell (offsets that converge, v1's clamped border rows, strongly
//                 downscaling offsets) target the same addresses. Such lanes that are adjacent among
//                 their rank first sum their values with a segmented shuffle reduction and only the
//                 first lane of each run issues the atomic. Cost: a fixed log2(32 / kSplit) shuffles,
//                 2 more and 1 ballot per call, whatever the address pattern; never more atomics than
//                 plain.
//   kAtomicGather the deterministic col2im (deform_col2im_gather.cuh): no scatter at all.
//
// All 32 lanes of the warp must call scatter_add together (the callers' loops are block-uniform);
// a lane with nothing to add passes valid == false.
#pragma once

#include "templates/portability.cuh"

namespace dcn {

enum AtomicStrategy : int { kAtomicPlain = 0, kAtomicWarp = 1, kAtomicGather = 2 };

// Bits 0, stride, 2*stride, ... of a 32-bit word: the lanes of one rank of a split.
DCN_DEVICE constexpr unsigned every_nth_lane(int stride) {
  unsigned bits = 0;
  for (int lane = 0; lane < kWarpSize; lane += stride) bits |= 1u << lane;
  return bits;
}

template <int kAtomic, int kSplit, typename Index, typename Value>
DCN_DEVICE void scatter_add(Value* __restrict__ base, Index at, Value value, bool valid) {
  if (kAtomic != kAtomicWarp) {
    if (valid) atomicAdd(base + at, value);
    return;
  }
  // kAtomicWarp. Lanes without a contribution get a sentinel address that no valid lane has. A lane's
  // neighbours are the lanes kSplit away (its rank's previous and next item).
  const int lane = int(threadIdx.x) & (kWarpSize - 1);
  const Index address = valid ? at : Index(-1);
  Value sum = valid ? value : Value(0);
  const Index next_address = __shfl_down_sync(kFullWarpMask, address, kSplit);
  const Index prev_address = __shfl_up_sync(kFullWarpMask, address, kSplit);
  // A run of equal addresses ends at a lane whose successor differs (or at the last lane of its rank).
  const bool run_end = lane + kSplit >= kWarpSize || next_address != address;
  const bool run_start = lane < kSplit || prev_address != address;
  const unsigned ends = __ballot_sync(kFullWarpMask, run_end);
  // The run's last lane: the first end of this lane's rank at or after it (the rank's last lane always is).
  const int last_of_run = lane + lowest_set_bit((ends >> lane) & every_nth_lane(kSplit));
  // Segmented suffix sum over the rank: after the loop, lane holds the sum of its rank's lanes in
  // [lane, last_of_run].
#pragma unroll
  for (int d = kSplit; d < kWarpSize; d *= 2) {
    const Value other = __shfl_down_sync(kFullWarpMask, sum, d);
    if (lane + d <= last_of_run) sum += other;
  }
  if (valid && run_start) atomicAdd(base + at, sum);
}

}  // namespace dcn
