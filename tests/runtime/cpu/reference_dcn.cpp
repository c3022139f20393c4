#include "tests/runtime/cpu/reference_dcn.h"

#include <cmath>
#include <cstdint>

namespace dcnjit::testing {
namespace {

// Bilinear sampling of one plane at (y, x) with its derivatives and corner weights.
struct PointSample {
  double value = 0, d_dy = 0, d_dx = 0;
  int n_corners = 0;
  int64_t corner[4] = {};  // y * W + x
  double weight[4] = {};   // d value / d plane[corner]
};

// torchvision (deform_conv2d_kernel.cpp): the value is 0 unless -1 < y < H and -1 < x < W; corners
// outside the plane read as 0; the coordinate weight is the derivative of that zero-padded interpolant
// on the cell [floor(y), floor(y) + 1], for any point whose cell touches the plane (so at y == -1 the
// value is 0 but d/dy sees row 0). grad_x uses the corners within distance 1 of the point.
PointSample sample_v2(const double* plane, int64_t H, int64_t W, double y, double x) {
  PointSample s;
  if (!(y >= -1 && y < double(H) && x >= -1 && x < double(W))) return s;  // also NaN / Inf
  const int64_t y_low = int64_t(std::floor(y)), x_low = int64_t(std::floor(x));
  const int64_t y_high = y_low + 1, x_high = x_low + 1;
  auto at = [&](int64_t yy, int64_t xx) { return (yy >= 0 && yy < H && xx >= 0 && xx < W) ? plane[yy * W + xx] : 0.0; };
  const double v_ll = at(y_low, x_low), v_lh = at(y_low, x_high), v_hl = at(y_high, x_low), v_hh = at(y_high, x_high);
  const double fy = y - double(y_low), fx = x - double(x_low);
  if (y > -1 && x > -1)
    s.value = (1 - fy) * (1 - fx) * v_ll + (1 - fy) * fx * v_lh + fy * (1 - fx) * v_hl + fy * fx * v_hh;
  s.d_dy = fx * (v_hh - v_lh) + (1 - fx) * (v_hl - v_ll);
  s.d_dx = fy * (v_hh - v_hl) + (1 - fy) * (v_lh - v_ll);
  // Input gradient: torchvision walks the 3x3 neighbourhood of (int(y), int(x)) and takes every pixel
  // closer than 1 on both axes, with weight (1 - |y - yp|) (1 - |x - xp|).
  const int64_t yc = int64_t(y), xc = int64_t(x);  // truncation, as in torchvision
  for (int64_t yp = yc - 1; yp <= yc + 1; ++yp) {
    for (int64_t xp = xc - 1; xp <= xc + 1; ++xp) {
      if (yp < 0 || yp >= H || xp < 0 || xp >= W) continue;
      const double ay = std::fabs(y - double(yp)), ax = std::fabs(x - double(xp));
      if (ay >= 1 || ax >= 1) continue;
      s.corner[s.n_corners] = yp * W + xp;
      s.weight[s.n_corners] = (1 - ay) * (1 - ax);
      ++s.n_corners;
    }
  }
  return s;
}

// MXNet DCNv1: 0 unless 0 <= y < H and 0 <= x < W; a point whose floor is at or past the last row is
// moved onto the last row (no fade to zero), and its derivative along that axis is 0.
PointSample sample_v1(const double* plane, int64_t H, int64_t W, double y, double x) {
  PointSample s;
  if (!(y >= 0 && y < double(H) && x >= 0 && x < double(W))) return s;
  int64_t y_low = int64_t(std::floor(y)), x_low = int64_t(std::floor(x));
  int64_t y_high = y_low + 1, x_high = x_low + 1;
  bool clamped_y = false, clamped_x = false;
  if (y_low >= H - 1) {
    y_low = y_high = H - 1;
    y = double(y_low);
    clamped_y = true;
  }
  if (x_low >= W - 1) {
    x_low = x_high = W - 1;
    x = double(x_low);
    clamped_x = true;
  }
  const double fy = y - double(y_low), fx = x - double(x_low);
  const int64_t corner[4] = {y_low * W + x_low, y_low * W + x_high, y_high * W + x_low, y_high * W + x_high};
  const double weight[4] = {(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx};
  for (int k = 0; k < 4; ++k) {
    s.corner[k] = corner[k];
    s.weight[k] = weight[k];
    s.value += weight[k] * plane[corner[k]];
  }
  s.n_corners = 4;
  const double v_ll = plane[corner[0]], v_lh = plane[corner[1]], v_hl = plane[corner[2]], v_hh = plane[corner[3]];
  s.d_dy = clamped_y ? 0.0 : fx * (v_hh - v_lh) + (1 - fx) * (v_hl - v_ll);
  s.d_dx = clamped_x ? 0.0 : fy * (v_hh - v_hl) + (1 - fy) * (v_lh - v_ll);
  return s;
}

}  // namespace

ReferenceOutputs reference_dcn(const Problem& p, const ReferenceInputs& in, const std::vector<double>& grad_y) {
  const int64_t Ho = p.Ho(), Wo = p.Wo(), P = Ho * Wo, K = p.taps(), og_count = p.offset_groups;
  const int64_t Cg = p.C / p.groups, Cog = p.C / og_count, Co_g = p.Co / p.groups;
  const bool backward = !grad_y.empty();
  ReferenceOutputs out;
  out.y.assign(p.N * p.Co * P, 0.0);
  for (int64_t n = 0; n < p.N; ++n)
    for (int64_t o = 0; o < p.Co; ++o)
      for (int64_t q = 0; q < P; ++q) out.y[(n * p.Co + o) * P + q] = in.bias.empty() ? 0.0 : in.bias[o];
  if (backward) {
    out.grad_x.assign(in.x.size(), 0.0);
    out.grad_offset.assign(in.offset.size(), 0.0);
    if (p.mask) out.grad_mask.assign(in.mask.size(), 0.0);
    out.grad_weight.assign(in.weight.size(), 0.0);
    out.grad_bias.assign(p.Co, 0.0);
    for (int64_t n = 0; n < p.N; ++n)
      for (int64_t o = 0; o < p.Co; ++o)
        for (int64_t q = 0; q < P; ++q) out.grad_bias[o] += grad_y[(n * p.Co + o) * P + q];
  }
  for (int64_t n = 0; n < p.N; ++n) {
    for (int64_t c = 0; c < p.C; ++c) {
      const int64_t og = c / Cog, group = c / Cg, c_in_group = c % Cg;
      const double* plane = in.x.data() + (n * p.C + c) * p.H * p.W;
      for (int i = 0; i < p.kh; ++i) {
        for (int j = 0; j < p.kw; ++j) {
          const int64_t t = i * p.kw + j;
          for (int64_t ho = 0; ho < Ho; ++ho) {
            for (int64_t wo = 0; wo < Wo; ++wo) {
              const int64_t q = ho * Wo + wo;
              const int64_t off_y_at = ((n * og_count + og) * 2 * K + 2 * t) * P + q;
              const int64_t off_x_at = off_y_at + P;
              const int64_t mask_at = ((n * og_count + og) * K + t) * P + q;
              const double y = double(ho * p.stride_h - p.pad_h + i * p.dilation_h) + in.offset[off_y_at];
              const double x = double(wo * p.stride_w - p.pad_w + j * p.dilation_w) + in.offset[off_x_at];
              const double m = p.mask ? in.mask[mask_at] : 1.0;
              const PointSample s =
                  p.boundary == Boundary::v2 ? sample_v2(plane, p.H, p.W, y, x) : sample_v1(plane, p.H, p.W, y, x);
              double grad_col = 0;  // d loss / d (m * value) for this channel, tap and pixel
              for (int64_t oo = 0; oo < Co_g; ++oo) {
                const int64_t o = group * Co_g + oo;
                const int64_t w_at = ((o * Cg + c_in_group) * p.kh + i) * p.kw + j;
                const int64_t y_at = (n * p.Co + o) * P + q;
                out.y[y_at] += in.weight[w_at] * m * s.value;
                if (backward) {
                  grad_col += in.weight[w_at] * grad_y[y_at];
                  out.grad_weight[w_at] += grad_y[y_at] * m * s.value;
                }
              }
              if (!backward) continue;
              for (int k = 0; k < s.n_corners; ++k)
                out.grad_x[(n * p.C + c) * p.H * p.W + s.corner[k]] += s.weight[k] * m * grad_col;
              out.grad_offset[off_y_at] += m * s.d_dy * grad_col;
              out.grad_offset[off_x_at] += m * s.d_dx * grad_col;
              if (p.mask) out.grad_mask[mask_at] += s.value * grad_col;
            }
          }
        }
      }
    }
  }
  return out;
}

}  // namespace dcnjit::testing
