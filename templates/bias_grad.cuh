// grad_bias[o] = sum over images n and pixels p of grad_y[n, o, p], accumulated in f32.
// One block per output channel (grid-stride over channels); the block's threads stride over the
// pixels of each image (coalesced, no index division) and combine their sums with a shared-memory tree. A fixed reduction
// order, so the result does not depend on the grid size.
#pragma once

#include "templates/dtype.cuh"
#include "templates/params.cuh"

namespace dcn {

template <int DTypeId, typename IndexT, int BlockThreads>
struct ReductionSpec {
  using storage = typename StorageOf<DTypeId>::type;
  using index = IndexT;
  static constexpr int block_threads = BlockThreads;
};

template <class Spec>
DCN_DEVICE void bias_grad(const Params& p) {
  using Index = typename Spec::index;
  using T = typename Spec::storage;
  static_assert((Spec::block_threads & (Spec::block_threads - 1)) == 0, "block_threads must be a power of two");
  __shared__ float partial[Spec::block_threads];
  const T* __restrict__ grad_y = static_cast<const T*>(p.grad_y);
  T* __restrict__ grad_bias = static_cast<T*>(p.grad_bias);
  const Index pixels = Index(p.pixels);

  for (Index o = Index(blockIdx.x); o < Index(p.Co); o += Index(gridDim.x)) {
    float sum = 0.0f;
    for (Index n = 0; n < Index(p.N); ++n) {
      const T* __restrict__ plane = grad_y + (n * Index(p.Co) + o) * pixels;
      for (Index pixel = Index(threadIdx.x); pixel < pixels; pixel += Index(Spec::block_threads))
        sum += to_float(plane[pixel]);
    }
    partial[threadIdx.x] = sum;
    __syncthreads();
    for (int half = Spec::block_threads / 2; half > 0; half /= 2) {
      if (int(threadIdx.x) < half) partial[threadIdx.x] += partial[threadIdx.x + half];
      __syncthreads();
    }
    if (threadIdx.x == 0) grad_bias[o] = store_as<T>(partial[0]);
    __syncthreads();  // partial[0] is read before the next channel overwrites it
  }
}

}  // namespace dcn
