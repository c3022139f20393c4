// The compile-time specialization of a fused-family kernel: the problem's constants (kernel size,
// stride, dilation, channels per conv group and per offset group, boundary, mask, dtype, layout) and the
// tile (BM x BN output tile, BK reduction step, WM x WN warps, pipeline stages, reduction order, MMA
// kind). The generator emits one alias per kernel (fused_kernels.cpp); docs/architecture.md lists the
// knobs and the kernels' tiling.
//
// The implicit GEMMs run over a reduction index k' of one conv group's (channel, tap) pairs:
//   tap-major      k' = t * Cg + c   a step of BK rows shares one tap (and usually one offset group),
//                                    so a sample point's geometry serves several channels
//   channel-major  k' = c * taps + t the weights' own order
// The weights are permuted once per call into the order the GEMM reads (fused_weights.cuh).
#pragma once

#include "templates/dtype.cuh"
#include "templates/tensor_layout.cuh"

namespace dcn {

enum MmaKind : int {
  kMmaFfma = 0,  // f32 operands, FFMA per thread: exact f32 (the default for f32 problems)
  kMmaF16 = 1,   // WMMA m16n16k16, f16 operands, f32 accumulation
  kMmaBF16 = 2,  // WMMA m16n16k16, bf16 operands, f32 accumulation
  kMmaTF32 = 3,  // WMMA m16n16k8, f32 operands rounded to tf32 (only with allow_tf32)
};
enum ReductionOrder : int { kTapMajor = 0, kChannelMajor = 1 };

template <int kMma> struct OperandOf { using type = float; };
template <> struct OperandOf<kMmaF16> { using type = __half; };
template <> struct OperandOf<kMmaBF16> { using type = __nv_bfloat16; };

template <int KH, int KW, int SH, int SW, int DH, int DW, int ConvGroupChannels, int OffsetGroupChannels,
          int Boundary, bool Mask, int DTypeId, int LayoutId, typename IndexT, int BM_, int BN_, int BK_, int WarpsM,
          int WarpsN, int Stages, int Order, int Mma>
struct FusedSpec {
  static constexpr int kh = KH, kw = KW, taps = KH * KW;
  static constexpr int stride_h = SH, stride_w = SW, dilation_h = DH, dilation_w = DW;
  static constexpr int conv_group_channels = ConvGroupChannels;      // Cg = C / groups
  static constexpr int offset_group_channels = OffsetGroupChannels;  // C / og
  static constexpr int reduction = ConvGroupChannels * KH * KW;      // K of the forward GEMM per conv group
  static constexpr int boundary = Boundary;
  static constexpr bool has_mask = Mask;
  static constexpr int BM = BM_, BN = BN_, BK = BK_;
  static constexpr int warps_m = WarpsM, warps_n = WarpsN, warps = WarpsM * WarpsN;
  static constexpr int threads = 32 * warps;
  static constexpr int stages = Stages;
  static constexpr int order = Order;
  static constexpr int mma = Mma;
  using storage = typename StorageOf<DTypeId>::type;
  using compute = float;
  using operand = typename OperandOf<Mma>::type;  // what the shared-memory tiles hold
  using layout = Layout<LayoutId>;
  using index = IndexT;

  // Shared-memory tiles, row-major, rows padded by 16 bytes: WMMA needs leading dimensions that are
  // multiples of 16 bytes and 32-byte aligned fragment starts (rows 16 apart stay aligned), and the pad
  // moves consecutive rows to other banks.
  static constexpr int pad = 16 / int(sizeof(operand));
  static constexpr int lda = BK + pad;     // A tile [BM][lda]
  static constexpr int ldb = BN + pad;     // B tile [BK][ldb]
  static constexpr int ldc = BN + 4;       // the epilogue's f32 C tile [BM][ldc]
  static constexpr int a_tile = BM * lda;  // elements
  static constexpr int b_tile = BK * ldb;
  static constexpr int pipeline_bytes = (Stages * a_tile + 2 * b_tile) * int(sizeof(operand));
  static constexpr int epilogue_bytes = BM * ldc * 4;
  static constexpr int shared_bytes = pipeline_bytes > epilogue_bytes ? pipeline_bytes : epilogue_bytes;

  static_assert(BM % 16 == 0 && BN % 16 == 0 && BK % 16 == 0, "tiles are multiples of 16");
  static_assert(BM % (16 * WarpsM) == 0 && BN % (16 * WarpsN) == 0, "warp tiles are multiples of 16");
};

template <int A, int B> struct Gcd { static constexpr int value = Gcd<B, A % B>::value; };
template <int A> struct Gcd<A, 0> { static constexpr int value = A; };

// The (channel, tap) pair of reduction index k' of one conv group (see the top of this file).
template <class Spec>
DCN_DEVICE void split_reduction_index(int k, int& channel, int& tap) {
  if (Spec::order == kTapMajor) {
    tap = k / Spec::conv_group_channels;
    channel = k - tap * Spec::conv_group_channels;
  } else {
    channel = k / Spec::taps;
    tap = k - channel * Spec::taps;
  }
}

}  // namespace dcn
