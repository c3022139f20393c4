// Filling the shared-memory operand tiles of the fused implicit GEMMs.
//
//   copy_weight_tile  a BM x BK tile of the permuted weights (fused_weights.cuh) with cp.async in
//                     16-byte pieces: rows of the permuted weights are padded to a multiple of 8
//                     elements, so a piece is either wholly inside a row or wholly past it (zero-filled).
//   SampledTile       the B operand sampled from x: value(k', n) = m * bilinear(x[image, c], point(n, t))
//                     for reduction index k' = (c, t) and pixel n, exactly the im2col family's column
//                     entry (same arithmetic, same rounding to the operand type). fetch() computes a
//                     step's values into registers (the loads of the next step are in flight while the
//                     warps run the current step's MMAs); store() writes them to a tile.
//
// Thread mapping of SampledTile: NCHW walks pixels fastest (neighbouring pixels' offsets, masks and
// corners are neighbours in memory); NHWC walks reduction rows fastest, i.e. channels of one tap in
// tap-major order (contiguous in x). Each thread keeps the sample point of its last (pixel, tap, offset
// group) and reuses it while they stay the same (in tap-major order, for a run of channels).
//
// NHWC, tap-major: a thread's run of channels shares one sample point and its four corners are runs of
// consecutive elements of x, so each corner is read as 16-byte vectors of channels (8 f16/bf16 or 4 f32
// per load instead of one) when the run is a whole number of vectors and x allows it (FusedParams::
// x_vectors). The arithmetic per channel is the scalar path's, so both give the same bits.
#pragma once

#include <cuda_pipeline.h>

#include "algorithms/fused/fused_sampling.cuh"

namespace dcn {

template <class Spec>
DCN_DEVICE void copy_weight_tile(const FusedParams& p, typename Spec::operand* tile, long long first_row,
                                 int rows_valid, int k0) {
  using Operand = typename Spec::operand;
  constexpr int kPerPiece = 16 / int(sizeof(Operand));
  constexpr int kPiecesPerRow = Spec::BK / kPerPiece;
  constexpr int kPieces = Spec::BM * kPiecesPerRow;
  const Operand* weights = static_cast<const Operand*>(p.weights);
  for (int piece = int(threadIdx.x); piece < kPieces; piece += Spec::threads) {
    const int row = piece / kPiecesPerRow, col = (piece - row * kPiecesPerRow) * kPerPiece;
    const bool valid = row < rows_valid && k0 + col < p.weight_pitch;
    const Operand* src = valid ? weights + (first_row + row) * p.weight_pitch + k0 + col : weights;
    __pipeline_memcpy_async(tile + row * Spec::lda + col, src, 16, valid ? 0 : 16);
  }
}

// How a kRows x kColumns tile splits over the CTA's threads: each thread takes kGroups runs of kRun
// rows of one column (at most kMaxRun), row0 + r * kRowStep for r < kRun. Runs are numbered so that
// consecutive threads take consecutive columns in NCHW (pixels: unit stride) and consecutive runs of one
// column in NHWC (channels: unit stride). A run's rows are consecutive (kRowStep 1: they share a sample
// point, and a thread reads them as vectors) unless kInterleaved: then the column's threads take every
// kRunsPerColumn-th row from their own first one, so that in NHWC one load instruction of a warp reads
// consecutive channels (grad_y, read element by element: consecutive rows per thread put the lanes 16
// or 32 bytes apart, a sector each, 24 sectors per request in the weight gradient, docs/perf.md).
template <class Spec, int kRows, int kColumns, int kMaxRun = kRows, bool kInterleaved = false>
struct TileRuns {
  static constexpr int kPerThread = kRows * kColumns / Spec::threads;
  static constexpr int kLongest = kPerThread < kRows ? kPerThread : kRows;
  static constexpr int kRun = kLongest < kMaxRun ? kLongest : kMaxRun;
  static constexpr int kGroups = kPerThread / kRun;
  static constexpr int kRunsPerColumn = kRows / kRun;
  static constexpr bool kStrided = kInterleaved && Spec::layout::channels_last;
  static constexpr int kRowStep = kStrided ? kRunsPerColumn : 1;
  static_assert(kRows * kColumns % Spec::threads == 0 && kRows % kRun == 0 && kPerThread % kRun == 0,
                "the tile must split evenly over the threads");
  // Runs start at multiples of their length, so a run of at most the power-of-two part of a channel
  // count never crosses a group: kRun must be a power of two (tile sizes and thread counts are).
  static_assert((kRun & (kRun - 1)) == 0, "runs are a power of two long");

  // A thread's values (run g, element r at values[g * kRun + r]) to tile[row * row_stride + column *
  // column_stride].
  template <typename Operand>
  DCN_DEVICE static void store(const Operand (&values)[kPerThread], Operand* tile, int row_stride, int column_stride) {
#pragma unroll
    for (int g = 0; g < kGroups; ++g) {
      int row0, column;
      run(g, row0, column);
#pragma unroll
      for (int r = 0; r < kRun; ++r)
        tile[(row0 + r * kRowStep) * row_stride + column * column_stride] = values[g * kRun + r];
    }
  }

  DCN_DEVICE static void run(int group, int& row0, int& column) {
    const int g = int(threadIdx.x) + group * Spec::threads;
    if (Spec::layout::channels_last) {
      row0 = (g % kRunsPerColumn) * (kStrided ? 1 : kRun);
      column = g / kRunsPerColumn;
    } else {
      column = g % kColumns;
      row0 = (g / kColumns) * kRun;
    }
  }
};

// 16 bytes of consecutive elements: one vector load (LDG.128 on the GPU, one 16-byte request under sim).
template <typename T>
struct __align__(16) ChannelVector {
  static constexpr int size = 16 / int(sizeof(T));
  T e[size];
};

// What a sampled operand needs of a sample point (fused_sampling.cuh has the whole SamplePoint): kept
// live across a step's loads, so only the corners, their weights and the mask value.
template <class Spec>
struct ValuePoint {
  using Index = typename Spec::index;
  Index plane0;   // x element of (image, channel 0, pixel 0)
  Index idx[4];
  float w[4];
  float modulation;
  unsigned reads;  // bit k: corner k is read (inside the image)
  bool value_reads;

  // Inlined where a thread finds few points per step (SampledTile::kInlineLocate: tap-major order, at
  // most kInlinedPoints runs): the call's loads then stay global loads of the kernel's parameters (R50
  // f16 NHWC forward at sm_90: 134 registers, no stack).
  DCN_DEVICE void locate(const FusedParams& p, Index n, int tap, Index og) {
    SamplePoint<Spec> point;
    locate_point<Spec>(p, n, tap, og, point);
    plane0 = activation_index<Spec>(p.x_strides, point.image, Index(0), Index(0));
    reads = 0;
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      idx[k] = point.s.idx[k];
      w[k] = point.s.w[k];
      reads |= point.s.reads[k] ? 1u << k : 0u;
    }
    modulation = point.modulation;
    value_reads = point.s.value_reads;
  }

  // Not inlined: where a thread finds many points per step (channel-major order: one per element; short
  // runs: one per run), inlined copies (one per point of the unrolled fetch) took ptxas past 255
  // registers (the NVRTC sweep: 16 runs of 2 channels spilled 96 bytes). The call takes the parameters'
  // address, which costs a stack copy of them (the R50 NHWC forward inlined: 152 -> 134 registers,
  // 368 -> 0 bytes of stack), so only those tiles pay it.
  DCN_DEVICE_NOINLINE void locate_outlined(const FusedParams& p, Index n, int tap, Index og) { locate(p, n, tap, og); }

  // m * sample from the four corner values (loaded, before selection): sampled_value's arithmetic.
  DCN_DEVICE float combine(const float (&loaded)[4]) const {
    float v[4];
#pragma unroll
    for (int k = 0; k < 4; ++k) v[k] = (reads >> k) & 1u ? loaded[k] : 0.0f;
    const float value = value_reads ? w[0] * v[0] + w[1] * v[1] + w[2] * v[2] + w[3] * v[3] : 0.0f;
    return modulation * value;
  }

  // m * sample(x[image, c]) with channel_offset = c * x's channel stride.
  template <typename T>
  DCN_DEVICE float value(const T* __restrict__ x, Index channel_offset) const {
    float loaded[4];
#pragma unroll
    for (int k = 0; k < 4; ++k) loaded[k] = float(widen(x[plane0 + channel_offset + idx[k]]));
    return combine(loaded);
  }

  // The values of kRun consecutive channels from `channel` (NHWC: unit channel stride), each corner read
  // as 16-byte vectors. `channel` and the corner offsets are multiples of a vector (the caller checks).
  template <int kRun, typename T>
  DCN_DEVICE void run_values(const T* __restrict__ x, Index channel, float (&out)[kRun]) const {
    using Vector = ChannelVector<T>;
    constexpr int kVectors = kRun / Vector::size;
    Vector corner[4][kVectors];
#pragma unroll
    for (int k = 0; k < 4; ++k)
#pragma unroll
      for (int v = 0; v < kVectors; ++v)
        corner[k][v] = *reinterpret_cast<const Vector*>(x + plane0 + channel + idx[k] + Index(v * Vector::size));
#pragma unroll
    for (int r = 0; r < kRun; ++r) {
      float loaded[4];
#pragma unroll
      for (int k = 0; k < 4; ++k) loaded[k] = float(widen(corner[k][r / Vector::size].e[r % Vector::size]));
      out[r] = combine(loaded);
    }
  }
};

// The largest power of two dividing n (n > 0).
template <int n> struct PowerOfTwoPart { static constexpr int value = n & -n; };

// B operand values of one reduction step: rows k' in [k0, k0 + kRows) of conv group `group`, columns =
// the pixels [n0, n0 + kColumns) below `pixels`, written to tile[row * row_stride + column *
// column_stride] (the forward's B is [k'][n]; the weight gradient's is [n][k'], its transpose).
// In tap-major order a run of rows is a run of channels of one tap inside one conv group and one offset
// group (runs are at most the power-of-two part of gcd(C/groups, C/og) long and start at multiples of
// their length), so a run needs one sample point; in channel-major order each element finds its own.
template <class Spec, int kRows, int kColumns>
struct SampledTile {
  using Index = typename Spec::index;
  using Operand = typename Spec::operand;
  static constexpr int kSegment = Gcd<Spec::conv_group_channels, Spec::offset_group_channels>::value;
  using Runs = TileRuns<Spec, kRows, kColumns, PowerOfTwoPart<kSegment>::value>;
  static constexpr bool kUniformRows = Spec::order == kTapMajor;
  // At most kInlinedPoints sample points per thread and step are located inline (ValuePoint::locate).
  static constexpr int kInlinedPoints = 2;
  static constexpr bool kInlineLocate = kUniformRows && Runs::kGroups <= kInlinedPoints;
  // A run is a whole number of 16-byte vectors of channels (NHWC, tap-major): see the top of this file.
  static constexpr bool kVectorRuns = Spec::layout::channels_last && kUniformRows &&
                                      Runs::kRun % ChannelVector<typename Spec::storage>::size == 0;

  Operand values[Runs::kPerThread];

  DCN_DEVICE void fetch(const FusedParams& p, Index group, int k0, Index n0, Index pixels) {
    if constexpr (kVectorRuns) {
      if (p.x_vectors) {
        fetch_vectors(p, group, k0, n0, pixels);
        return;
      }
    }
    fetch_elements(p, group, k0, n0, pixels);
  }

  // Runs of channels from vector loads. A run lies inside one tap, one conv group and one offset group
  // and is either wholly inside the reduction or wholly past it (Cg is a multiple of the run).
  DCN_DEVICE void fetch_vectors(const FusedParams& p, Index group, int k0, Index n0, Index pixels) {
    using T = typename Spec::storage;
    const T* __restrict__ x = static_cast<const T*>(p.x);
#pragma unroll
    for (int g = 0; g < Runs::kGroups; ++g) {
      int row0, column;
      Runs::run(g, row0, column);
      const Index n = n0 + Index(column);
      const int k = k0 + row0;
      float run[Runs::kRun];
#pragma unroll
      for (int r = 0; r < Runs::kRun; ++r) run[r] = 0.0f;
      if (k < Spec::reduction && n < pixels) {
        int channel, tap;
        split_reduction_index<Spec>(k, channel, tap);
        const Index c = group * Index(Spec::conv_group_channels) + Index(channel);
        ValuePoint<Spec> point;
        if constexpr (kInlineLocate) point.locate(p, n, tap, c / Index(Spec::offset_group_channels));
        else point.locate_outlined(p, n, tap, c / Index(Spec::offset_group_channels));
        point.run_values(x, c, run);
      }
#pragma unroll
      for (int r = 0; r < Runs::kRun; ++r) values[g * Runs::kRun + r] = Operand(store_as<T>(run[r]));
    }
  }

  DCN_DEVICE void fetch_elements(const FusedParams& p, Index group, int k0, Index n0, Index pixels) {
    using T = typename Spec::storage;
    using L = typename Spec::layout;
    const T* __restrict__ x = static_cast<const T*>(p.x);
    const Index channel_stride = L::template channel_stride<Index>(p.x_strides.channel);
#pragma unroll
    for (int g = 0; g < Runs::kGroups; ++g) {
      int row0, column;
      Runs::run(g, row0, column);
      const Index n = n0 + Index(column);
      ValuePoint<Spec> point;
      int point_tap = -1;
      Index point_og = -1;
#pragma unroll
      for (int r = 0; r < Runs::kRun; ++r) {
        const int k = k0 + row0 + r;
        float value = 0.0f;
        if (k < Spec::reduction && n < pixels) {
          int channel, tap;
          split_reduction_index<Spec>(k, channel, tap);
          const Index c = group * Index(Spec::conv_group_channels) + Index(channel);
          const Index og = c / Index(Spec::offset_group_channels);
          if (kUniformRows ? r == 0 : (tap != point_tap || og != point_og)) {
            if constexpr (kInlineLocate) point.locate(p, n, tap, og);
            else point.locate_outlined(p, n, tap, og);
            point_tap = tap;
            point_og = og;
          }
          value = point.value(x, c * channel_stride);
        }
        // The im2col family stores the column in the storage type; the operand rounds the same way.
        values[g * Runs::kRun + r] = Operand(store_as<T>(value));
      }
    }
  }

  DCN_DEVICE void store(Operand* tile, int row_stride, int column_stride) const {
    Runs::store(values, tile, row_stride, column_stride);
  }
};

// A tile of grad_y: rows = output channels [o0, o0 + rows_valid) (zeros past them), columns = pixels
// [n0, n0 + kColumns) (zeros past `pixels`), in the operand type, split over the threads like
// SampledTile (TileRuns).
template <class Spec, int kRows, int kColumns>
struct GradYTile {
  using Index = typename Spec::index;
  using Operand = typename Spec::operand;
  using Runs = TileRuns<Spec, kRows, kColumns, kRows, /*kInterleaved=*/true>;

  Operand values[Runs::kPerThread];

  DCN_DEVICE void fetch(const FusedParams& p, Index o0, int rows_valid, Index n0, Index pixels) {
    using T = typename Spec::storage;
    using L = typename Spec::layout;
    const T* __restrict__ grad_y = static_cast<const T*>(p.grad_y);
    const Index P = Index(p.Ho) * Index(p.Wo);
    const Index channel_stride = L::template channel_stride<Index>(p.y_strides.channel);
#pragma unroll
    for (int g = 0; g < Runs::kGroups; ++g) {
      int row0, column;
      Runs::run(g, row0, column);
      const Index n = n0 + Index(column);
      const Index image = n / P;
      const Index first = activation_index<Spec>(p.y_strides, image, o0 + Index(row0), n - image * P);
#pragma unroll
      for (int r = 0; r < Runs::kRun; ++r) {
        const int row = row0 + r * Runs::kRowStep;
        const bool valid = row < rows_valid && n < pixels;
        values[g * Runs::kRun + r] =
            Operand(valid ? grad_y[first + Index(r * Runs::kRowStep) * channel_stride] : store_as<T>(0.0f));
      }
    }
  }

  DCN_DEVICE void store(Operand* tile, int row_stride, int column_stride) const {
    Runs::store(values, tile, row_stride, column_stride);
  }
};

}  // namespace dcn
