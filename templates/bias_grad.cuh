// grad_bias[o] = sum over images n and pixels p of grad_y[n, o, p], accumulated in the compute type.
// One block per output channel (grid-stride over channels); the block's threads stride over the pixels
// of each image and combine their sums with a shared-memory tree. A fixed reduction order, so the result
// does not depend on the grid size. Shared by every algorithm (algorithms/shared_kernels.h).
#pragma once

#include "templates/dtype.cuh"
#include "templates/shared_params.cuh"
#include "templates/tensor_layout.cuh"

namespace dcn {

template <int DTypeId, int LayoutId, typename IndexT, int BlockThreads>
struct ReductionSpec {
  using storage = typename StorageOf<DTypeId>::type;
  using compute = typename ComputeOf<DTypeId>::type;
  using layout = Layout<LayoutId>;
  using index = IndexT;
  static constexpr int block_threads = BlockThreads;
};

template <class Spec>
DCN_DEVICE void bias_grad(const BiasGradParams& p) {
  using Index = typename Spec::index;
  using T = typename Spec::storage;
  using Compute = typename Spec::compute;
  using L = typename Spec::layout;
  static_assert((Spec::block_threads & (Spec::block_threads - 1)) == 0, "block_threads must be a power of two");
  __shared__ Compute partial[Spec::block_threads];
  const T* __restrict__ grad_y = static_cast<const T*>(p.grad_y);
  T* __restrict__ grad_bias = static_cast<T*>(p.grad_bias);
  const Index pixels = Index(p.pixels);
  const Index channel_stride = L::template channel_stride<Index>(p.grad_y_strides.channel);
  const Index pixel_stride = L::template pixel_stride<Index>(p.grad_y_strides.pixel);

  for (Index o = Index(blockIdx.x); o < Index(p.Co); o += Index(gridDim.x)) {
    Compute sum = Compute(0);
    for (Index n = 0; n < Index(p.N); ++n) {
      const T* __restrict__ plane = grad_y + n * Index(p.grad_y_strides.image) + o * channel_stride;
      for (Index pixel = Index(threadIdx.x); pixel < pixels; pixel += Index(Spec::block_threads))
        sum += widen(plane[pixel * pixel_stride]);
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
