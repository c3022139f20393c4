// The weights in the order the fused GEMMs read them, written once per call into the workspace (a few
// hundred KB at most; the GEMMs then copy whole 16-byte pieces of it with cp.async):
//   kWeightsRows     [Co][pitch]: row o holds W[o, c, t] at column k' (fused_spec.cuh's reduction order),
//                    for the forward's A operand (and the weight gradient's output order)
//   kWeightsColumns  [groups][taps][Cg][pitch]: row (g, t, c) holds W[g*Co/g + o, c, t] at column o, for
//                    the data gradient's A = W^T of one tap
// pitch is the row length rounded up to 8 elements; the padding is written as zeros.
#pragma once

#include "algorithms/fused/fused_params.cuh"
#include "algorithms/fused/fused_spec.cuh"

namespace dcn {

enum WeightsOrder : int { kWeightsRows = 0, kWeightsColumns = 1 };

template <int Taps, int ConvGroupChannels, int DTypeId, int Order, int Arrangement, typename IndexT>
struct WeightsSpec {
  static constexpr int taps = Taps, conv_group_channels = ConvGroupChannels, order = Order;
  static constexpr int arrangement = Arrangement;
  using storage = typename StorageOf<DTypeId>::type;
  using index = IndexT;
};

template <class Spec>
DCN_DEVICE void fused_weights(const FusedParams& p) {
  using Index = typename Spec::index;
  using T = typename Spec::storage;
  constexpr int Cg = Spec::conv_group_channels, taps = Spec::taps;
  const T* __restrict__ w = static_cast<const T*>(p.weight);
  T* __restrict__ out = const_cast<T*>(static_cast<const T*>(p.weights));
  const Index groups = Index(p.C / Cg), Cog = Index(p.Co) / groups, pitch = Index(p.weight_pitch);
  const Index rows = Spec::arrangement == kWeightsRows ? Index(p.Co) : groups * Index(taps * Cg);
  const Index total = rows * pitch;
  for (Index e = Index(blockIdx.x) * Index(blockDim.x) + Index(threadIdx.x); e < total;
       e += Index(gridDim.x) * Index(blockDim.x)) {
    const Index row = e / pitch, column = e - row * pitch;
    T value = store_as<T>(0.0f);
    if (Spec::arrangement == kWeightsRows) {
      if (column < Index(Cg * taps)) {
        const int k = int(column);
        const int tap = Spec::order == kTapMajor ? k / Cg : k % taps;
        const int c = Spec::order == kTapMajor ? k % Cg : k / taps;
        value = w[row * Index(Cg * taps) + Index(c * taps + tap)];
      }
    } else if (column < Cog) {
      const Index c = row % Index(Cg), tap = (row / Index(Cg)) % Index(taps), g = row / Index(Cg * taps);
      value = w[(g * Cog + column) * Index(Cg * taps) + c * Index(taps) + tap];
    }
    out[e] = value;
  }
}

}  // namespace dcn
