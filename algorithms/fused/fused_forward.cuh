// The fused forward: y[n, o, p] = sum over (c, t) of W[o, c, t] * m * bilinear(x[n, c], point(p, t))
// + bias[o], as one implicit GEMM per conv group, with no column buffer in memory.
//
// CTA (pixel tile, output-channel tile, conv group) computes a BM x BN tile of y: M = output channels
// of the group, N = pixels (numbered across images), K = C/groups * taps in BK steps. Per step:
//   A  the permuted weights, BM x BK, copied with cp.async through a `stages`-deep ring: step s+stages-1
//      is in flight while step s is multiplied;
//   B  BK x BN sampled from x (tile_loaders.cuh: SampledTile), double-buffered: the next step's values
//      are computed (their loads in flight) before the current step's MMAs and stored after them;
//   MMA  tile_mma.cuh, f32 accumulation.
// Epilogue: the accumulators go through shared memory (reusing the operand ring) so the stores to y are
// coalesced in either layout; bias added in f32, one rounding to the storage type.
#pragma once

#include "algorithms/fused/tile_loaders.cuh"
#include "algorithms/fused/tile_mma.cuh"

namespace dcn {

template <class Spec>
DCN_DEVICE void fused_forward(const FusedParams& p) {
  using Index = typename Spec::index;
  using T = typename Spec::storage;
  using Operand = typename Spec::operand;
  constexpr int BM = Spec::BM, BN = Spec::BN, BK = Spec::BK, S = Spec::stages;
  constexpr int kSteps = (Spec::reduction + BK - 1) / BK;
  extern __shared__ __align__(128) unsigned char shared_bytes[];
  Operand* a_ring = reinterpret_cast<Operand*>(shared_bytes);  // [S][BM][lda]
  Operand* b_pair = a_ring + S * Spec::a_tile;                // [2][BK][ldb]
  float* c_tile = reinterpret_cast<float*>(shared_bytes);     // [BM][ldc], after the main loop

  const Index pixels = Index(p.N) * Index(p.Ho) * Index(p.Wo);
  const Index n0 = Index(blockIdx.x) * Index(BN);
  const int m0 = int(blockIdx.y) * BM;
  const Index group = Index(blockIdx.z);
  const long long group_outputs = p.Co / (p.C / Spec::conv_group_channels);
  const int rows_valid = int(group_outputs - m0 < BM ? group_outputs - m0 : BM);
  const long long first_row = group * group_outputs + m0;

  // Prologue: the first S-1 weight tiles in flight, the first sampled tile in place.
#pragma unroll
  for (int s = 0; s < S - 1; ++s) {
    if (s < kSteps) copy_weight_tile<Spec>(p, a_ring + s * Spec::a_tile, first_row, rows_valid, s * BK);
    __pipeline_commit();
  }
  SampledTile<Spec, BK, BN> sampled;
  sampled.fetch(p, group, 0, n0, pixels);
  sampled.store(b_pair, Spec::ldb, 1);

  TileMma<Spec> mma;
  for (int step = 0; step < kSteps; ++step) {
    __pipeline_wait_prior(S - 2);  // this thread's copies of step `step` have landed
    __syncthreads();               // everyone's, and the buffers refilled below are no longer read
    const int ahead = step + S - 1;
    if (ahead < kSteps) copy_weight_tile<Spec>(p, a_ring + (ahead % S) * Spec::a_tile, first_row, rows_valid, ahead * BK);
    __pipeline_commit();
    const bool more = step + 1 < kSteps;
    if (more) sampled.fetch(p, group, (step + 1) * BK, n0, pixels);
    mma.accumulate(a_ring + (step % S) * Spec::a_tile, b_pair + (step % 2) * Spec::b_tile);
    if (more) sampled.store(b_pair + ((step + 1) % 2) * Spec::b_tile, Spec::ldb, 1);
  }
  __pipeline_wait_prior(0);
  __syncthreads();
  mma.store(c_tile);
  __syncthreads();

  // y[image, group * Co/g + m0 + i, pixel]: NCHW stores run along pixels, NHWC along channels.
  T* __restrict__ y = static_cast<T*>(p.y);
  const T* __restrict__ bias = static_cast<const T*>(p.bias);
  const Index P = Index(p.Ho) * Index(p.Wo);
  for (int e = int(threadIdx.x); e < BM * BN; e += Spec::threads) {
    const int i = Spec::layout::channels_last ? e % BM : e / BN;
    const int j = Spec::layout::channels_last ? e / BM : e % BN;
    const Index n = n0 + Index(j);
    if (i >= rows_valid || n >= pixels) continue;
    const Index o = Index(first_row + i);
    float value = c_tile[i * Spec::ldc + j];
    if (bias != nullptr) value += float(widen(bias[o]));
    const Index image = n / P;
    y[activation_index<Spec>(p.y_strides, image, o, n - image * P)] = store_as<T>(value);
  }
}

}  // namespace dcn
