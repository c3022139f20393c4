// The fused data gradient: for one tap t and a chunk of channels, the CTA computes the column gradient
// dcol[c, n] = sum over o of W[o, c, t] * grad_y[n, o] on tensor cores (or FFMA) and, in its epilogue,
// uses it where it stands: scatters m * w_k * dcol into grad_x and sums the coordinate partials
// S_k = sum_c dcol * x_c[corner k] and Z = sum_c dcol * 0 over the chunk's channels. dcol never goes
// to memory.
//
// Channel chunks. A chunk lies inside one conv group (one GEMM: its weights and grad_y channels) and
// inside one offset group (one sample point per pixel and tap). Channels are cut into segments of
// U = gcd(C/groups, C/og), each inside one of both, and a segment into chunks of up to BM channels.
// The coordinate gradient of an offset group sums over all its channels, i.e. over several chunks when
// C/og > BM or when conv groups cut the offset group: each chunk writes its partial sums to its own slot
// and fused_reduce.cuh adds the slots in order. No floating-point atomics touch the coordinate sums, so
// they are bit-identical run to run; grad_x is an atomic scatter (as in the im2col family), except in
// deterministic mode (atomic=gather, p.grad_columns set): the epilogue then stores the dcol tile to the
// chunk's column gradient (fused_columns.cuh) instead, and fused_gather.cuh sums each grad_x element in a
// fixed order (so dcol does go to memory there, once, in f32).
//
// CTA (pixel tile, chunk, tap): M = the chunk's channels, N = pixels, K = output channels of the conv
// group in BK steps; A = the permuted weights' rows (g, t, c) (cp.async ring), B = grad_y (registers
// one step ahead, double-buffered). The epilogue puts adjacent lanes on adjacent elements of x and
// grad_x: in NCHW thread (sub, j) takes pixel column j and the sub-th of the chunk's rows, and the subs'
// sums are added in sub order; in NHWC a warp takes one pixel column at a time, its lanes the rows
// (channels, unit stride), and the lanes' sums are added by a fixed butterfly (lanes along pixels read
// C elements apart: 23 sectors per request under the sim's counters, docs/perf.md).
#pragma once

#include "algorithms/fused/fused_columns.cuh"
#include "algorithms/fused/tile_loaders.cuh"
#include "algorithms/fused/tile_mma.cuh"

namespace dcn {

template <class Spec>
struct ChannelChunks {
  static constexpr int segment = Gcd<Spec::conv_group_channels, Spec::offset_group_channels>::value;
  static constexpr int per_segment = (segment + Spec::BM - 1) / Spec::BM;
  static constexpr int per_offset_group = Spec::offset_group_channels / segment * per_segment;
};

// Subgroups of threads sharing one pixel column in the data gradient's epilogue.
template <class Spec>
struct EpilogueSplit {
  static constexpr int subs = Spec::threads > Spec::BN ? Spec::threads / Spec::BN : 1;
  static constexpr int scratch_floats = subs > 1 ? subs * Spec::BN * 5 : 0;
  static constexpr int shared_bytes_needed = Spec::epilogue_bytes + scratch_floats * 4;
  static constexpr int shared_bytes =
      Spec::shared_bytes > shared_bytes_needed ? Spec::shared_bytes : shared_bytes_needed;
};

// coord_partials[slot][n's image][og][tap][q][pixel] = sums[q]: the chunk's slot of pixel n's sums.
template <class Spec>
DCN_DEVICE void store_coordinate_partials(const FusedParams& p, typename Spec::index n, typename Spec::index og,
                                          int tap, int segment, int piece, const float (&sums)[5]) {
  using Index = typename Spec::index;
  using Chunks = ChannelChunks<Spec>;
  const Index P = Index(p.Ho) * Index(p.Wo);
  const Index image = n / P;
  const Index slot = Index(segment - int(og) * (Spec::offset_group_channels / Chunks::segment)) *
                         Index(Chunks::per_segment) + Index(piece);
  const Index base =
      (((slot * Index(p.N) + image) * Index(p.offset_groups) + og) * Index(Spec::taps) + Index(tap)) * Index(5) * P;
  float* __restrict__ partials = static_cast<float*>(p.coord_partials);
#pragma unroll
  for (int q = 0; q < 5; ++q) partials[base + Index(q) * P + (n - image * P)] = sums[q];
}

// One element dc of the dcol tile (channel c of the point's image) where it stands: m * w_k * dc to
// grad_x's four corners (grad_x null: not requested, or gathered later), and dc * x[corner k] into the
// coordinate sums (`coordinates`: grad_offset or grad_mask requested).
template <class Spec>
DCN_DEVICE void use_column_gradient(const typename Spec::storage* __restrict__ x, float* __restrict__ grad_x,
                                    bool coordinates, const FusedParams& p, const SamplePoint<Spec>& point,
                                    typename Spec::index c, float dc, float (&sums)[5]) {
  using Index = typename Spec::index;
  const Index plane = activation_index<Spec>(p.x_strides, point.image, c, Index(0));
  if (grad_x != nullptr) {
    const float scaled = point.modulation * dc;
#pragma unroll
    for (int k = 0; k < 4; ++k)
      // Zero-weight corners add nothing (or NaN * 0 from a non-finite dcol) to an unrelated element.
      if (point.inside && point.s.w[k] != 0.0f) atomicAdd(grad_x + plane + point.s.idx[k], scaled * point.s.w[k]);
  }
  if (coordinates) {
    float v[4];
    load_corners<Spec>(x, plane, point, v);
#pragma unroll
    for (int k = 0; k < 4; ++k) sums[k] += dc * v[k];
    sums[4] += dc * 0.0f;
  }
}

// The NHWC epilogue (see the top of this file): warp w takes columns w, w + warps, ...; lane l the rows
// l, l + 32, ... of the chunk.
template <class Spec>
DCN_DEVICE void scatter_channels_across_lanes(const FusedParams& p, const float* c_tile, typename Spec::index n0,
                                              typename Spec::index pixels, int tap, typename Spec::index og, int c0,
                                              int rows_valid, int segment, int piece, bool coordinates) {
  using Index = typename Spec::index;
  using T = typename Spec::storage;
  const T* __restrict__ x = static_cast<const T*>(p.x);
  float* __restrict__ grad_x = static_cast<float*>(p.grad_x_accum);
  const int warp = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32;
  for (int column = warp; column < Spec::BN; column += Spec::warps) {
    const Index n = n0 + Index(column);
    if (n >= pixels) break;  // uniform across the warp, and every later column is past the end too
    SamplePoint<Spec> point;
    locate_point<Spec>(p, n, tap, og, point);
    float sums[5] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f};  // S_0..S_3, Z
    for (int row = lane; row < rows_valid; row += 32)
      use_column_gradient<Spec>(x, grad_x, coordinates, p, point, Index(c0 + row), c_tile[row * Spec::ldc + column],
                                sums);
    if (!coordinates) continue;
#pragma unroll
    for (int q = 0; q < 5; ++q)
      for (int d = 16; d > 0; d /= 2) sums[q] += __shfl_xor_sync(kFullWarpMask, sums[q], d);
    if (lane == 0) store_coordinate_partials<Spec>(p, n, og, tap, segment, piece, sums);
  }
}

template <class Spec>
DCN_DEVICE void fused_data_gradient(const FusedParams& p) {
  using Index = typename Spec::index;
  using T = typename Spec::storage;
  using Operand = typename Spec::operand;
  using Chunks = ChannelChunks<Spec>;
  using Split = EpilogueSplit<Spec>;
  constexpr int BM = Spec::BM, BN = Spec::BN, BK = Spec::BK, S = Spec::stages;
  constexpr int Cg = Spec::conv_group_channels, Cpo = Spec::offset_group_channels;
  extern __shared__ __align__(128) unsigned char shared_bytes[];
  Operand* a_ring = reinterpret_cast<Operand*>(shared_bytes);  // [S][BM][lda]
  Operand* b_pair = a_ring + S * Spec::a_tile;                // [2][BK][ldb]
  float* c_tile = reinterpret_cast<float*>(shared_bytes);     // [BM][ldc], after the main loop
  float* scratch = c_tile + BM * Spec::ldc;                   // [subs][5][BN]

  const Index pixels = Index(p.N) * Index(p.Ho) * Index(p.Wo);
  const Index n0 = Index(blockIdx.x) * Index(BN);
  const int tap = int(blockIdx.z);
  const int segment = int(blockIdx.y) / Chunks::per_segment, piece = int(blockIdx.y) % Chunks::per_segment;
  const int c0 = segment * Chunks::segment + piece * BM;  // the chunk's first channel
  const int rows_valid = Chunks::segment - piece * BM < BM ? Chunks::segment - piece * BM : BM;
  const Index group = Index(c0 / Cg), og = Index(c0 / Cpo);
  const Index groups = Index(p.C / Cg), group_outputs = Index(p.Co) / groups;
  const int k_steps = int((group_outputs + Index(BK) - 1) / Index(BK));
  const long long first_row = (group * Spec::taps + tap) * Cg + (c0 - int(group) * Cg);
  const Index o0 = group * group_outputs;

#pragma unroll
  for (int s = 0; s < S - 1; ++s) {
    if (s < k_steps) copy_weight_tile<Spec>(p, a_ring + s * Spec::a_tile, first_row, rows_valid, s * BK);
    __pipeline_commit();
  }
  GradYTile<Spec, BK, BN> grad_y;
  grad_y.fetch(p, o0, int(group_outputs < Index(BK) ? group_outputs : Index(BK)), n0, pixels);
  grad_y.store(b_pair, Spec::ldb, 1);

  TileMma<Spec> mma;
  for (int step = 0; step < k_steps; ++step) {
    __pipeline_wait_prior(S - 2);
    __syncthreads();
    const int ahead = step + S - 1;
    if (ahead < k_steps)
      copy_weight_tile<Spec>(p, a_ring + (ahead % S) * Spec::a_tile, first_row, rows_valid, ahead * BK);
    __pipeline_commit();
    const bool more = step + 1 < k_steps;
    if (more) {
      const Index next = Index(step + 1) * Index(BK);
      const Index left = group_outputs - next;
      grad_y.fetch(p, o0 + next, int(left < Index(BK) ? left : Index(BK)), n0, pixels);
    }
    mma.accumulate(a_ring + (step % S) * Spec::a_tile, b_pair + (step % 2) * Spec::b_tile);
    if (more) grad_y.store(b_pair + ((step + 1) % 2) * Spec::b_tile, Spec::ldb, 1);
  }
  __pipeline_wait_prior(0);
  __syncthreads();
  mma.store(c_tile);
  __syncthreads();

  if (p.grad_columns != nullptr) {
    // Deterministic mode: the tile to the column gradient, walked in the buffer's fastest order (channels
    // in NHWC, pixels in NCHW) so that adjacent threads store adjacent words.
    using L = typename Spec::layout;
    float* __restrict__ dcol = static_cast<float*>(p.grad_columns);
    for (int e = int(threadIdx.x); e < BM * BN; e += Spec::threads) {
      const int row = L::channels_last ? e % BM : e / BN, column = L::channels_last ? e / BM : e % BN;
      const Index n = n0 + Index(column);
      if (row < rows_valid && n < pixels)
        dcol[dcol_at<Spec>(p, n, tap, Index(c0 + row))] = c_tile[row * Spec::ldc + column];
    }
  }

  const T* __restrict__ x = static_cast<const T*>(p.x);
  float* __restrict__ grad_x = static_cast<float*>(p.grad_x_accum);
  const bool coordinates = p.grad_offset != nullptr || (Spec::has_mask && p.grad_mask != nullptr);
  if constexpr (Spec::layout::channels_last) {
    scatter_channels_across_lanes<Spec>(p, c_tile, n0, pixels, tap, og, c0, rows_valid, segment, piece, coordinates);
    return;
  }
  constexpr int kRowsPerSub = (BM + Split::subs - 1) / Split::subs;
  for (int column = int(threadIdx.x) % BN; column < BN; column += Spec::threads) {
    const int sub = int(threadIdx.x) / BN;
    const Index n = n0 + Index(column);
    float sums[5] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f};  // S_0..S_3, Z
    if (n < pixels) {
      SamplePoint<Spec> point;
      locate_point<Spec>(p, n, tap, og, point);
      const int row_end = (sub + 1) * kRowsPerSub < rows_valid ? (sub + 1) * kRowsPerSub : rows_valid;
      for (int row = sub * kRowsPerSub; row < row_end; ++row)
        use_column_gradient<Spec>(x, grad_x, coordinates, p, point, Index(c0 + row),
                                  c_tile[row * Spec::ldc + column], sums);
    }
    if (!coordinates) continue;
    if (Split::subs > 1) {
#pragma unroll
      for (int q = 0; q < 5; ++q) scratch[(sub * 5 + q) * BN + column] = sums[q];
    }
    if (Split::subs > 1) __syncthreads();
    if (sub != 0 || n >= pixels) continue;
    for (int other = 1; other < Split::subs; ++other)
#pragma unroll
      for (int q = 0; q < 5; ++q) sums[q] += scratch[(other * 5 + q) * BN + column];
    store_coordinate_partials<Spec>(p, n, og, tap, segment, piece, sums);
  }
}

}  // namespace dcn
