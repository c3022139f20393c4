#include "runtime/cpu/dcn_cpu_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "templates/sampling.cuh"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

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
  g.nhwc = p.layout == Layout::nhwc;
  const int64_t offset_channels = 2 * g.offset_groups * g.K, mask_channels = g.offset_groups * g.K;
  g.offset_channel = g.nhwc ? 1 : g.P;
  g.offset_pixel = g.nhwc ? offset_channels : 1;
  g.mask_channel = g.nhwc ? 1 : g.P;
  g.mask_pixel = g.nhwc ? mask_channels : 1;
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

// The channel loops below are built for AVX-512, AVX2 and the x86-64 baseline, and the loader picks
// one per CPU (GCC function multiversioning). The clones do the same arithmetic per element, so which
// one runs never changes a result.
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
template <int kBoundary, bool kDerivatives, typename V, typename XT>
struct PixelSample {
  dcn::TapSample<V, int64_t> tap;
  V wm[4];  // w * m
  V m;
  bool contributes;
  bool plain;  // reads all four corners for its value and has a finite m: sample_run is exact

  PixelSample(const ConvGeometry& g, const ImageInputs<V, XT>& in, int64_t og, int64_t t, int64_t p, int64_t ho,
              int64_t wo) {
    const int64_t i = t / g.kw, j = t % g.kw;
    const V* off = in.offset + (og * 2 * g.K + 2 * t) * g.offset_channel + p * g.offset_pixel;
    const V py = V(ho * g.stride_h - g.pad_h + i * g.dilation_h) + off[0];
    const V px = V(wo * g.stride_w - g.pad_w + j * g.dilation_w) + off[g.offset_channel];
    m = in.mask ? in.mask[(og * g.K + t) * g.mask_channel + p * g.mask_pixel] : V(1);
    contributes = dcn::sample_tap<kBoundary>(py, px, int(g.H), int(g.W), tap);  // Problem::validate bounds H, W by 2^30
    if (!contributes) {
      for (int k = 0; k < 4; ++k) {
        tap.idx[k] = 0;
        tap.w[k] = V(0);
        if constexpr (kDerivatives) tap.wy[k] = tap.wx[k] = V(0);
        tap.reads[k] = false;
      }
      tap.value_reads = false;
    }
    for (int k = 0; k < 4; ++k) wm[k] = tap.w[k] * m;
    plain = tap.value_reads && tap.reads[0] && tap.reads[1] && tap.reads[2] && tap.reads[3] && std::isfinite(m);
  }
};

// out[e] = sum_k wm[k] * x_k[e] over a run of n channels, computed in V and stored as Col. Both column
// writers use this one loop: the backend builds without FMA contraction, so forward columns and the
// backward's recompute match bit for bit.
template <typename V, typename XT, typename Col>
DCNJIT_CHANNEL_LOOP_CLONES void sample_run_portable(const XT* x, int64_t C, const int64_t (&idx)[4], const V (&wm)[4],
                                                    int64_t n, Col* __restrict out) {
  const XT* __restrict x0 = x + idx[0] * C;
  const XT* __restrict x1 = x + idx[1] * C;
  const XT* __restrict x2 = x + idx[2] * C;
  const XT* __restrict x3 = x + idx[3] * C;
  for (int64_t e = 0; e < n; ++e)
    out[e] = narrow<Col>(wm[0] * widen<V>(x0[e]) + wm[1] * widen<V>(x1[e]) + wm[2] * widen<V>(x2[e]) +
                         wm[3] * widen<V>(x3[e]));
}

#if defined(__x86_64__) && defined(__GNUC__)
// The same loop written for AVX-512, 16 channels per step: the same products and sums in the same
// order as sample_run_portable (the compiler's clones use 256-bit vectors), so the same bits. Columns
// in f32, or in bf16 with AVX512-BF16, which the native bf16 path implies (oneDNN runs it only there),
// rounded to nearest even by vcvtneps2bf16. That instruction flushes subnormal results to zero, as the
// GEMMs' vdpbf16ps treats subnormal inputs as zero anyway: no result depends on how a subnormal column
// rounds.
// GCC 12 at -O2 warns that the intrinsics' own placeholder operand "may be used uninitialized" (a false
// positive inside its headers).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
template <typename XT>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) inline __m512 load16(const XT* p) {
  if constexpr (std::is_same_v<XT, float>)
    return _mm512_loadu_ps(p);
  else
    return _mm512_castsi512_ps(
        _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))), 16));
}

template <typename XT, typename Col>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) void sample_run_avx512(
    const XT* x, int64_t C, const int64_t (&idx)[4], const float (&wm)[4], int64_t n, Col* __restrict out) {
  const XT* x0 = x + idx[0] * C;
  const XT* x1 = x + idx[1] * C;
  const XT* x2 = x + idx[2] * C;
  const XT* x3 = x + idx[3] * C;
  const __m512 w0 = _mm512_set1_ps(wm[0]), w1 = _mm512_set1_ps(wm[1]), w2 = _mm512_set1_ps(wm[2]),
               w3 = _mm512_set1_ps(wm[3]);
  int64_t e = 0;
  for (; e + 16 <= n; e += 16) {
    __m512 v = _mm512_mul_ps(w0, load16(x0 + e));
    v = _mm512_add_ps(v, _mm512_mul_ps(w1, load16(x1 + e)));
    v = _mm512_add_ps(v, _mm512_mul_ps(w2, load16(x2 + e)));
    v = _mm512_add_ps(v, _mm512_mul_ps(w3, load16(x3 + e)));
    if constexpr (std::is_same_v<Col, float>) {
      _mm512_storeu_ps(out + e, v);
    } else {
      const __m256bh rounded = _mm512_cvtneps_pbh(v);
      std::memcpy(out + e, &rounded, sizeof rounded);
    }
  }
  for (; e < n; ++e)
    out[e] = narrow<Col>(wm[0] * widen<float>(x0[e]) + wm[1] * widen<float>(x1[e]) + wm[2] * widen<float>(x2[e]) +
                         wm[3] * widen<float>(x3[e]));
}

#pragma GCC diagnostic pop

bool cpu_has_avx512bf16() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
  return has;
}
#endif

template <typename V, typename XT, typename Col>
inline void sample_run(const XT* x, int64_t C, const dcn::TapSample<V, int64_t>& tap, const V (&wm)[4], int64_t n,
                       Col* out) {
#if defined(__x86_64__) && defined(__GNUC__)
  if constexpr (std::is_same_v<V, float>) {
    if (std::is_same_v<Col, Bf16> || cpu_has_avx512bf16()) return sample_run_avx512(x, C, tap.idx, wm, n, out);
  }
#endif
  sample_run_portable(x, C, tap.idx, wm, n, out);
}

// sample_run for the points that are not plain: m * (sum of w * x over the corners the value reads),
// corners outside the image being 0 and unread (torchvision's formula). With a finite m the terms are
// (w * m) * x as in sample_run, so finite results round exactly as there.
template <int kBoundary, bool kDerivatives, typename V, typename XT, typename Col>
void sample_run_exact(const XT* x, int64_t C, const PixelSample<kBoundary, kDerivatives, V, XT>& s, int64_t n,
                      Col* __restrict out) {
  const bool finite_m = std::isfinite(s.m);
  for (int64_t e = 0; e < n; ++e) {
    V sum = V(0);
    if (s.tap.value_reads)
      for (int k = 0; k < 4; ++k)
        if (s.tap.reads[k]) sum += (finite_m ? s.wm[k] : s.tap.w[k]) * widen<V>(x[s.tap.idx[k] * C + e]);
    out[e] = narrow<Col>(finite_m ? sum : s.m * sum);
  }
}

template <int kBoundary, bool kDerivatives, typename V, typename XT, typename Col>
void write_samples(const XT* x, int64_t C, const PixelSample<kBoundary, kDerivatives, V, XT>& s, int64_t n,
                   Col* out) {
  if (s.plain)
    sample_run(x, C, s.tap, s.wm, n, out);
  else
    sample_run_exact(x, C, s, n, out);
}

// The coordinate sums of one point in torchvision's order, for the points where corner_dots' regrouping
// could move a NaN or Inf: per channel, (m * d sample/d py) * dcol with unread corners as 0 (m stays
// outside the sum when finite, see reduce_coord_partials), and dcol * sample.
template <int kBoundary, bool kDerivatives, typename V, typename XT>
void coordinate_sums_exact(const V* d, const XT* x, int64_t C, const PixelSample<kBoundary, kDerivatives, V, XT>& s,
                           int64_t n, V (&out)[3]) {
  const dcn::TapSample<V, int64_t>& k = s.tap;
  const V term_m = std::isfinite(s.m) ? V(1) : s.m;
  V sum_py = 0, sum_px = 0, sum_value = 0;
  for (int64_t e = 0; e < n; ++e) {
    V v[4];
    for (int c = 0; c < 4; ++c) v[c] = k.reads[c] ? widen<V>(x[k.idx[c] * C + e]) : V(0);
    const V d_py = k.wy[0] * v[0] + k.wy[1] * v[1] + k.wy[2] * v[2] + k.wy[3] * v[3];
    const V d_px = k.wx[0] * v[0] + k.wx[1] * v[1] + k.wx[2] * v[2] + k.wx[3] * v[3];
    const V value = k.value_reads ? k.w[0] * v[0] + k.w[1] * v[1] + k.w[2] * v[2] + k.w[3] * v[3] : V(0);
    sum_py += (term_m * d_py) * d[e];
    sum_px += (term_m * d_px) * d[e];
    sum_value += d[e] * value;
  }
  out[0] = sum_py;
  out[1] = sum_px;
  out[2] = sum_value;
}

// Whether none of d[0, n) is NaN or Inf.
template <typename V>
DCNJIT_CHANNEL_LOOP_CLONES bool all_finite(const V* __restrict d, int64_t n) {
  bool finite = true;
  for (int64_t e = 0; e < n; ++e) finite &= std::fabs(d[e]) <= std::numeric_limits<V>::max();
  return finite;
}

// 32 bytes of V as one GCC vector: 8 floats or 4 doubles. Code written with it compiles to one AVX
// register or two SSE registers per operation, the same arithmetic per lane either way.
template <typename V>
struct Lanes;
template <>
struct Lanes<float> {
  typedef float type __attribute__((vector_size(32)));
};
template <>
struct Lanes<double> {
  typedef double type __attribute__((vector_size(32)));
};

// kLanes elements of x at p, as V lanes (an out-parameter: a function returning a vector type
// would change its ABI between the ISA clones).
template <typename V, typename XT, typename L>
inline void load_lanes(const XT* p, L& v) {
  if constexpr (std::is_same_v<XT, V>) {
    std::memcpy(&v, p, sizeof v);  // an unaligned vector load
  } else {
    for (int l = 0; l < int(sizeof(L) / sizeof(V)); ++l) v[l] = widen<V>(p[l]);
  }
}

// S[k] += sum_e d[e] * x_k[e] over a run of n channels, in one vector of partial sums per corner
// (explicit lanes: the compiler need not reassociate, and keeps the four accumulators in registers),
// added up in lane order: the result depends on the run, never on the thread count or the ISA clone.
template <typename V, typename XT>
DCNJIT_CHANNEL_LOOP_CLONES void corner_dots(const V* __restrict d, const XT* x, int64_t C,
                                            const dcn::TapSample<V, int64_t>& tap, int64_t n, V (&S)[4]) {
  using L = typename Lanes<V>::type;
  constexpr int kLanes = int(sizeof(L) / sizeof(V));
  const XT* __restrict x0 = x + tap.idx[0] * C;
  const XT* __restrict x1 = x + tap.idx[1] * C;
  const XT* __restrict x2 = x + tap.idx[2] * C;
  const XT* __restrict x3 = x + tap.idx[3] * C;
  L a0 = {}, a1 = {}, a2 = {}, a3 = {};
  int64_t e = 0;
  for (; e + kLanes <= n; e += kLanes) {
    L dv, v0, v1, v2, v3;
    load_lanes<V>(d + e, dv);
    load_lanes<V>(x0 + e, v0);
    load_lanes<V>(x1 + e, v1);
    load_lanes<V>(x2 + e, v2);
    load_lanes<V>(x3 + e, v3);
    a0 += dv * v0;
    a1 += dv * v1;
    a2 += dv * v2;
    a3 += dv * v3;
  }
  for (int l = 0; e < n; ++e, ++l) {
    a0[l] += d[e] * widen<V>(x0[e]);
    a1[l] += d[e] * widen<V>(x1[e]);
    a2[l] += d[e] * widen<V>(x2[e]);
    a3[l] += d[e] * widen<V>(x3[e]);
  }
  for (int l = 0; l < kLanes; ++l) {
    S[0] += a0[l];
    S[1] += a1[l];
    S[2] += a2[l];
    S[3] += a3[l];
  }
}

// grad_x[corner k][e] += wm[k] * d[e], corner by corner: corners may coincide (v1 clamps the last
// row and column), so each corner's loop finishes before the next one reads the same elements. Corners
// of zero weight (outside the image, or on a cell border; bit k of `used` clear) are skipped: they add
// nothing, or NaN from 0 * Inf, to an element the contract leaves alone.
template <typename V>
DCNJIT_CHANNEL_LOOP_CLONES void scatter_run(const V* __restrict d, V* grad_x, int64_t C, const int64_t (&idx)[4],
                                            const V (&wm)[4], unsigned used, int64_t n) {
  for (int k = 0; k < 4; ++k) {
    if (!(used >> k & 1u)) continue;
    V* __restrict gx = grad_x + idx[k] * C;
    const V w = wm[k];
    for (int64_t e = 0; e < n; ++e) gx[e] += w * d[e];
  }
}

// Bit k set: corner k has a non-zero bilinear weight (scatter_run adds it). Written out: GCC 12 under
// -fsanitize=undefined gets the loop form `used |= unsigned(w[k] != 0) << k` wrong (the ASan+UBSan CI
// build dropped border corners from grad_x with it).
template <typename V>
unsigned used_corners(const dcn::TapSample<V, int64_t>& tap) {
  return (tap.w[0] != V(0) ? 1u : 0u) | (tap.w[1] != V(0) ? 2u : 0u) | (tap.w[2] != V(0) ? 4u : 0u) |
         (tap.w[3] != V(0) ? 8u : 0u);
}

template <int kBoundary, typename V, typename XT, typename Col>
void forward_rows(const ConvGeometry& g, const ImageInputs<V, XT>& in, const ChannelSegment& seg, int64_t p_row0,
                  int64_t p_begin, int64_t p_end, Col* rows) {
  const int64_t n = seg.channels(), row_length = g.K * n;
  const XT* const x = in.x + seg.c_begin;
  int64_t ho = p_begin / g.Wo, wo = p_begin - ho * g.Wo;
  for (int64_t p = p_begin; p < p_end; ++p) {
    Col* const row = rows + (p - p_row0) * row_length;
    for (int64_t t = 0; t < g.K; ++t) {
      const PixelSample<kBoundary, false, V, XT> s(g, in, seg.og, t, p, ho, wo);
      write_samples(x, g.C, s, n, row + t * n);
    }
    if (++wo == g.Wo) {
      wo = 0;
      ++ho;
    }
  }
}

// The backward pass over rows [q_begin, q_end) of one segment; each flag turns one output on.
template <int kBoundary, bool kGradX, bool kCoord, bool kColumns, bool kTable, typename V, typename XT, typename Col>
void backward_rows(const ConvGeometry& g, const ImageInputs<V, XT>& in, const ChannelSegment& seg, int64_t p0,
                   int64_t sw, int64_t q_begin, int64_t q_end, const V* dcol, const BackwardTargets<V, Col>& out) {
  const int64_t n = seg.channels(), row_length = g.K * n;
  const XT* const x = in.x + seg.c_begin;
  int64_t ho = (p0 + q_begin) / g.Wo, wo = (p0 + q_begin) - ho * g.Wo;
  for (int64_t q = q_begin; q < q_end; ++q) {
    const int64_t p = p0 + q;
    for (int64_t t = 0; t < g.K; ++t) {
      const PixelSample<kBoundary, kCoord, V, XT> s(g, in, seg.og, t, p, ho, wo);
      const V* const d = dcol + q * row_length + t * n;
      if constexpr (kColumns) write_samples(x, g.C, s, n, out.rows + q * row_length + t * n);
      if constexpr (kCoord) {
        V* partial = out.partial + t * 3 * sw + q;
        V S[4] = {V(0), V(0), V(0), V(0)};  // sum over the segment's channels of dcol * x[corner k]
        if (s.contributes) corner_dots(d, x, g.C, s.tap, n, S);
        // Finite sums mean finite dcol and corners: the regrouped sums are then the contract's.
        const bool regrouped = s.contributes && std::isfinite(s.m) && std::isfinite(S[0]) && std::isfinite(S[1]) &&
                               std::isfinite(S[2]) && std::isfinite(S[3]);
        if (!s.contributes) {
          // Nothing read: each channel adds (m * 0) * dcol and dcol * 0, so 0 unless m or a dcol is NaN or Inf.
          const bool finite_dcol = all_finite(d, n);
          const V nan = std::numeric_limits<V>::quiet_NaN();
          partial[0] = partial[sw] = finite_dcol && std::isfinite(s.m) ? V(0) : nan;
          partial[2 * sw] = finite_dcol ? V(0) : nan;
        } else if (regrouped) {
          const dcn::TapSample<V, int64_t>& k = s.tap;
          partial[0] = k.wy[0] * S[0] + k.wy[1] * S[1] + k.wy[2] * S[2] + k.wy[3] * S[3];
          partial[sw] = k.wx[0] * S[0] + k.wx[1] * S[1] + k.wx[2] * S[2] + k.wx[3] * S[3];
          partial[2 * sw] = k.w[0] * S[0] + k.w[1] * S[1] + k.w[2] * S[2] + k.w[3] * S[3];
        } else {
          V sums[3];
          coordinate_sums_exact(d, x, g.C, s, n, sums);
          partial[0] = sums[0];
          partial[sw] = sums[1];
          partial[2 * sw] = sums[2];
        }
      }
      if constexpr (kTable) {
        SampleEntry<V>& e = out.table[q * g.K + t];
        for (int c = 0; c < 4; ++c) {
          e.idx[c] = s.tap.idx[c];
          e.wm[c] = s.wm[c];
        }
        e.used = s.contributes ? used_corners(s.tap) : 0u;
      }
      // Points that contribute nothing add nothing to grad_x.
      if constexpr (kGradX)
        if (s.contributes) scatter_run(d, out.grad_x + seg.c_begin, g.C, s.tap.idx, s.wm, used_corners(s.tap), n);
    }
    if (++wo == g.Wo) {
      wo = 0;
      ++ho;
    }
  }
}

// Turns the runtime choices into template flags (the "nothing requested" case does nothing).
template <bool kGradX, bool kCoord, typename V, typename XT, typename Col>
void dispatch_outputs(const ConvGeometry& g, const ImageInputs<V, XT>& in, const ChannelSegment& s, int64_t p0,
                      int64_t sw, int64_t q_begin, int64_t q_end, const V* dcol, const BackwardTargets<V, Col>& out) {
  const bool columns = out.rows != nullptr, table = out.table != nullptr;
  auto run = [&](auto columns_flag, auto table_flag) {
    constexpr bool kColumns = decltype(columns_flag)::value, kTable = decltype(table_flag)::value;
    if (g.boundary == Boundary::v2)
      backward_rows<dcn::kBoundaryV2, kGradX, kCoord, kColumns, kTable>(g, in, s, p0, sw, q_begin, q_end, dcol, out);
    else
      backward_rows<dcn::kBoundaryV1, kGradX, kCoord, kColumns, kTable>(g, in, s, p0, sw, q_begin, q_end, dcol, out);
  };
  using Yes = std::true_type;
  using No = std::false_type;
  if (columns && table) run(Yes{}, Yes{});
  else if (columns) run(Yes{}, No{});
  else if (table) run(No{}, Yes{});
  else if (kGradX || kCoord) run(No{}, No{});
}

}  // namespace

template <typename To, typename From>
void transpose(const From* in, int64_t rows, int64_t cols, int64_t in_ld, To* out, int64_t out_ld) {
  constexpr int64_t kRows = 16;
  using V = std::conditional_t<std::is_same_v<To, double> || std::is_same_v<From, double>, double, float>;
  for (int64_t r0 = 0; r0 < rows; r0 += kRows) {
    const int64_t n = std::min(kRows, rows - r0);
    for (int64_t c = 0; c < cols; ++c)
      for (int64_t e = 0; e < n; ++e) out[c * out_ld + r0 + e] = narrow<To>(widen<V>(in[(r0 + e) * in_ld + c]));
  }
}

template <typename To, typename From>
void transpose(const From* in, int64_t rows, int64_t cols, To* out) {
  transpose(in, rows, cols, cols, out, rows);
}

template <typename V, typename S>
void to_channels_last(const ConvGeometry& g, const S* x, V* x_channels_last, int64_t p_begin, int64_t p_end) {
  const int64_t pixels = g.H * g.W;
  transpose(x + p_begin, g.C, p_end - p_begin, pixels, x_channels_last + p_begin * g.C, g.C);
}

template <typename V, typename S>
void from_channels_last(const ConvGeometry& g, const V* x_channels_last, S* x, int64_t p_begin, int64_t p_end) {
  const int64_t pixels = g.H * g.W;
  transpose(x_channels_last + p_begin * g.C, p_end - p_begin, g.C, g.C, x + p_begin, pixels);
}

// Calls visit(o, s, at) for output channels [o_begin, o_end) and each segment s of their group: the
// segment's weights sit at element `at` of row o of the permuted weights, K * n of them.
template <typename Visit>
void for_each_weight_segment(const ConvGeometry& g, const std::vector<ChannelSegment>& segments, int64_t o_begin,
                             int64_t o_end, Visit&& visit) {
  const int64_t cg = g.channels_per_group;
  for (int64_t o = o_begin; o < o_end; ++o) {
    const int64_t group = o / g.outputs_per_group;
    for (const ChannelSegment& s : segments)
      if (s.group == group) visit(o, s, o * cg * g.K + (s.c_begin - group * cg) * g.K);
  }
}

template <typename V>
void weight_to_segments(const ConvGeometry& g, const std::vector<ChannelSegment>& segments, const V* weight,
                        V* permuted, int64_t o_begin, int64_t o_end) {
  const int64_t cg = g.channels_per_group;
  for_each_weight_segment(g, segments, o_begin, o_end, [&](int64_t o, const ChannelSegment& s, int64_t at) {
    // [channels][K] of the segment -> [K][channels]
    transpose(weight + (o * cg + s.c_begin - s.group * cg) * g.K, s.channels(), g.K, permuted + at);
  });
}

template <typename V>
void weight_to_segment_rows(const ConvGeometry& g, const ChannelSegment& s, int64_t c_begin, int64_t c_end,
                            const V* weight, V* rows) {
  const int64_t cg = g.channels_per_group, co_g = g.outputs_per_group, n = s.channels();
  const int64_t c0 = s.c_begin - s.group * cg;  // the segment's first channel inside its group
  V* const out = rows + s.group * cg * g.K * co_g;
  const V* const in = weight + s.group * co_g * cg * g.K;
  // 16 x 16 tiles of (output channel, channel) per tap: the rows of both matrices are a power-of-two
  // multiple of 64 bytes apart for these layers, so a whole column at a time would evict itself from
  // the cache's few sets; a tile's 16 rows fit.
  constexpr int64_t kTile = 16;
  for (int64_t t = 0; t < g.K; ++t)
    for (int64_t o0 = 0; o0 < co_g; o0 += kTile) {
      const int64_t o1 = std::min(co_g, o0 + kTile);
      for (int64_t c = c_begin; c < c_end; ++c) {
        V* row = out + (c0 * g.K + t * n + (c - s.c_begin)) * co_g;
        const V* w = in + (c - s.group * cg) * g.K + t;
        for (int64_t o = o0; o < o1; ++o) row[o] = w[o * cg * g.K];
      }
    }
}

template <typename V>
void weight_from_blocks(const ConvGeometry& g, const std::vector<ChannelSegment>& blocks, const V* block_matrices,
                        V* weight) {
  const int64_t cg = g.channels_per_group, co_g = g.outputs_per_group;
  for (const ChannelSegment& b : blocks) {
    const int64_t n = b.channels();
    const V* matrix = block_matrices + co_g * g.K * b.c_begin;  // [co_g][K][n]
    for (int64_t r = 0; r < co_g; ++r) {
      const int64_t o = b.group * co_g + r;
      // [K][n] -> [n][K] at the block's channels of row o
      transpose(matrix + r * g.K * n, g.K, n, weight + (o * cg + b.c_begin - b.group * cg) * g.K);
    }
  }
}

template <typename V, typename XT, typename Col>
void im2col_segment(const ConvGeometry& g, const ImageInputs<V, XT>& in, const ChannelSegment& s, int64_t p_row0,
                    int64_t p_begin, int64_t p_end, Col* rows) {
  if (g.boundary == Boundary::v2)
    forward_rows<dcn::kBoundaryV2>(g, in, s, p_row0, p_begin, p_end, rows);
  else
    forward_rows<dcn::kBoundaryV1>(g, in, s, p_row0, p_begin, p_end, rows);
}

template <typename V, typename XT, typename Col>
void col2im_coord_segment(const ConvGeometry& g, const ImageInputs<V, XT>& in, const ChannelSegment& s, int64_t p0,
                          int64_t sw, int64_t q_begin, int64_t q_end, const V* dcol_rows,
                          const BackwardTargets<V, Col>& out) {
  if (out.grad_x && out.partial)
    dispatch_outputs<true, true>(g, in, s, p0, sw, q_begin, q_end, dcol_rows, out);
  else if (out.grad_x)
    dispatch_outputs<true, false>(g, in, s, p0, sw, q_begin, q_end, dcol_rows, out);
  else if (out.partial)
    dispatch_outputs<false, true>(g, in, s, p0, sw, q_begin, q_end, dcol_rows, out);
  else
    dispatch_outputs<false, false>(g, in, s, p0, sw, q_begin, q_end, dcol_rows, out);
}

template <typename V>
void scatter_slice(const ConvGeometry& g, const ChannelSegment& s, int64_t sw, const SampleEntry<V>* table,
                   const V* dcol_rows, int64_t c, int64_t count, V* grad_x) {
  const int64_t n = s.channels(), row_length = g.K * n, at = c - s.c_begin;
  for (int64_t q = 0; q < sw; ++q)
    for (int64_t t = 0; t < g.K; ++t) {
      const SampleEntry<V>& e = table[q * g.K + t];
      if (e.used) scatter_run(dcol_rows + q * row_length + t * n + at, grad_x + c, g.C, e.idx, e.wm, e.used, count);
    }
}

template <typename V>
void reduce_coord_partials(const ConvGeometry& g, const V* mask, int64_t og, int64_t p0, int64_t sw, int64_t blocks,
                           const V* partials, V* grad_offset, V* grad_mask) {
  const int64_t block_stride = g.K * 3 * sw;
  for (int64_t t = 0; t < g.K; ++t) {
    const V* first = partials + t * 3 * sw;
    const int64_t dy_channel = og * 2 * g.K + 2 * t, m_channel = og * g.K + t;
    for (int64_t q = 0; q < sw; ++q) {
      const int64_t p = p0 + q;
      V sum_dy = 0, sum_dx = 0, sum_value = 0;
      for (int64_t b = 0; b < blocks; ++b) {
        const V* row = first + b * block_stride;
        sum_dy += row[q];
        sum_dx += row[sw + q];
        sum_value += row[2 * sw + q];
      }
      // d y / d offset carries the modulation factor; d y / d mask is the unmodulated sample. An infinite
      // m is already inside the partial sums (coordinate_sums_exact).
      const int64_t m_at = m_channel * g.mask_channel + p * g.mask_pixel;
      const V m = mask && std::isfinite(mask[m_at]) ? mask[m_at] : V(1);
      if (grad_offset) {
        const int64_t at = dy_channel * g.offset_channel + p * g.offset_pixel;
        grad_offset[at] = m * sum_dy;
        grad_offset[at + g.offset_channel] = m * sum_dx;
      }
      if (grad_mask) grad_mask[m_at] = sum_value;
    }
  }
}

#undef DCNJIT_CHANNEL_LOOP_CLONES

#define DCNJIT_INSTANTIATE_SAMPLING(V, XT, Col)                                                                      \
  template void im2col_segment<V, XT, Col>(const ConvGeometry&, const ImageInputs<V, XT>&, const ChannelSegment&,    \
                                           int64_t, int64_t, int64_t, Col*);                                         \
  template void col2im_coord_segment<V, XT, Col>(const ConvGeometry&, const ImageInputs<V, XT>&,                     \
                                                 const ChannelSegment&, int64_t, int64_t, int64_t, int64_t, const V*, \
                                                 const BackwardTargets<V, Col>&);
DCNJIT_INSTANTIATE_SAMPLING(float, float, float)
DCNJIT_INSTANTIATE_SAMPLING(double, double, double)
DCNJIT_INSTANTIATE_SAMPLING(float, float, Bf16)
DCNJIT_INSTANTIATE_SAMPLING(float, Bf16, Bf16)
#undef DCNJIT_INSTANTIATE_SAMPLING

#define DCNJIT_INSTANTIATE_VALUE(V)                                                                                  \
  template void weight_from_blocks<V>(const ConvGeometry&, const std::vector<ChannelSegment>&, const V*, V*);        \
  template void scatter_slice<V>(const ConvGeometry&, const ChannelSegment&, int64_t, const SampleEntry<V>*,        \
                                 const V*, int64_t, int64_t, V*);                                                    \
  template void reduce_coord_partials<V>(const ConvGeometry&, const V*, int64_t, int64_t, int64_t, int64_t,          \
                                         const V*, V*, V*);
DCNJIT_INSTANTIATE_VALUE(float)
DCNJIT_INSTANTIATE_VALUE(double)
#undef DCNJIT_INSTANTIATE_VALUE

#define DCNJIT_INSTANTIATE_COPIES(V, S)                                                                              \
  template void to_channels_last<V, S>(const ConvGeometry&, const S*, V*, int64_t, int64_t);                         \
  template void from_channels_last<V, S>(const ConvGeometry&, const V*, S*, int64_t, int64_t);
DCNJIT_INSTANTIATE_COPIES(float, float)
DCNJIT_INSTANTIATE_COPIES(double, double)
DCNJIT_INSTANTIATE_COPIES(float, Bf16)
#undef DCNJIT_INSTANTIATE_COPIES

template void transpose<float, float>(const float*, int64_t, int64_t, int64_t, float*, int64_t);
template void transpose<double, double>(const double*, int64_t, int64_t, int64_t, double*, int64_t);
template void transpose<Bf16, Bf16>(const Bf16*, int64_t, int64_t, int64_t, Bf16*, int64_t);
template void weight_to_segments<float>(const ConvGeometry&, const std::vector<ChannelSegment>&, const float*, float*,
                                        int64_t, int64_t);
template void weight_to_segments<double>(const ConvGeometry&, const std::vector<ChannelSegment>&, const double*,
                                         double*, int64_t, int64_t);
template void weight_to_segment_rows<float>(const ConvGeometry&, const ChannelSegment&, int64_t, int64_t,
                                            const float*, float*);
template void weight_to_segment_rows<double>(const ConvGeometry&, const ChannelSegment&, int64_t, int64_t,
                                             const double*, double*);

}  // namespace dcnjit::cpu
