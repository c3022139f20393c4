// C[BM][BN] += A[BM][BK] * B[BK][BN] from the shared-memory tiles of one reduction step, accumulated in
// f32 by the CTA: on tensor cores through WMMA (f16, bf16 and, with allow_tf32, tf32), or by FFMA
// (exact f32, the default for f32 problems: TF32's 10-bit operands miss the 1e-5 the f32 contract holds).
// Both end by writing the accumulators to the f32 C tile the epilogue reads ([BM][ldc], shared memory).
//
// WMMA: warp w owns rows [wm * BM/WM, ...) and columns [wn * BN/WN, ...) of the tile (wm = w / WN,
// wn = w % WN) as FM x FN fragments of 16 x 16. The fragments' element order is opaque (and permuted by
// the sim under DCNJIT_SIM_WMMA_PERMUTE): only load/store_matrix_sync and element-wise conversions
// touch them.
// FFMA: thread (ty, tx) of a TY x TX grid owns a TM x TN block, rows ty + i*TY and columns tx*TN + j,
// so the TX threads of a row read one B row's consecutive elements and the A values of a warp's rows
// are a few broadcast addresses.
#pragma once

#include <mma.h>

#include "algorithms/fused/fused_spec.cuh"

namespace dcn {

template <bool kCondition, typename A, typename B> struct Select { using type = A; };
template <typename A, typename B> struct Select<false, A, B> { using type = B; };

template <class Spec, int kMma = Spec::mma>
struct TileMma {
  static constexpr bool kTf32 = kMma == kMmaTF32;
  static constexpr int KF = kTf32 ? 8 : 16;  // the MMA shape's k
  static constexpr int FM = Spec::BM / Spec::warps_m / 16, FN = Spec::BN / Spec::warps_n / 16;
  using Element = typename Select<kTf32, nvcuda::wmma::precision::tf32, typename Spec::operand>::type;
  using Operand = typename Spec::operand;

  nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, KF, float> acc[FM][FN];
  int row0, col0;

  DCN_DEVICE TileMma() {
    const int warp = int(threadIdx.x) / 32;
    row0 = (warp / Spec::warps_n) * (Spec::BM / Spec::warps_m);
    col0 = (warp % Spec::warps_n) * (Spec::BN / Spec::warps_n);
#pragma unroll
    for (int i = 0; i < FM; ++i)
#pragma unroll
      for (int j = 0; j < FN; ++j) nvcuda::wmma::fill_fragment(acc[i][j], 0.0f);
  }

  DCN_DEVICE void accumulate(const Operand* a, const Operand* b) {
#pragma unroll
    for (int kf = 0; kf < Spec::BK; kf += KF) {
      nvcuda::wmma::fragment<nvcuda::wmma::matrix_a, 16, 16, KF, Element, nvcuda::wmma::row_major> fa[FM];
      nvcuda::wmma::fragment<nvcuda::wmma::matrix_b, 16, 16, KF, Element, nvcuda::wmma::row_major> fb[FN];
#pragma unroll
      for (int i = 0; i < FM; ++i) {
        nvcuda::wmma::load_matrix_sync(fa[i], a + (row0 + 16 * i) * Spec::lda + kf, Spec::lda);
        if (kTf32)
          for (int e = 0; e < fa[i].num_elements; ++e) fa[i].x[e] = nvcuda::wmma::__float_to_tf32(fa[i].x[e]);
      }
#pragma unroll
      for (int j = 0; j < FN; ++j) {
        nvcuda::wmma::load_matrix_sync(fb[j], b + kf * Spec::ldb + col0 + 16 * j, Spec::ldb);
        if (kTf32)
          for (int e = 0; e < fb[j].num_elements; ++e) fb[j].x[e] = nvcuda::wmma::__float_to_tf32(fb[j].x[e]);
      }
#pragma unroll
      for (int i = 0; i < FM; ++i)
#pragma unroll
        for (int j = 0; j < FN; ++j) nvcuda::wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
    }
  }

  DCN_DEVICE void store(float* c) const {
#pragma unroll
    for (int i = 0; i < FM; ++i)
#pragma unroll
      for (int j = 0; j < FN; ++j)
        nvcuda::wmma::store_matrix_sync(c + (row0 + 16 * i) * Spec::ldc + col0 + 16 * j, acc[i][j], Spec::ldc,
                                        nvcuda::wmma::mem_row_major);
  }
};

template <class Spec>
struct TileMma<Spec, kMmaFfma> {
  static constexpr int TN = 4;
  static constexpr int TX = Spec::BN / TN;
  static constexpr int TY = Spec::threads / TX;
  static constexpr int TM = Spec::BM / TY;
  static_assert(Spec::BN % TN == 0 && Spec::threads % TX == 0 && Spec::BM % TY == 0 && TM >= 1,
                "the FFMA thread grid must cover the tile");
  float acc[TM][TN];
  int ty, tx;

  DCN_DEVICE TileMma() {
    ty = int(threadIdx.x) / TX;
    tx = int(threadIdx.x) % TX;
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
      for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;
  }

  DCN_DEVICE void accumulate(const float* a, const float* b) {
#pragma unroll 4
    for (int k = 0; k < Spec::BK; ++k) {
      float av[TM], bv[TN];
#pragma unroll
      for (int i = 0; i < TM; ++i) av[i] = a[(ty + i * TY) * Spec::lda + k];
#pragma unroll
      for (int j = 0; j < TN; ++j) bv[j] = b[k * Spec::ldb + tx * TN + j];
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
  }

  DCN_DEVICE void store(float* c) const {
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
      for (int j = 0; j < TN; ++j) c[(ty + i * TY) * Spec::ldc + tx * TN + j] = acc[i][j];
  }
};

}  // namespace dcn
