// The sampling math of deformable convolution, shared by every kernel, the sim backend and the CPU
// backend (compiled for the host), so the backends cannot drift apart. docs/semantics.md is the
// contract; this file is its only implementation.
//
// A tap's sample point (py, px) touches the four corners of the cell [y0, y0+1] x [x0, x0+1].
// TapSample holds, per corner, the plane index, the bilinear weight w and its derivatives
// d w / d py (wy) and d w / d px (wx). Corners outside the image have zero weights and index 0, so
// callers can read x[idx] unconditionally and never go out of bounds.
//
//   value          = sum_k w[k]  * x[idx[k]]
//   d value / d py = sum_k wy[k] * x[idx[k]]
//   d value / d px = sum_k wx[k] * x[idx[k]]
//   grad_x[idx[k]] += w[k] * g
//
// v2 (torchvision): the zero-padded bilinear interpolant on [floor(py), floor(py)+1]. Points in
//   [-1, H) x [-1, W) can have a non-zero value or derivative; at py == -1 exactly the value is 0
//   but d/dpy sees row 0 (torchvision's border convention).
// v1 (MXNet DCNv1): only points in [0, H) x [0, W); when floor(py) >= H-1 the row is clamped to H-1
//   (repeated, derivative 0 along that axis); likewise x.
//
// The range test runs before any float->int conversion, so NaN, +-Inf and 1e30 coordinates yield
// "no contribution" and never an out-of-range index.
//
// Non-finite x, mask, weight or grad_y propagate as IEEE arithmetic through torchvision's formula
// (docs/semantics.md): a corner outside the image is 0 and never read (`reads`), and in v2 the value
// of a point on the border py == -1 or px == -1 is exactly 0 (`value_reads` false; its derivatives
// still read row/column 0). Callers load reads[k] ? x[idx[k]] : 0 so that a zero weight times a NaN or
// Inf elsewhere in the plane cannot turn the contract's 0 into NaN.
#pragma once

#ifndef DCNJIT_HD
#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define DCNJIT_HD __host__ __device__ __forceinline__
#else
#define DCNJIT_HD inline
#endif
#endif

#if !defined(__CUDACC_RTC__)
#include <cmath>
#endif

namespace dcn {

enum BoundaryMode : int { kBoundaryV2 = 0, kBoundaryV1 = 1 };

DCNJIT_HD float floor_of(float v) {
#if defined(__CUDACC_RTC__) || defined(__CUDA_ARCH__)
  return floorf(v);
#else
  return std::floor(v);
#endif
}

DCNJIT_HD double floor_of(double v) {
#if defined(__CUDACC_RTC__) || defined(__CUDA_ARCH__)
  return ::floor(v);
#else
  return std::floor(v);
#endif
}

DCNJIT_HD bool is_finite(float v) {
#if defined(__CUDACC_RTC__) || defined(__CUDA_ARCH__)
  return isfinite(v);
#else
  return std::isfinite(v);
#endif
}

DCNJIT_HD bool is_finite(double v) {
#if defined(__CUDACC_RTC__) || defined(__CUDA_ARCH__)
  return isfinite(v);
#else
  return std::isfinite(v);
#endif
}

template <typename T, typename Index>
struct TapSample {
  Index idx[4];  // corners (y0,x0), (y0,x1), (y1,x0), (y1,x1) as y*W + x; 0 where outside
  T w[4];
  T wy[4];
  T wx[4];
  bool reads[4];     // the corner lies inside the image (the others have zero weights and read as 0)
  bool value_reads;  // the value reads the corners (false only on v2's border py == -1 or px == -1)
};

// Fills `s` for the sample point (py, px) in an H x W plane. Returns false when the point
// contributes nothing at all (no value, no gradient); `s` is then unspecified.
template <int kBoundary, typename T, typename Index>
DCNJIT_HD bool sample_tap(T py, T px, int H, int W, TapSample<T, Index>& s) {
  const T one = T(1);
  if (kBoundary == kBoundaryV2) {
    // Written so that NaN fails: every comparison with NaN is false.
    if (!(py >= T(-1) && py < T(H) && px >= T(-1) && px < T(W))) return false;
    const T fy = floor_of(py), fx = floor_of(px);
    const int y0 = int(fy), x0 = int(fx);  // in [-1, H-1] x [-1, W-1]: safe to convert
    const T ly = py - fy, lx = px - fx, hy = one - ly, hx = one - lx;
    const bool top = y0 >= 0, bottom = y0 + 1 <= H - 1, left = x0 >= 0, right = x0 + 1 <= W - 1;
    const bool ok[4] = {top && left, top && right, bottom && left, bottom && right};
    const int ys[4] = {y0, y0, y0 + 1, y0 + 1}, xs[4] = {x0, x0 + 1, x0, x0 + 1};
    const T w[4] = {hy * hx, hy * lx, ly * hx, ly * lx};
    const T wy[4] = {-hx, -lx, hx, lx};
    const T wx[4] = {-hy, hy, -ly, ly};
#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#pragma unroll
#endif
    for (int k = 0; k < 4; ++k) {
      s.idx[k] = ok[k] ? Index(ys[k]) * Index(W) + Index(xs[k]) : Index(0);
      s.w[k] = ok[k] ? w[k] : T(0);
      s.wy[k] = ok[k] ? wy[k] : T(0);
      s.wx[k] = ok[k] ? wx[k] : T(0);
      s.reads[k] = ok[k];
    }
    // torchvision's value test is strict at -1 (its derivative test is not).
    s.value_reads = py > T(-1) && px > T(-1);
    return true;
  } else {
    if (!(py >= T(0) && py < T(H) && px >= T(0) && px < T(W))) return false;
    T fy = floor_of(py), fx = floor_of(px);
    int y0 = int(fy), x0 = int(fx);
    // Clamp to the last row/column: MXNet repeats it instead of fading to zero.
    const bool clamp_y = y0 >= H - 1, clamp_x = x0 >= W - 1;
    if (clamp_y) { y0 = H - 1; fy = T(y0); py = fy; }
    if (clamp_x) { x0 = W - 1; fx = T(x0); px = fx; }
    const int y1 = clamp_y ? y0 : y0 + 1, x1 = clamp_x ? x0 : x0 + 1;
    const T ly = py - fy, lx = px - fx, hy = one - ly, hx = one - lx;
    const T gy = clamp_y ? T(0) : one, gx = clamp_x ? T(0) : one;  // clamped axis: zero derivative
    s.idx[0] = Index(y0) * Index(W) + Index(x0);
    s.idx[1] = Index(y0) * Index(W) + Index(x1);
    s.idx[2] = Index(y1) * Index(W) + Index(x0);
    s.idx[3] = Index(y1) * Index(W) + Index(x1);
    s.w[0] = hy * hx; s.w[1] = hy * lx; s.w[2] = ly * hx; s.w[3] = ly * lx;
    s.wy[0] = -hx * gy; s.wy[1] = -lx * gy; s.wy[2] = hx * gy; s.wy[3] = lx * gy;
    s.wx[0] = -hy * gx; s.wx[1] = hy * gx; s.wx[2] = -ly * gx; s.wx[3] = ly * gx;
    s.reads[0] = s.reads[1] = s.reads[2] = s.reads[3] = true;  // clamped corners are always inside
    s.value_reads = true;
    return true;
  }
}

// The bilinear value only (forward / im2col). Returns 0 for a point that contributes nothing.
template <int kBoundary, typename T, typename Index, typename Load>
DCNJIT_HD T sample_value(T py, T px, int H, int W, Load load) {
  TapSample<T, Index> s;
  if (!sample_tap<kBoundary>(py, px, H, W, s) || !s.value_reads) return T(0);
  T v[4];
  for (int k = 0; k < 4; ++k) v[k] = s.reads[k] ? T(load(s.idx[k])) : T(0);
  return s.w[0] * v[0] + s.w[1] * v[1] + s.w[2] * v[2] + s.w[3] * v[3];
}

}  // namespace dcn
