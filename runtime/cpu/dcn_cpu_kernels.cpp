#include "runtime/cpu/dcn_cpu_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

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

std::vector<ChannelSegment> channel_segments(const ConvGeometry& g, int64_t max_channels) {
  std::vector<ChannelSegment> segments;
  for (int64_t c = 0; c < g.C;) {
    ChannelSegment s;
    s.group = c / g.channels_per_group;
    s.og = c / g.channels_per_offset_group;
    const int64_t end = std::min((s.group + 1) * g.channels_per_group, (s.og + 1) * g.channels_per_offset_group);
    s.c_begin = c;
    s.c_end = std::min(end, c + max_channels);
    segments.push_back(s);
    c = s.c_end;
  }
  return segments;
}

namespace {

// The three channel loops below are built for AVX-512, AVX2 and the x86-64 baseline, and the loader
// picks one per CPU (GCC function multiversioning). The clones do the same arithmetic per element, so
// which one runs never changes a result.
#if defined(__x86_64__) && defined(__GNUC__)
#define DCNJIT_CHANNEL_LOOP_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define DCNJIT_CHANNEL_LOOP_CLONES  // other architectures: one build for the compiler's target
#endif

// One sample of one tap, offset group and pixel, with the modulation folded into the weights. A point
// that contributes nothing (outside, NaN, Inf, huge) gets zero weights on index 0, so the loops that
// read x stay branch-free and in bounds, exactly like the GPU kernels.
//
// Those loops read all four corners and fold m into the weights. For finite values that is the
// contract's formula; for a NaN or Inf in x, the mask or dcol it is not (a zero weight times a NaN at
// index 0 is NaN, m * sum is not sum of m * terms for an infinite m), so the points where the two can
// differ take the exact loops below (docs/semantics.md, non-finite inputs): `plain` says a point needs
// no care, and the coordinate sums are checked after the fact.
template <int kBoundary, bool kDerivatives, typename T>
struct PixelSample {
  dcn::TapSample<T, int64_t> tap;
  T wm[4];  // w * m
  T m;
  bool contributes;
  bool plain;  // reads all four corners for its value and has a finite m: sample_run is exact

  PixelSample(const ConvGeometry& g, const ImageInputs<T>& in, int64_t og, int64_t t, int64_t p, int64_t ho,
              int64_t wo) {
    const int64_t i = t / g.kw, j = t % g.kw;
    const T* off = in.offset + (og * 2 * g.K + 2 * t) * g.P + p;
    const T py = T(ho * g.stride_h - g.pad_h + i * g.dilation_h) + off[0];
    const T px = T(wo * g.stride_w - g.pad_w + j * g.dilation_w) + off[g.P];
    m = in.mask ? in.mask[(og * g.K + t) * g.P + p] : T(1);
    contributes = dcn::sample_tap<kBoundary>(py, px, int(g.H), int(g.W), tap);  // Problem::validate bounds H, W by 2^30
    if (!contributes) {
      for (int k = 0; k < 4; ++k) {
        tap.idx[k] = 0;
        tap.w[k] = T(0);
        if constexpr (kDerivatives) tap.wy[k] = tap.wx[k] = T(0);
        tap.reads[k] = false;
      }
      tap.value_reads = false;
    }
    for (int k = 0; k < 4; ++k) wm[k] = tap.w[k] * m;
    plain = tap.value_reads && tap.reads[0] && tap.reads[1] && tap.reads[2] && tap.reads[3] && std::isfinite(m);
  }
};

// out[e] = sum_k wm[k] * x_k[e] over a run of n channels. Both column writers use this one loop: the
// backend builds without FMA contraction, so forward columns and the backward's recompute match bit
// for bit.
template <typename T>
DCNJIT_CHANNEL_LOOP_CLONES void sample_run(const T* x, int64_t C, const dcn::TapSample<T, int64_t>& tap,
                                           const T (&wm)[4], int64_t n, T* __restrict out) {
  const T* __restrict x0 = x + tap.idx[0] * C;
  const T* __restrict x1 = x + tap.idx[1] * C;
  const T* __restrict x2 = x + tap.idx[2] * C;
  const T* __restrict x3 = x + tap.idx[3] * C;
  for (int64_t e = 0; e < n; ++e) out[e] = wm[0] * x0[e] + wm[1] * x1[e] + wm[2] * x2[e] + wm[3] * x3[e];
}

// sample_run for the points that are not plain: m * (sum of w * x over the corners the value reads),
// corners outside the image being 0 and unread (torchvision's formula). With a finite m the terms are
// (w * m) * x as in sample_run, so finite results round exactly as there.
template <int kBoundary, bool kDerivatives, typename T>
void sample_run_exact(const T* x, int64_t C, const PixelSample<kBoundary, kDerivatives, T>& s, int64_t n,
                      T* __restrict out) {
  const bool finite_m = std::isfinite(s.m);
  std::fill(out, out + n, T(0));
  if (s.tap.value_reads) {
    for (int k = 0; k < 4; ++k) {
      if (!s.tap.reads[k]) continue;
      const T* __restrict xk = x + s.tap.idx[k] * C;
      const T w = finite_m ? s.wm[k] : s.tap.w[k];
      for (int64_t e = 0; e < n; ++e) out[e] += w * xk[e];
    }
  }
  if (!finite_m)
    for (int64_t e = 0; e < n; ++e) out[e] = s.m * out[e];
}

template <int kBoundary, bool kDerivatives, typename T>
void write_samples(const T* x, int64_t C, const PixelSample<kBoundary, kDerivatives, T>& s, int64_t n, T* out) {
  if (s.plain)
    sample_run(x, C, s.tap, s.wm, n, out);
  else
    sample_run_exact(x, C, s, n, out);
}

// The coordinate sums of one point in torchvision's order, for the points where corner_dots' regrouping
// could move a NaN or Inf: per channel, (m * d sample/d py) * dcol with unread corners as 0 (m stays
// outside the sum when finite, see reduce_coord_partials), and dcol * sample.
template <int kBoundary, bool kDerivatives, typename T>
void coordinate_sums_exact(const T* d, const T* x, int64_t C, const PixelSample<kBoundary, kDerivatives, T>& s,
                           int64_t n, T (&out)[3]) {
  const dcn::TapSample<T, int64_t>& k = s.tap;
  const T term_m = std::isfinite(s.m) ? T(1) : s.m;
  T sum_py = 0, sum_px = 0, sum_value = 0;
  for (int64_t e = 0; e < n; ++e) {
    T v[4];
    for (int c = 0; c < 4; ++c) v[c] = k.reads[c] ? x[k.idx[c] * C + e] : T(0);
    const T d_py = k.wy[0] * v[0] + k.wy[1] * v[1] + k.wy[2] * v[2] + k.wy[3] * v[3];
    const T d_px = k.wx[0] * v[0] + k.wx[1] * v[1] + k.wx[2] * v[2] + k.wx[3] * v[3];
    const T value = k.value_reads ? k.w[0] * v[0] + k.w[1] * v[1] + k.w[2] * v[2] + k.w[3] * v[3] : T(0);
    sum_py += (term_m * d_py) * d[e];
    sum_px += (term_m * d_px) * d[e];
    sum_value += d[e] * value;
  }
  out[0] = sum_py;
  out[1] = sum_px;
  out[2] = sum_value;
}

// 32 bytes of T as one GCC vector: 8 floats or 4 doubles. Code written with it compiles to one AVX
// register or two SSE registers per operation, the same arithmetic per lane either way.
template <typename T>
struct Lanes;
template <>
struct Lanes<float> {
  typedef float type __attribute__((vector_size(32)));
};
template <>
struct Lanes<double> {
  typedef double type __attribute__((vector_size(32)));
};

// S[k] += sum_e d[e] * x_k[e] over a run of n channels, in one vector of partial sums per corner
// (explicit lanes: the compiler need not reassociate, and keeps the four accumulators in registers),
// added up in lane order: the result depends on the run, never on the thread count or the ISA clone.
template <typename T>
DCNJIT_CHANNEL_LOOP_CLONES void corner_dots(const T* __restrict d, const T* x, int64_t C,
                                            const dcn::TapSample<T, int64_t>& tap, int64_t n, T (&S)[4]) {
  using V = typename Lanes<T>::type;
  constexpr int kLanes = int(sizeof(V) / sizeof(T));
  const T* __restrict x0 = x + tap.idx[0] * C;
  const T* __restrict x1 = x + tap.idx[1] * C;
  const T* __restrict x2 = x + tap.idx[2] * C;
  const T* __restrict x3 = x + tap.idx[3] * C;
  V a0 = {}, a1 = {}, a2 = {}, a3 = {};
  int64_t e = 0;
  for (; e + kLanes <= n; e += kLanes) {
    V dv, v0, v1, v2, v3;  // unaligned loads (memcpy compiles to one vector move)
    std::memcpy(&dv, d + e, sizeof dv);
    std::memcpy(&v0, x0 + e, sizeof v0);
    std::memcpy(&v1, x1 + e, sizeof v1);
    std::memcpy(&v2, x2 + e, sizeof v2);
    std::memcpy(&v3, x3 + e, sizeof v3);
    a0 += dv * v0;
    a1 += dv * v1;
    a2 += dv * v2;
    a3 += dv * v3;
  }
  for (int l = 0; e < n; ++e, ++l) {
    a0[l] += d[e] * x0[e];
    a1[l] += d[e] * x1[e];
    a2[l] += d[e] * x2[e];
    a3[l] += d[e] * x3[e];
  }
  for (int l = 0; l < kLanes; ++l) {
    S[0] += a0[l];
    S[1] += a1[l];
    S[2] += a2[l];
    S[3] += a3[l];
  }
}

// Whether none of d[0, n) is NaN or Inf.
template <typename T>
DCNJIT_CHANNEL_LOOP_CLONES bool all_finite(const T* __restrict d, int64_t n) {
  bool finite = true;
  for (int64_t e = 0; e < n; ++e) finite &= std::fabs(d[e]) <= std::numeric_limits<T>::max();
  return finite;
}

// grad_x[corner k][e] += wm[k] * d[e], corner by corner: corners may coincide (v1 clamps the last
// row and column), so each corner's loop finishes before the next one reads the same elements. Corners
// of zero weight (outside the image, or on a cell border) are skipped: they add nothing, or NaN from
// 0 * Inf, to an element the contract leaves alone.
template <typename T>
DCNJIT_CHANNEL_LOOP_CLONES void scatter_run(const T* __restrict d, T* grad_x, int64_t C,
                                            const dcn::TapSample<T, int64_t>& tap, const T (&wm)[4], int64_t n) {
  for (int k = 0; k < 4; ++k) {
    if (tap.w[k] == T(0)) continue;
    T* __restrict gx = grad_x + tap.idx[k] * C;
    const T w = wm[k];
    for (int64_t e = 0; e < n; ++e) gx[e] += w * d[e];
  }
}

template <int kBoundary, typename T>
void forward_rows(const ConvGeometry& g, const ImageInputs<T>& in, const ChannelSegment& seg, int64_t p_row0,
                  int64_t p_begin, int64_t p_end, T* rows) {
  const int64_t n = seg.channels(), row_length = g.K * n;
  const T* const x = in.x + seg.c_begin;
  int64_t ho = p_begin / g.Wo, wo = p_begin - ho * g.Wo;
  for (int64_t p = p_begin; p < p_end; ++p) {
    T* const row = rows + (p - p_row0) * row_length;
    for (int64_t t = 0; t < g.K; ++t) {
      const PixelSample<kBoundary, false, T> s(g, in, seg.og, t, p, ho, wo);
      write_samples(x, g.C, s, n, row + t * n);
    }
    if (++wo == g.Wo) {
      wo = 0;
      ++ho;
    }
  }
}

// The backward pass over one segment; each flag turns one of its three outputs on.
template <int kBoundary, bool kGradX, bool kCoord, bool kColumns, typename T>
void backward_rows(const ConvGeometry& g, const ImageInputs<T>& in, const ChannelSegment& seg, int64_t p0, int64_t tw,
                   const T* dcol, T* grad_x, T* partial, T* rows) {
  const int64_t n = seg.channels(), row_length = g.K * n;
  const T* const x = in.x + seg.c_begin;
  int64_t ho = p0 / g.Wo, wo = p0 - ho * g.Wo;
  for (int64_t q = 0; q < tw; ++q) {
    const int64_t p = p0 + q;
    for (int64_t t = 0; t < g.K; ++t) {
      const PixelSample<kBoundary, kCoord, T> s(g, in, seg.og, t, p, ho, wo);
      const T* const d = dcol + q * row_length + t * n;
      if constexpr (kColumns) write_samples(x, g.C, s, n, rows + q * row_length + t * n);
      if constexpr (kCoord) {
        T* out = partial + t * 3 * tw + q;
        T S[4] = {T(0), T(0), T(0), T(0)};  // sum over the segment's channels of dcol * x[corner k]
        if (s.contributes) corner_dots(d, x, g.C, s.tap, n, S);
        // Finite sums mean finite dcol and corners: the regrouped sums are then the contract's.
        const bool regrouped = s.contributes && std::isfinite(s.m) && std::isfinite(S[0]) && std::isfinite(S[1]) &&
                               std::isfinite(S[2]) && std::isfinite(S[3]);
        if (!s.contributes) {
          // Nothing read: each channel adds (m * 0) * dcol and dcol * 0, so 0 unless m or a dcol is NaN or Inf.
          const bool finite_dcol = all_finite(d, n);
          const T nan = std::numeric_limits<T>::quiet_NaN();
          out[0] = out[tw] = finite_dcol && std::isfinite(s.m) ? T(0) : nan;
          out[2 * tw] = finite_dcol ? T(0) : nan;
        } else if (regrouped) {
          const dcn::TapSample<T, int64_t>& k = s.tap;
          out[0] = k.wy[0] * S[0] + k.wy[1] * S[1] + k.wy[2] * S[2] + k.wy[3] * S[3];
          out[tw] = k.wx[0] * S[0] + k.wx[1] * S[1] + k.wx[2] * S[2] + k.wx[3] * S[3];
          out[2 * tw] = k.w[0] * S[0] + k.w[1] * S[1] + k.w[2] * S[2] + k.w[3] * S[3];
        } else {
          T sums[3];
          coordinate_sums_exact(d, x, g.C, s, n, sums);
          out[0] = sums[0];
          out[tw] = sums[1];
          out[2 * tw] = sums[2];
        }
      }
      // Zero weights contribute nothing to grad_x.
      if constexpr (kGradX)
        if (s.contributes) scatter_run(d, grad_x + seg.c_begin, g.C, s.tap, s.wm, n);
    }
    if (++wo == g.Wo) {
      wo = 0;
      ++ho;
    }
  }
}

template <bool kGradX, bool kCoord, bool kColumns, typename T>
void run_backward_rows(const ConvGeometry& g, const ImageInputs<T>& in, const ChannelSegment& seg, int64_t p0,
                       int64_t tw, const T* dcol, T* grad_x, T* partial, T* rows) {
  if (g.boundary == Boundary::v2)
    backward_rows<dcn::kBoundaryV2, kGradX, kCoord, kColumns>(g, in, seg, p0, tw, dcol, grad_x, partial, rows);
  else
    backward_rows<dcn::kBoundaryV1, kGradX, kCoord, kColumns>(g, in, seg, p0, tw, dcol, grad_x, partial, rows);
}

// Turns the three runtime choices into template flags (the "nothing requested" case does nothing).
template <bool kColumns, typename T>
void dispatch_backward_rows(const ConvGeometry& g, const ImageInputs<T>& in, const ChannelSegment& seg, int64_t p0,
                            int64_t tw, const T* dcol, T* grad_x, T* partial, T* rows) {
  if (grad_x && partial)
    run_backward_rows<true, true, kColumns>(g, in, seg, p0, tw, dcol, grad_x, partial, rows);
  else if (grad_x)
    run_backward_rows<true, false, kColumns>(g, in, seg, p0, tw, dcol, grad_x, partial, rows);
  else if (partial)
    run_backward_rows<false, true, kColumns>(g, in, seg, p0, tw, dcol, grad_x, partial, rows);
  else if (kColumns)
    run_backward_rows<false, false, kColumns>(g, in, seg, p0, tw, dcol, grad_x, partial, rows);
}

// Transposes a [rows][cols] matrix into [cols][rows] in blocks of 16 rows: each column's 16 values
// are one cache line of the destination (or source), and the block's rows stay in L1 meanwhile.
template <typename T>
void transpose(const T* in, int64_t rows, int64_t cols, T* out) {
  constexpr int64_t kRows = 16;
  for (int64_t r0 = 0; r0 < rows; r0 += kRows) {
    const int64_t n = std::min(kRows, rows - r0);
    for (int64_t c = 0; c < cols; ++c)
      for (int64_t e = 0; e < n; ++e) out[c * rows + r0 + e] = in[(r0 + e) * cols + c];
  }
}

}  // namespace

template <typename T>
void to_channels_last(const ConvGeometry& g, const T* x, T* x_channels_last) {
  transpose(x, g.C, g.H * g.W, x_channels_last);
}

template <typename T>
void from_channels_last(const ConvGeometry& g, const T* x_channels_last, T* x) {
  transpose(x_channels_last, g.H * g.W, g.C, x);
}

// Calls visit(o, s, at, n) for output channel o and segment s of its group: the segment's weights sit
// at element `at` of row o of the permuted weights, K * n of them.
template <typename Visit>
void for_each_weight_segment(const ConvGeometry& g, const std::vector<ChannelSegment>& segments, Visit&& visit) {
  const int64_t cg = g.channels_per_group;
  for (int64_t o = 0; o < g.Co; ++o) {
    const int64_t group = o / g.outputs_per_group;
    for (const ChannelSegment& s : segments)
      if (s.group == group) visit(o, s, o * cg * g.K + (s.c_begin - group * cg) * g.K);
  }
}

template <typename T>
void weight_to_segments(const ConvGeometry& g, const std::vector<ChannelSegment>& segments, const T* weight,
                        T* permuted) {
  const int64_t cg = g.channels_per_group;
  for_each_weight_segment(g, segments, [&](int64_t o, const ChannelSegment& s, int64_t at) {
    // [channels][K] of the segment -> [K][channels]
    transpose(weight + (o * cg + s.c_begin - s.group * cg) * g.K, s.channels(), g.K, permuted + at);
  });
}

template <typename T>
void weight_from_segments(const ConvGeometry& g, const std::vector<ChannelSegment>& segments, const T* permuted,
                          T* weight) {
  const int64_t cg = g.channels_per_group;
  for_each_weight_segment(g, segments, [&](int64_t o, const ChannelSegment& s, int64_t at) {
    transpose(permuted + at, g.K, s.channels(), weight + (o * cg + s.c_begin - s.group * cg) * g.K);
  });
}

template <typename T>
void im2col_segment(const ConvGeometry& g, const ImageInputs<T>& in, const ChannelSegment& s, int64_t p_row0,
                    int64_t p_begin, int64_t p_end, T* rows) {
  if (g.boundary == Boundary::v2)
    forward_rows<dcn::kBoundaryV2>(g, in, s, p_row0, p_begin, p_end, rows);
  else
    forward_rows<dcn::kBoundaryV1>(g, in, s, p_row0, p_begin, p_end, rows);
}

template <typename T>
void col2im_coord_segment(const ConvGeometry& g, const ImageInputs<T>& in, const ChannelSegment& s, int64_t p0,
                          int64_t tw, const T* dcol_rows, T* grad_x, T* partial, T* rows) {
  if (rows)
    dispatch_backward_rows<true>(g, in, s, p0, tw, dcol_rows, grad_x, partial, rows);
  else
    dispatch_backward_rows<false>(g, in, s, p0, tw, dcol_rows, grad_x, partial, rows);
}

// The tile of one offset group that reduce_coord_partials writes.
struct BlockTile {
  int64_t og, p0, tw;
};

template <typename T>
void reduce_coord_partials(const ConvGeometry& g, const ImageInputs<T>& in, int64_t og, int64_t p0, int64_t tw,
                           int64_t blocks, const T* partials, T* grad_offset, T* grad_mask) {
  const BlockTile r{og, p0, tw};
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
      // d y / d offset carries the modulation factor; d y / d mask is the unmodulated sample. An infinite
      // m is already inside the partial sums (coordinate_sums_exact).
      const T m = mask && std::isfinite(mask[q]) ? mask[q] : T(1);
      if (dy) {
        dy[q] = m * sum_dy;
        dx[q] = m * sum_dx;
      }
      if (dm) dm[q] = sum_value;
    }
  }
}

#undef DCNJIT_CHANNEL_LOOP_CLONES

#define DCNJIT_INSTANTIATE_KERNELS(T)                                                                                  \
  template void to_channels_last<T>(const ConvGeometry&, const T*, T*);                                                \
  template void from_channels_last<T>(const ConvGeometry&, const T*, T*);                                              \
  template void weight_to_segments<T>(const ConvGeometry&, const std::vector<ChannelSegment>&, const T*, T*);          \
  template void weight_from_segments<T>(const ConvGeometry&, const std::vector<ChannelSegment>&, const T*, T*);        \
  template void im2col_segment<T>(const ConvGeometry&, const ImageInputs<T>&, const ChannelSegment&, int64_t, int64_t, \
                                  int64_t, T*);                                                                        \
  template void col2im_coord_segment<T>(const ConvGeometry&, const ImageInputs<T>&, const ChannelSegment&, int64_t,    \
                                        int64_t, const T*, T*, T*, T*);                                                \
  template void reduce_coord_partials<T>(const ConvGeometry&, const ImageInputs<T>&, int64_t, int64_t, int64_t,        \
                                         int64_t, const T*, T*, T*);
DCNJIT_INSTANTIATE_KERNELS(float)
DCNJIT_INSTANTIATE_KERNELS(double)
#undef DCNJIT_INSTANTIATE_KERNELS

}  // namespace dcnjit::cpu
