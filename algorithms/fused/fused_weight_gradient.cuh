// The fused weight gradient: grad_W[o, c, t] = sum over pixels n of grad_y[n, o] * m * bilinear(x[n, c],
// point(n, t)), one implicit GEMM per conv group with the sampled operand of the forward, transposed.
//
// CTA (reduction-index tile, output-channel tile, conv group x split) computes a BM x BN tile of
// grad_W[group] (M = output channels, N = k' = (c, t) pairs), reducing over its share of the pixels in
// BK steps: A = grad_y (BM x BK), B = the sampled columns (BK pixels x BN k'), both fetched into registers
// one step ahead and double-buffered in shared memory.
//
// Split-K over pixels: `split` CTAs share one output tile, each reducing `split_pixels` pixels, and
// write f32 partials (in the tile's reduction order) that fused_reduce.cuh sums in split order and puts
// in the weights' order: the result does not depend on timing (no atomics). With split = 1 the CTA
// writes grad_weight directly, rounded once.
#pragma once

#include "algorithms/fused/tile_loaders.cuh"
#include "algorithms/fused/tile_mma.cuh"

namespace dcn {

template <class Spec>
DCN_DEVICE void fused_weight_gradient(const FusedParams& p) {
  using Index = typename Spec::index;
  using T = typename Spec::storage;
  using Operand = typename Spec::operand;
  constexpr int BM = Spec::BM, BN = Spec::BN, BK = Spec::BK;
  extern __shared__ __align__(128) unsigned char shared_bytes[];
  Operand* a_pair = reinterpret_cast<Operand*>(shared_bytes);  // [2][BM][lda]
  Operand* b_pair = a_pair + 2 * Spec::a_tile;                 // [2][BK][ldb]
  float* c_tile = reinterpret_cast<float*>(shared_bytes);      // [BM][ldc], after the main loop

  const Index pixels = Index(p.N) * Index(p.Ho) * Index(p.Wo);
  const int k0 = int(blockIdx.x) * BN;
  const int m0 = int(blockIdx.y) * BM;
  const Index groups = Index(p.C / Spec::conv_group_channels);
  const Index group = Index(blockIdx.z) % groups, part = Index(blockIdx.z) / groups;
  const Index group_outputs = Index(p.Co) / groups;
  const int rows_valid = int(group_outputs - m0 < BM ? group_outputs - m0 : BM);
  const Index o0 = group * group_outputs + Index(m0);
  const Index begin = part * Index(p.split_pixels);
  const Index end = begin + Index(p.split_pixels) < pixels ? begin + Index(p.split_pixels) : pixels;
  const int steps = begin < end ? int((end - begin + Index(BK) - 1) / Index(BK)) : 0;

  GradYTile<Spec, BM, BK> grad_y;
  SampledTile<Spec, BN, BK> columns;  // rows k', columns pixels: stored transposed as B[pixel][k']
  TileMma<Spec> mma;
  if (steps > 0) {
    grad_y.fetch(p, o0, rows_valid, begin, end);
    columns.fetch(p, group, k0, begin, end);
    grad_y.store(a_pair, Spec::lda, 1);
    columns.store(b_pair, 1, Spec::ldb);
  }
  for (int step = 0; step < steps; ++step) {
    __syncthreads();
    const bool more = step + 1 < steps;
    const Index next = begin + Index(step + 1) * Index(BK);
    if (more) {
      grad_y.fetch(p, o0, rows_valid, next, end);
      columns.fetch(p, group, k0, next, end);
    }
    mma.accumulate(a_pair + (step % 2) * Spec::a_tile, b_pair + (step % 2) * Spec::b_tile);
    if (more) {
      grad_y.store(a_pair + ((step + 1) % 2) * Spec::a_tile, Spec::lda, 1);
      columns.store(b_pair + ((step + 1) % 2) * Spec::b_tile, 1, Spec::ldb);
    }
  }
  __syncthreads();
  mma.store(c_tile);
  __syncthreads();

  // Element (o, k') of the tile, along k' (a warp's lanes take adjacent k'). With split = 1 it goes
  // straight to grad_W[o, c, t], the weights' own order: in tap-major order adjacent k' are `taps`
  // elements apart there. With split > 1 the f32 partials keep the tile's order, [split][Co][k'], so a
  // warp stores 32 adjacent words, and fused_weight_reduce permutes once, after the sum: stored in the
  // weights' order they took 26 sectors per request, half the kernel's L2 sectors (R50, docs/perf.md).
  constexpr int K = Spec::reduction;
  for (int e = int(threadIdx.x); e < BM * BN; e += Spec::threads) {
    const int i = e / BN, j = e % BN;
    if (i >= rows_valid || k0 + j >= K) continue;
    const float value = c_tile[i * Spec::ldc + j];
    const Index row = (o0 + Index(i)) * Index(K);
    if (p.split > 1) {
      static_cast<float*>(p.weight_partials)[part * Index(p.Co) * Index(K) + row + Index(k0 + j)] = value;
      continue;
    }
    int channel, tap;
    split_reduction_index<Spec>(k0 + j, channel, tap);
    static_cast<T*>(p.grad_weight)[row + Index(channel * Spec::taps + tap)] = store_as<T>(value);
  }
}

}  // namespace dcn
