// The backward sampling kernels. For every work item (b, g, t, p) and every channel c of group g,
// with dc = dcol[b, c*taps + t, p] and m the mask value:
//
//   col2im        grad_x[b, c, corner k] += m * w_k * dc                   (atomic scatter, f32)
//   coord         grad_offset[b, g, t, dy/dx, p] = m * sum_c dc * d sample/d py|px
//                 grad_mask[b, g, t, p]          =     sum_c dc * sample
//   col2im_coord  both, reading dcol and the sample weights once
//
// The coordinate sums belong to one item, so grad_offset and grad_mask are written exactly once,
// without atomics. A null grad_x_accum, grad_offset or grad_mask skips that output (runtime test,
// uniform across the grid).
//
// Non-finite inputs follow torchvision's formula in IEEE arithmetic (docs/semantics.md): a point that
// reads nothing still adds dc * 0 (NaN for a NaN or Inf dc), corners outside the image read as 0, and
// grad_offset is sum_c (m * d sample) * dc. m * sum_c has the same NaN and Inf positions for a finite m;
// an infinite m multiplies each channel's term instead.
#pragma once

#include "templates/tap_geometry.cuh"

namespace dcn {

template <class Spec, bool kScatterGradX, bool kCoordinateGrads>
DCN_DEVICE void deform_backward_sampling(const Params& p) {
  using Index = typename Spec::index;
  using T = typename Spec::storage;
  const T* __restrict__ x = static_cast<const T*>(p.x);
  const T* __restrict__ grad_columns = static_cast<const T*>(p.grad_columns);
  float* __restrict__ grad_x = p.grad_x_accum;
  T* __restrict__ grad_offset = static_cast<T*>(p.grad_offset);
  T* __restrict__ grad_mask = static_cast<T*>(p.grad_mask);
  const bool scatter = kScatterGradX && grad_x != nullptr;
  const int H = int(p.H), W = int(p.W);
  const Index pixels = Index(p.Ho) * Index(p.Wo);

  for_each_item<Spec>(work_items<Spec>(p), [&](Index item, bool valid) {
    // Out-of-range lanes keep going (valid == false) so warp-aggregated atomics see all 32 lanes.
    const TapPoint<Index> at = valid ? locate_tap<Spec>(p, item) : TapPoint<Index>{};
    TapSample<float, Index> s;
    const bool inside = valid && sample_tap<Spec::boundary>(at.py, at.px, H, W, s);
    float grad_py = 0.0f, grad_px = 0.0f, grad_m = 0.0f;
    const bool finite_m = is_finite(at.modulation);
    const float term_m = finite_m ? 1.0f : at.modulation;  // m inside each channel's term, or outside the sum
    const Index first_channel = at.group * Index(Spec::channels_per_group);
    // Walk the group's channels by index increments (no per-channel 64-bit products).
    Index plane = plane_at<Spec>(p, at.image, first_channel);
    Index column = column_at<Spec>(p, at, first_channel);
    const Index plane_step = Index(p.H) * Index(p.W), column_step = Index(Spec::taps) * pixels;
#pragma unroll Spec::channel_unroll
    for (int c = 0; c < Spec::channels_per_group; ++c) {
      const float dc = valid ? to_float(grad_columns[column]) : 0.0f;
      if (kCoordinateGrads) {
        float d_py = 0.0f, d_px = 0.0f, value = 0.0f;  // d sample/d py, d sample/d px, sample
        if (inside) {
          float corner[4];
#pragma unroll
          for (int k = 0; k < 4; ++k) corner[k] = s.reads[k] ? to_float(x[plane + s.idx[k]]) : 0.0f;
          d_py = s.wy[0] * corner[0] + s.wy[1] * corner[1] + s.wy[2] * corner[2] + s.wy[3] * corner[3];
          d_px = s.wx[0] * corner[0] + s.wx[1] * corner[1] + s.wx[2] * corner[2] + s.wx[3] * corner[3];
          if (s.value_reads)
            value = s.w[0] * corner[0] + s.w[1] * corner[1] + s.w[2] * corner[2] + s.w[3] * corner[3];
        }
        grad_py += (term_m * d_py) * dc;
        grad_px += (term_m * d_px) * dc;
        grad_m += dc * value;
      }
      if (scatter) {
        const float scaled = at.modulation * dc;
#pragma unroll
        for (int k = 0; k < 4; ++k) {
          // Zero-weight corners (outside the image, or exactly on a cell border) are skipped: they
          // would add nothing, or NaN * 0 from a non-finite dcol, to an unrelated element.
          const bool contributes = inside && s.w[k] != 0.0f;
          scatter_add<Spec::atomic>(grad_x, plane + (contributes ? s.idx[k] : Index(0)), scaled * s.w[k],
                                    contributes);
        }
      }
      plane += plane_step;
      column += column_step;
    }
    if (!kCoordinateGrads || !valid) return;
    if (grad_offset != nullptr) {
      const float outer_m = finite_m ? at.modulation : 1.0f;
      grad_offset[at.offset_y_at] = store_as<T>(outer_m * grad_py);
      grad_offset[at.offset_y_at + pixels] = store_as<T>(outer_m * grad_px);
    }
    if (Spec::has_mask && grad_mask != nullptr) grad_mask[at.mask_at] = store_as<T>(grad_m);
  });
}

template <class Spec>
DCN_DEVICE void deform_col2im(const Params& p) { deform_backward_sampling<Spec, true, false>(p); }

template <class Spec>
DCN_DEVICE void deform_coord(const Params& p) { deform_backward_sampling<Spec, false, true>(p); }

template <class Spec>
DCN_DEVICE void deform_col2im_coord(const Params& p) { deform_backward_sampling<Spec, true, true>(p); }

}  // namespace dcn
