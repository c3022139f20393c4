// The fixed-order reductions of the fused backward (no atomics: the results are bit-identical run to
// run and under any thread order):
//   fused_weight_reduce  grad_W[o, c, t] = sum over splits s = 0, 1, ... of weight_partials[s][o][k'(c, t)],
//                        rounded once; read along k' (the partials' order: coalesced, `split` times),
//                        written in the weights' order (strided by `taps` in tap-major order, once)
//   fused_coord_reduce   per (image, offset group, tap, pixel): S_k and Z summed over the channel chunks'
//                        slots in order, then grad_offset = m * (wy . S, wx . S) and grad_mask = w . S,
//                        the im2col family's factored formulas (deform_col2im_coord.cuh explains them).
// When a mask, a corner sum or Z is not finite (never for finite inputs), the item's sums are redone
// channel by channel in torchvision's order and IEEE arithmetic (docs/semantics.md), recomputing each
// channel's dcol from W and grad_y (the fused backward never stores dcol).
#pragma once

#include "algorithms/fused/fused_sampling.cuh"

namespace dcn {

// A grid-stride launch over `total` elements (any block size).
#define DCN_FOR_EACH_ELEMENT(Index, e, total)                                                     \
  for (Index e = Index(blockIdx.x) * Index(blockDim.x) + Index(threadIdx.x); e < Index(total); \
       e += Index(gridDim.x) * Index(blockDim.x))

template <class Spec>
DCN_DEVICE void fused_weight_reduce(const FusedParams& p) {
  using Index = typename Spec::index;
  using T = typename Spec::storage;
  const Index count = Index(p.Co) * Index(Spec::reduction);
  const float* __restrict__ partials = static_cast<const float*>(p.weight_partials);
  DCN_FOR_EACH_ELEMENT(Index, e, count) {  // e = o * reduction + k'
    float sum = 0.0f;
    for (Index s = 0; s < Index(p.split); ++s) sum += partials[s * count + e];
    const Index row = e / Index(Spec::reduction) * Index(Spec::reduction);
    int channel, tap;
    split_reduction_index<Spec>(int(e - row), channel, tap);
    static_cast<T*>(p.grad_weight)[row + Index(channel * Spec::taps + tap)] = store_as<T>(sum);
  }
}

// dcol of (image, channel c, tap, pixel) from W and grad_y, in ascending output channel.
template <class Spec>
DCN_DEVICE float recomputed_dcol(const FusedParams& p, typename Spec::index image, typename Spec::index pixel,
                                 typename Spec::index c, int tap) {
  using Index = typename Spec::index;
  using T = typename Spec::storage;
  const Index groups = Index(p.C / Spec::conv_group_channels), group_outputs = Index(p.Co) / groups;
  const Index group = c / Index(Spec::conv_group_channels), local = c - group * Index(Spec::conv_group_channels);
  const T* __restrict__ w = static_cast<const T*>(p.weight);
  const T* __restrict__ grad_y = static_cast<const T*>(p.grad_y);
  float sum = 0.0f;
  for (Index o = group * group_outputs; o < (group + 1) * group_outputs; ++o)
    sum += float(widen(w[o * Index(Spec::reduction) + local * Index(Spec::taps) + Index(tap)])) *
           float(widen(grad_y[activation_index<Spec>(p.y_strides, image, o, pixel)]));
  return sum;
}

template <class Spec>
DCN_DEVICE_NOINLINE void exact_coordinates(const FusedParams& p, const SamplePoint<Spec>& point,
                                           typename Spec::index og, int tap, float& grad_py, float& grad_px,
                                           float& grad_m) {
  using Index = typename Spec::index;
  using T = typename Spec::storage;
  const T* __restrict__ x = static_cast<const T*>(p.x);
  const float m = point.modulation;
  const bool finite_m = is_finite(m);
  const float term_m = finite_m ? 1.0f : m;  // m inside each channel's term, or outside the sum
  grad_py = grad_px = grad_m = 0.0f;
  for (int c = 0; c < Spec::offset_group_channels; ++c) {
    const Index channel = og * Index(Spec::offset_group_channels) + Index(c);
    const float dc = recomputed_dcol<Spec>(p, point.image, point.pixel, channel, tap);
    float v[4];
    load_corners<Spec>(x, activation_index<Spec>(p.x_strides, point.image, channel, Index(0)), point, v);
    const TapSample<float, Index>& s = point.s;
    const float d_py = s.wy[0] * v[0] + s.wy[1] * v[1] + s.wy[2] * v[2] + s.wy[3] * v[3];
    const float d_px = s.wx[0] * v[0] + s.wx[1] * v[1] + s.wx[2] * v[2] + s.wx[3] * v[3];
    const float value = s.value_reads ? s.w[0] * v[0] + s.w[1] * v[1] + s.w[2] * v[2] + s.w[3] * v[3] : 0.0f;
    grad_py += (term_m * d_py) * dc;
    grad_px += (term_m * d_px) * dc;
    grad_m += dc * value;
  }
  if (finite_m) {
    grad_py *= m;
    grad_px *= m;
  }
}

template <class Spec>
DCN_DEVICE void fused_coord_reduce(const FusedParams& p) {
  using Index = typename Spec::index;
  using T = typename Spec::storage;
  const Index P = Index(p.Ho) * Index(p.Wo);
  const Index items = Index(p.N) * Index(p.offset_groups) * Index(Spec::taps) * P;
  const Index slot_stride = items * Index(5);
  const float* __restrict__ partials = static_cast<const float*>(p.coord_partials);
  DCN_FOR_EACH_ELEMENT(Index, item, items) {
    const Index pixel = item % P;
    Index rest = item / P;
    const int tap = int(rest % Index(Spec::taps));
    rest /= Index(Spec::taps);
    const Index og = rest % Index(p.offset_groups), image = rest / Index(p.offset_groups);
    const Index base = (item - pixel) * Index(5) + pixel;  // [image][og][tap] block, component 0
    float v[5] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    for (Index slot = 0; slot < Index(p.chunks_per_offset_group); ++slot)
#pragma unroll
      for (int q = 0; q < 5; ++q) v[q] += partials[slot * slot_stride + base + Index(q) * P];
    SamplePoint<Spec> point;
    locate_point<Spec>(p, image * P + pixel, tap, og, point);
    const TapSample<float, Index>& s = point.s;
    const float m = point.modulation;
    float grad_py, grad_px, grad_m;
    if (is_finite(m) && is_finite(v[0]) && is_finite(v[1]) && is_finite(v[2]) && is_finite(v[3]) &&
        is_finite(v[4])) {
      grad_py = m * (s.wy[0] * v[0] + s.wy[1] * v[1] + s.wy[2] * v[2] + s.wy[3] * v[3]);
      grad_px = m * (s.wx[0] * v[0] + s.wx[1] * v[1] + s.wx[2] * v[2] + s.wx[3] * v[3]);
      grad_m = s.value_reads ? s.w[0] * v[0] + s.w[1] * v[1] + s.w[2] * v[2] + s.w[3] * v[3] : 0.0f;
    } else {
      exact_coordinates<Spec>(p, point, og, tap, grad_py, grad_px, grad_m);
    }
    if (p.grad_offset != nullptr) {
      static_cast<T*>(p.grad_offset)[point.offset_y_at] = store_as<T>(grad_py);
      static_cast<T*>(p.grad_offset)[point.offset_x_at] = store_as<T>(grad_px);
    }
    if (Spec::has_mask && p.grad_mask != nullptr) static_cast<T*>(p.grad_mask)[point.mask_at] = store_as<T>(grad_m);
  }
}

#undef DCN_FOR_EACH_ELEMENT

}  // namespace dcn
