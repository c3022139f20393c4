#include "runtime/cpu/dcn_cpu_kernels.h"

#include <algorithm>
#include <cstdint>

#include "templates/sampling.cuh"

namespace dcnjit::cpu {

ConvGeometry ConvGeometry::of(const Problem& p) {
  ConvGeometry g;
  g.C = p.C;
  g.H = p.H;
  g.W = p.W;
  g.Co = p.Co;
  g.Ho = p.Ho();
  g.Wo = p.Wo();
  g.P = g.Ho * g.Wo;
  g.K = p.taps();
  g.kh = p.kh;
  g.kw = p.kw;
  g.stride_h = p.stride_h;
  g.stride_w = p.stride_w;
  g.pad_h = p.pad_h;
  g.pad_w = p.pad_w;
  g.dilation_h = p.dilation_h;
  g.dilation_w = p.dilation_w;
  g.groups = p.groups;
  g.offset_groups = p.offset_groups;
  g.channels_per_group = p.C / p.groups;
  g.outputs_per_group = p.Co / p.groups;
  g.channels_per_offset_group = p.C / p.offset_groups;
  g.boundary = p.boundary;
  g.mask = p.mask;
  return g;
}

namespace {

// Output pixels whose samples are computed together and then used by every channel of a block: small
// enough that the samples (about 6 KB in double) stay in L1 next to the planes being gathered.
constexpr int kTile = 64;

// The samples of one tap for up to kTile consecutive output pixels, as structure-of-arrays.
// Corner indices are 64-bit: a plane may exceed 2^31 elements, and x86-64 addressing wants 64-bit
// offsets anyway.
template <typename T>
struct TileSamples {
  int64_t idx[4][kTile];
  T w[4][kTile];   // bilinear weights
  T wy[4][kTile];  // d w / d py (filled only when derivatives are requested)
  T wx[4][kTile];  // d w / d px
  T m[kTile];      // modulation (1 without a mask)
};

// Samples tap t of offset group og for output pixels [p_first, p_first + n) of one image.
template <int kBoundary, bool kDerivatives, typename T>
void sample_tile(const ConvGeometry& g, const ImageInputs<T>& in, int64_t og, int64_t t, int64_t p_first, int n,
                 TileSamples<T>& s) {
  const int64_t i = t / g.kw, j = t % g.kw;
  const T* off_y = in.offset + (og * 2 * g.K + 2 * t) * g.P + p_first;
  const T* off_x = off_y + g.P;
  const T* mask = in.mask ? in.mask + (og * g.K + t) * g.P + p_first : nullptr;
  int64_t ho = p_first / g.Wo, wo = p_first - ho * g.Wo;
  const int H = int(g.H), W = int(g.W);  // Problem::validate bounds H, W by 2^30
  for (int q = 0; q < n; ++q) {
    const T py = T(ho * g.stride_h - g.pad_h + i * g.dilation_h) + off_y[q];
    const T px = T(wo * g.stride_w - g.pad_w + j * g.dilation_w) + off_x[q];
    dcn::TapSample<T, int64_t> ts;
    if (dcn::sample_tap<kBoundary>(py, px, H, W, ts)) {
      for (int k = 0; k < 4; ++k) {
        s.idx[k][q] = ts.idx[k];
        s.w[k][q] = ts.w[k];
        if constexpr (kDerivatives) {
          s.wy[k][q] = ts.wy[k];
          s.wx[k][q] = ts.wx[k];
        }
      }
    } else {
      // No contribution (outside, NaN, Inf, huge): zero weights on index 0 keep the channel loops
      // branch-free and in bounds.
      for (int k = 0; k < 4; ++k) {
        s.idx[k][q] = 0;
        s.w[k][q] = T(0);
        if constexpr (kDerivatives) {
          s.wy[k][q] = T(0);
          s.wx[k][q] = T(0);
        }
      }
    }
    s.m[q] = mask ? mask[q] : T(1);
    if (++wo == g.Wo) {
      wo = 0;
      ++ho;
    }
  }
}

// The one pass over a block that every sampling step is an instance of:
//   kColumns: col[c][t][q] = m * sum_k w_k x_c[idx_k]                      (im2col)
//   kGradX:   grad_x_c[idx_k] += m * w_k * dcol[c][t][q]                   (col2im)
//   kCoord:   partial sums over the block's channels of the coordinate gradients, using
//               sum_c dcol_c * sum_k w_k x_c[idx_k] = sum_k w_k * S_k,  S_k = sum_c dcol_c x_c[idx_k]
//             (likewise with wy, wx), so the channel loop only accumulates the four S_k and the three
//             4-term dot products happen once per sample.
// Loop order: tap, pixel tile, pixel, channel. With the channel innermost, a sample's corner indices and
// weights stay in registers while every channel of the block uses them; the planes (gathers, scatters)
// and column rows touched per pixel are a few cache lines each, reused by the neighbouring pixels, so they
// stay in L1.
template <int kBoundary, bool kColumns, bool kGradX, bool kCoord, typename T>
void block_pass(const ConvGeometry& g, const ImageInputs<T>& in, const BlockRange& r, T* col, const T* dcol, T* grad_x,
                T* partial) {
  constexpr bool kReadsDcol = kGradX || kCoord;
  constexpr bool kReadsX = kColumns || kCoord;
  TileSamples<T> s;
  const int64_t plane = g.H * g.W, row_stride = g.K * r.tw, channels = r.c_end - r.c_begin;
  for (int64_t t = 0; t < g.K; ++t) {
    const int64_t first_row = (r.c_begin * g.K + t) * r.tw;  // of the block's first channel, in col/dcol
    for (int64_t pt = 0; pt < r.tw; pt += kTile) {
      const int n = int(std::min<int64_t>(kTile, r.tw - pt));
      sample_tile<kBoundary, kCoord>(g, in, r.og, t, r.p0 + pt, n, s);
      const T* __restrict x_block = in.x + r.c_begin * plane;
      T* __restrict grad_x_block = kGradX ? grad_x + r.c_begin * plane : nullptr;
      const T* __restrict dcol_block = kReadsDcol ? dcol + first_row + pt : nullptr;
      T* __restrict col_block = kColumns ? col + first_row + pt : nullptr;
      for (int q = 0; q < n; ++q) {
        const int64_t i0 = s.idx[0][q], i1 = s.idx[1][q], i2 = s.idx[2][q], i3 = s.idx[3][q];
        const T m = s.m[q];
        const T wm0 = s.w[0][q] * m, wm1 = s.w[1][q] * m, wm2 = s.w[2][q] * m, wm3 = s.w[3][q] * m;
        T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int64_t at_plane = 0, at_row = q;  // the current channel's plane offset and column element
        for (int64_t c = 0; c < channels; ++c, at_plane += plane, at_row += row_stride) {
          T x0 = 0, x1 = 0, x2 = 0, x3 = 0;
          if constexpr (kReadsX) {
            const T* xc = x_block + at_plane;
            x0 = xc[i0];
            x1 = xc[i1];
            x2 = xc[i2];
            x3 = xc[i3];
          }
          if constexpr (kColumns) col_block[at_row] = wm0 * x0 + wm1 * x1 + wm2 * x2 + wm3 * x3;
          if constexpr (kReadsDcol) {
            const T grad = dcol_block[at_row];
            if constexpr (kCoord) {
              s0 += grad * x0;
              s1 += grad * x1;
              s2 += grad * x2;
              s3 += grad * x3;
            }
            if constexpr (kGradX) {
              T* gx = grad_x_block + at_plane;
              gx[i0] += wm0 * grad;
              gx[i1] += wm1 * grad;
              gx[i2] += wm2 * grad;
              gx[i3] += wm3 * grad;
            }
          }
        }
        if constexpr (kCoord) {
          T* row = partial + t * 3 * r.tw + pt + q;
          row[0] = s.wy[0][q] * s0 + s.wy[1][q] * s1 + s.wy[2][q] * s2 + s.wy[3][q] * s3;
          row[r.tw] = s.wx[0][q] * s0 + s.wx[1][q] * s1 + s.wx[2][q] * s2 + s.wx[3][q] * s3;
          row[2 * r.tw] = s.w[0][q] * s0 + s.w[1][q] * s1 + s.w[2][q] * s2 + s.w[3][q] * s3;
        }
      }
    }
  }
}

template <bool kColumns, bool kGradX, bool kCoord, typename T>
void run_block_pass(const ConvGeometry& g, const ImageInputs<T>& in, const BlockRange& r, T* col, const T* dcol,
                    T* grad_x, T* partial) {
  if (g.boundary == Boundary::v2)
    block_pass<dcn::kBoundaryV2, kColumns, kGradX, kCoord>(g, in, r, col, dcol, grad_x, partial);
  else
    block_pass<dcn::kBoundaryV1, kColumns, kGradX, kCoord>(g, in, r, col, dcol, grad_x, partial);
}

// Turns the three runtime choices into template flags (the "nothing requested" case does nothing).
template <bool kColumns, typename T>
void run_backward_block_pass(const ConvGeometry& g, const ImageInputs<T>& in, const BlockRange& r, T* col,
                             const T* dcol, T* grad_x, T* partial) {
  if (grad_x && partial)
    run_block_pass<kColumns, true, true>(g, in, r, col, dcol, grad_x, partial);
  else if (grad_x)
    run_block_pass<kColumns, true, false>(g, in, r, col, dcol, grad_x, partial);
  else if (partial)
    run_block_pass<kColumns, false, true>(g, in, r, col, dcol, grad_x, partial);
  else if (kColumns)
    run_block_pass<kColumns, false, false>(g, in, r, col, dcol, grad_x, partial);
}


// Per pixel and tap, one sample per offset group; its channels split into runs at conv-group borders,
// each run a contiguous span of both the channels-last x rows and the column row.
template <int kBoundary, typename T>
void pixel_major_rows(const ConvGeometry& g, const ImageInputs<T>& in, int64_t p_row0, int64_t p_begin,
                      int64_t p_end, T* col) {
  const int64_t row_length = g.C * g.K, cg = g.channels_per_group, cpog = g.channels_per_offset_group;
  const int H = int(g.H), W = int(g.W);
  int64_t ho = p_begin / g.Wo, wo = p_begin - ho * g.Wo;
  for (int64_t p = p_begin; p < p_end; ++p) {
    T* const row = col + (p - p_row0) * row_length;
    for (int64_t t = 0; t < g.K; ++t) {
      const int64_t i = t / g.kw, j = t % g.kw;
      const T base_y = T(ho * g.stride_h - g.pad_h + i * g.dilation_h);
      const T base_x = T(wo * g.stride_w - g.pad_w + j * g.dilation_w);
      for (int64_t og = 0; og < g.offset_groups; ++og) {
        const T* off = in.offset + (og * 2 * g.K + 2 * t) * g.P + p;
        const T m = in.mask ? in.mask[(og * g.K + t) * g.P + p] : T(1);
        dcn::TapSample<T, int64_t> ts;
        if (!dcn::sample_tap<kBoundary>(base_y + off[0], base_x + off[g.P], H, W, ts)) {
          // No contribution (outside, NaN, Inf, huge): zero weights on index 0, as im2col_block.
          for (int k = 0; k < 4; ++k) ts.idx[k] = 0, ts.w[k] = T(0);
        }
        const T wm0 = ts.w[0] * m, wm1 = ts.w[1] * m, wm2 = ts.w[2] * m, wm3 = ts.w[3] * m;
        for (int64_t c = og * cpog, c_end = c + cpog; c < c_end;) {
          const int64_t grp = c / cg, run_end = std::min(c_end, (grp + 1) * cg);
          const T* __restrict x0 = in.x + ts.idx[0] * g.C + c;
          const T* __restrict x1 = in.x + ts.idx[1] * g.C + c;
          const T* __restrict x2 = in.x + ts.idx[2] * g.C + c;
          const T* __restrict x3 = in.x + ts.idx[3] * g.C + c;
          T* __restrict out = row + grp * g.K * cg + t * cg + (c - grp * cg);
          // The scalar im2col's expression, element for element (the backend builds without FMA
          // contraction), so both column layouts hold the same values.
          for (int64_t e = 0, n = run_end - c; e < n; ++e) out[e] = wm0 * x0[e] + wm1 * x1[e] + wm2 * x2[e] + wm3 * x3[e];
          c = run_end;
        }
      }
    }
    if (++wo == g.Wo) {
      wo = 0;
      ++ho;
    }
  }
}

}  // namespace

template <typename T>
void to_channels_last(const ConvGeometry& g, const T* x, T* x_channels_last) {
  // Blocks of 16 pixels: each channel's 16 values are one cache line read, and the block's 16
  // destination rows (16 * C elements) stay in L1 while every channel is written into them.
  constexpr int64_t kPixels = 16;
  const int64_t plane = g.H * g.W;
  for (int64_t p0 = 0; p0 < plane; p0 += kPixels) {
    const int64_t n = std::min(kPixels, plane - p0);
    for (int64_t c = 0; c < g.C; ++c) {
      const T* in = x + c * plane + p0;
      T* out = x_channels_last + p0 * g.C + c;
      for (int64_t e = 0; e < n; ++e) out[e * g.C] = in[e];
    }
  }
}

template <typename T>
void weight_taps_major(const ConvGeometry& g, const T* weight, T* permuted) {
  const int64_t cg = g.channels_per_group;
  for (int64_t o = 0; o < g.Co; ++o)
    for (int64_t c = 0; c < cg; ++c)
      for (int64_t t = 0; t < g.K; ++t) permuted[(o * g.K + t) * cg + c] = weight[(o * cg + c) * g.K + t];
}

template <typename T>
void im2col_pixel_major(const ConvGeometry& g, const ImageInputs<T>& in, int64_t p_row0, int64_t p_begin,
                        int64_t p_end, T* col) {
  if (g.boundary == Boundary::v2)
    pixel_major_rows<dcn::kBoundaryV2>(g, in, p_row0, p_begin, p_end, col);
  else
    pixel_major_rows<dcn::kBoundaryV1>(g, in, p_row0, p_begin, p_end, col);
}


template <typename T>
void im2col_block(const ConvGeometry& g, const ImageInputs<T>& in, const BlockRange& r, T* col) {
  run_block_pass<true, false, false, T>(g, in, r, col, nullptr, nullptr, nullptr);
}

template <typename T>
void col2im_coord_block(const ConvGeometry& g, const ImageInputs<T>& in, const BlockRange& r, const T* dcol, T* grad_x,
                        T* partial, T* col) {
  if (col)
    run_backward_block_pass<true>(g, in, r, col, dcol, grad_x, partial);
  else
    run_backward_block_pass<false>(g, in, r, col, dcol, grad_x, partial);
}

template <typename T>
void reduce_coord_partials(const ConvGeometry& g, const ImageInputs<T>& in, const BlockRange& r, int64_t blocks,
                           const T* partials, T* grad_offset, T* grad_mask) {
  const int64_t block_stride = g.K * 3 * r.tw;
  for (int64_t t = 0; t < g.K; ++t) {
    const T* first = partials + t * 3 * r.tw;
    const T* mask = in.mask ? in.mask + (r.og * g.K + t) * g.P + r.p0 : nullptr;
    T* dy = grad_offset ? grad_offset + (r.og * 2 * g.K + 2 * t) * g.P + r.p0 : nullptr;
    T* dx = grad_offset ? dy + g.P : nullptr;
    T* dm = grad_mask ? grad_mask + (r.og * g.K + t) * g.P + r.p0 : nullptr;
    for (int64_t q = 0; q < r.tw; ++q) {
      T sum_dy = 0, sum_dx = 0, sum_value = 0;
      for (int64_t b = 0; b < blocks; ++b) {
        const T* row = first + b * block_stride;
        sum_dy += row[q];
        sum_dx += row[r.tw + q];
        sum_value += row[2 * r.tw + q];
      }
      // d y / d offset carries the modulation factor; d y / d mask is the unmodulated sample.
      const T m = mask ? mask[q] : T(1);
      if (dy) {
        dy[q] = m * sum_dy;
        dx[q] = m * sum_dx;
      }
      if (dm) dm[q] = sum_value;
    }
  }
}

#define DCNJIT_INSTANTIATE_KERNELS(T)                                                                                  \
  template void im2col_block<T>(const ConvGeometry&, const ImageInputs<T>&, const BlockRange&, T*);                    \
  template void col2im_coord_block<T>(const ConvGeometry&, const ImageInputs<T>&, const BlockRange&, const T*, T*, T*, \
                                      T*);                                                                             \
  template void reduce_coord_partials<T>(const ConvGeometry&, const ImageInputs<T>&, const BlockRange&, int64_t,       \
                                         const T*, T*, T*);                                                             \
  template void to_channels_last<T>(const ConvGeometry&, const T*, T*);                                                \
  template void weight_taps_major<T>(const ConvGeometry&, const T*, T*);                                               \
  template void im2col_pixel_major<T>(const ConvGeometry&, const ImageInputs<T>&, int64_t, int64_t, int64_t, T*);
DCNJIT_INSTANTIATE_KERNELS(float)
DCNJIT_INSTANTIATE_KERNELS(double)
#undef DCNJIT_INSTANTIATE_KERNELS

}  // namespace dcnjit::cpu
