// Where the fused kernels sample: the point of (pixel n of the call, tap t, offset group og), its corners
// and weights (templates/sampling.cuh, the one implementation of the contract in docs/semantics.md),
// and the sampled value of one channel. The forward and weight-gradient kernels compute their B operand
// from it; the data-gradient kernels scatter through it and form the coordinate gradients.
#pragma once

#include "algorithms/fused/fused_params.cuh"
#include "algorithms/fused/fused_spec.cuh"
#include "templates/sampling.cuh"

namespace dcn {

template <class Spec>
struct SamplePoint {
  using Index = typename Spec::index;
  using Compute = typename Spec::compute;
  TapSample<Compute, Index> s;  // corners as x element offsets within one channel plane; zero weights
                                // and offset 0 where the point contributes nothing
  Compute modulation;           // the mask value (1 without a mask)
  Index image, pixel;           // pixel within the image
  Index offset_y_at, offset_x_at, mask_at;  // element indices of the point's dy, dx and mask value
  bool inside;                  // the point contributes at all
};

// Element index of (image, channel k, pixel) of an activation tensor with these strides.
template <class Spec>
DCN_DEVICE typename Spec::index activation_index(const ActivationStrides& s, typename Spec::index image,
                                                 typename Spec::index channel, typename Spec::index pixel) {
  using Index = typename Spec::index;
  using L = typename Spec::layout;
  return image * Index(s.image) + channel * L::template channel_stride<Index>(s.channel) +
         pixel * L::template pixel_stride<Index>(s.pixel);
}

// The sample point of pixel n (numbered across images), tap t and offset group og.
template <class Spec>
DCN_DEVICE void locate_point(const FusedParams& p, typename Spec::index n, int tap, typename Spec::index og,
                             SamplePoint<Spec>& out) {
  using Index = typename Spec::index;
  using Compute = typename Spec::compute;
  using T = typename Spec::storage;
  const Index P = Index(p.Ho) * Index(p.Wo);
  out.image = n / P;
  out.pixel = n - out.image * P;
  const Index dy_channel = og * Index(2 * Spec::taps) + Index(2 * tap);
  out.offset_y_at = activation_index<Spec>(p.offset_strides, out.image, dy_channel, out.pixel);
  out.offset_x_at = activation_index<Spec>(p.offset_strides, out.image, dy_channel + 1, out.pixel);
  out.mask_at = activation_index<Spec>(p.mask_strides, out.image, og * Index(Spec::taps) + Index(tap), out.pixel);
  const T* __restrict__ offset = static_cast<const T*>(p.offset);
  const Index ho = out.pixel / Index(p.Wo), wo = out.pixel - ho * Index(p.Wo);
  const int i = tap / Spec::kw, j = tap - i * Spec::kw;
  // The same sums as the im2col family and the cpu backend (exact integer part, then the offset).
  const Compute py = Compute(ho * Index(Spec::stride_h) - Index(p.pad_h) + Index(i * Spec::dilation_h)) +
                     Compute(widen(offset[out.offset_y_at]));
  const Compute px = Compute(wo * Index(Spec::stride_w) - Index(p.pad_w) + Index(j * Spec::dilation_w)) +
                     Compute(widen(offset[out.offset_x_at]));
  out.modulation = Spec::has_mask ? Compute(widen(static_cast<const T*>(p.mask)[out.mask_at])) : Compute(1);
  out.inside = sample_tap<Spec::boundary>(py, px, int(p.H), int(p.W), out.s);
  using L = typename Spec::layout;
  const Index pixel_stride = L::template pixel_stride<Index>(p.x_strides.pixel);
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    out.s.idx[k] = out.inside ? out.s.idx[k] * pixel_stride : Index(0);
    out.s.w[k] = out.inside ? out.s.w[k] : Compute(0);
    out.s.wy[k] = out.inside ? out.s.wy[k] : Compute(0);
    out.s.wx[k] = out.inside ? out.s.wx[k] : Compute(0);
    out.s.reads[k] = out.inside && out.s.reads[k];
  }
  out.s.value_reads = out.inside && out.s.value_reads;
}

// The four corners of the channel plane starting at `plane`: always loaded (offset 0 for a corner that
// does not count, so every load is in bounds), then selected, so a corner outside the image is exactly
// 0 whatever that element holds (docs/semantics.md).
template <class Spec, typename T>
DCN_DEVICE void load_corners(const T* __restrict__ x, typename Spec::index plane, const SamplePoint<Spec>& point,
                             typename Spec::compute (&v)[4]) {
  using Compute = typename Spec::compute;
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    const Compute loaded = Compute(widen(x[plane + point.s.idx[k]]));
    v[k] = point.s.reads[k] ? loaded : Compute(0);
  }
}

// m * sample(x[image, channel]): the im2col family's column value, to the bit.
template <class Spec, typename T>
DCN_DEVICE typename Spec::compute sampled_value(const T* __restrict__ x, typename Spec::index plane,
                                                const SamplePoint<Spec>& point) {
  using Compute = typename Spec::compute;
  Compute v[4];
  load_corners<Spec>(x, plane, point, v);
  const TapSample<Compute, typename Spec::index>& s = point.s;
  const Compute value = s.value_reads ? s.w[0] * v[0] + s.w[1] * v[1] + s.w[2] * v[2] + s.w[3] * v[3] : Compute(0);
  return point.modulation * value;
}

}  // namespace dcn
