// The element-wise kernel around the f32 accumulators of f16/bf16 problems, shared by every algorithm
// (algorithms/shared_kernels.h):
//
//   cast    dst[i] = storage(src_f32[i]), round to nearest even: flushes an accumulator (grad_x,
//           grad_weight) into the caller's f16/bf16 tensor.
//
// Grid-stride over i with ItemsPerThread elements per thread, BlockThreads apart (coalesced).
#pragma once

#include "templates/dtype.cuh"
#include "templates/shared_params.cuh"

namespace dcn {

template <int DTypeId, typename IndexT, int BlockThreads, int ItemsPerThread>
struct ElementwiseSpec {
  using storage = typename StorageOf<DTypeId>::type;
  using index = IndexT;
  static constexpr int block_threads = BlockThreads;
  static constexpr int items = ItemsPerThread;
};

template <class Spec, typename Body>
DCN_DEVICE void for_each_element(typename Spec::index count, Body body) {
  using Index = typename Spec::index;
  constexpr Index kPerBlock = Index(Spec::block_threads) * Index(Spec::items);
  for (Index base = Index(blockIdx.x) * kPerBlock; base < count; base += Index(gridDim.x) * kPerBlock) {
#pragma unroll
    for (int e = 0; e < Spec::items; ++e) {
      const Index i = base + Index(e * Spec::block_threads) + Index(threadIdx.x);
      if (i < count) body(i);
    }
  }
}

template <class Spec>
DCN_DEVICE void cast_from_f32(const ElementwiseParams& p) {
  using Index = typename Spec::index;
  using T = typename Spec::storage;
  const float* __restrict__ src = static_cast<const float*>(p.src);
  T* __restrict__ dst = static_cast<T*>(p.dst);
  for_each_element<Spec>(Index(p.count), [&](Index i) { dst[i] = store_as<T>(src[i]); });
}

}  // namespace dcn
