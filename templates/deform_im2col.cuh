// Deformable im2col: columns[b, c*taps + t, p] = m * sample(x[b, c], py, px) for every channel c,
// tap t and output pixel p of the chunk (design.md section 1). The forward GEMM then multiplies the
// weights [Co, C/groups * taps] by these columns, one strided batch over the chunk's images.
#pragma once

#include "templates/tap_geometry.cuh"

namespace dcn {

template <class Spec>
DCN_DEVICE void deform_im2col(const Params& p) {
  using Index = typename Spec::index;
  using T = typename Spec::storage;
  const T* __restrict__ x = static_cast<const T*>(p.x);
  T* __restrict__ columns = static_cast<T*>(p.columns);
  const int H = int(p.H), W = int(p.W);

  for_each_item<Spec>(work_items<Spec>(p), [&](Index item, bool valid) {
    if (!valid) return;
    const TapPoint<Index> at = locate_tap<Spec>(p, item);
    TapSample<float, Index> s;
    // A point that reads nothing has value 0 (docs/semantics.md); m * 0 still carries a NaN or Inf mask.
    const bool reads = sample_tap<Spec::boundary>(at.py, at.px, H, W, s) && s.value_reads;
    const Index first_channel = at.group * Index(Spec::channels_per_group);
    // Walk the group's channels by pointer/index increments (no per-channel 64-bit products).
    const T* __restrict__ plane = x + plane_at<Spec>(p, at.image, first_channel);
    Index column = column_at<Spec>(p, at, first_channel);
    const Index plane_step = Index(p.H) * Index(p.W), column_step = Index(Spec::taps) * Index(p.Ho) * Index(p.Wo);
#pragma unroll Spec::channel_unroll
    for (int c = 0; c < Spec::channels_per_group; ++c) {
      float value = 0.0f;
      if (reads) {
        // Corners outside the image are 0, not read: a zero weight times a NaN there would be NaN.
        float corner[4];
#pragma unroll
        for (int k = 0; k < 4; ++k) corner[k] = s.reads[k] ? to_float(plane[s.idx[k]]) : 0.0f;
        value = s.w[0] * corner[0] + s.w[1] * corner[1] + s.w[2] * corner[2] + s.w[3] * corner[3];
      }
      columns[column] = store_as<T>(at.modulation * value);
      plane += plane_step;
      column += column_step;
    }
  });
}

}  // namespace dcn
