// Problem: validation with messages that name the parameter, and the canonical text form.
#include "dcnjit/problem.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <sstream>
#include <vector>

#include "dcnjit/error.h"
#include "core/checked_size.h"

namespace dcnjit {

const char* to_string(DType dtype) {
  switch (dtype) {
    case DType::f32: return "f32";
    case DType::f16: return "f16";
    case DType::bf16: return "bf16";
    case DType::f64: return "f64";
  }
  return "?";
}

const char* to_string(Boundary boundary) { return boundary == Boundary::v1 ? "v1" : "v2"; }

const char* to_string(Layout layout) { return layout == Layout::nhwc ? "nhwc" : "nchw"; }

DType parse_dtype(const std::string& text) {
  if (text == "f32") return DType::f32;
  if (text == "f16") return DType::f16;
  if (text == "bf16") return DType::bf16;
  if (text == "f64") return DType::f64;
  throw Error(ErrorCode::InvalidArgument, fmt::format("dtype: '{}' is not one of f32, f16, bf16, f64", text));
}

Boundary parse_boundary(const std::string& text) {
  if (text == "v1") return Boundary::v1;
  if (text == "v2") return Boundary::v2;
  throw Error(ErrorCode::InvalidArgument, fmt::format("boundary: '{}' is not one of v1, v2", text));
}

Layout parse_layout(const std::string& text) {
  if (text == "nchw") return Layout::nchw;
  if (text == "nhwc") return Layout::nhwc;
  throw Error(ErrorCode::InvalidArgument, fmt::format("layout: '{}' is not one of nchw, nhwc", text));
}

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::f32: return 4;
    case DType::f16:
    case DType::bf16: return 2;
    case DType::f64: return 8;
  }
  return 4;
}

// In int64 throughout: 2 * pad overflows int for a pad near INT_MAX.
int64_t Problem::Ho() const {
  return (H + 2 * int64_t(pad_h) - (int64_t(dilation_h) * (int64_t(kh) - 1) + 1)) / stride_h + 1;
}
int64_t Problem::Wo() const {
  return (W + 2 * int64_t(pad_w) - (int64_t(dilation_w) * (int64_t(kw) - 1) + 1)) / stride_w + 1;
}

double Problem::forward_macs() const {
  return double(N) * double(Co) * double(Ho()) * double(Wo()) * double(C / groups) * kh * kw;
}

namespace {

[[noreturn]] void invalid(const std::string& message) { throw Error(ErrorCode::InvalidArgument, message); }

void require_positive(const char* name, int64_t value) {
  if (value <= 0) invalid(fmt::format("{}={} must be positive", name, value));
}

}  // namespace

void Problem::validate() const {
  require_positive("N", N);
  require_positive("C", C);
  require_positive("H", H);
  require_positive("W", W);
  require_positive("Co", Co);
  require_positive("kh", kh);
  require_positive("kw", kw);
  require_positive("stride_h", stride_h);
  require_positive("stride_w", stride_w);
  require_positive("dilation_h", dilation_h);
  require_positive("dilation_w", dilation_w);
  require_positive("groups", groups);
  require_positive("offset_groups", offset_groups);
  if (pad_h < 0) invalid(fmt::format("pad_h={} must not be negative", pad_h));
  if (pad_w < 0) invalid(fmt::format("pad_w={} must not be negative", pad_w));
  if (C % groups != 0) invalid(fmt::format("groups={} does not divide C={}", groups, C));
  if (Co % groups != 0) invalid(fmt::format("groups={} does not divide Co={}", groups, Co));
  if (C % offset_groups != 0)
    invalid(fmt::format("offset_groups={} does not divide C={}", offset_groups, C));
  // Index arithmetic of every backend is 64-bit where needed; keep the per-dimension sizes within int32
  // so a dimension alone never overflows the kernels' 32-bit loop counters.
  constexpr int64_t kMaxDim = int64_t(1) << 30;
  for (auto [name, v] : {std::pair{"N", N}, {"C", C}, {"H", H}, {"W", W}, {"Co", Co}})
    if (v > kMaxDim) invalid(fmt::format("{}={} exceeds the limit of {}", name, v, kMaxDim));
  for (auto [name, v] : {std::pair{"kh", kh}, {"kw", kw}, {"stride_h", stride_h}, {"stride_w", stride_w},
                         {"pad_h", pad_h}, {"pad_w", pad_w}, {"dilation_h", dilation_h}, {"dilation_w", dilation_w}})
    if (v > kMaxDim) invalid(fmt::format("{}={} exceeds the limit of {}", name, v, kMaxDim));
  if (int64_t(kh) * kw > kMaxDim) invalid(fmt::format("kernel {}x{}: kh*kw exceeds the limit of {}", kh, kw, kMaxDim));
  const int64_t span_h = int64_t(dilation_h) * (kh - 1) + 1;
  const int64_t span_w = int64_t(dilation_w) * (kw - 1) + 1;
  if (H + 2 * int64_t(pad_h) < span_h)
    invalid(fmt::format("kernel height: dilation_h*(kh-1)+1={} exceeds H+2*pad_h={} (H={}, pad_h={})", span_h,
                        H + 2 * int64_t(pad_h), H, pad_h));
  if (W + 2 * int64_t(pad_w) < span_w)
    invalid(fmt::format("kernel width: dilation_w*(kw-1)+1={} exceeds W+2*pad_w={} (W={}, pad_w={})", span_w,
                        W + 2 * int64_t(pad_w), W, pad_w));
  if (Ho() > kMaxDim || Wo() > kMaxDim)
    invalid(fmt::format("output size {}x{} (Ho x Wo) exceeds the limit of {}", Ho(), Wo(), kMaxDim));
  // The dimensions are bounded one by one; their products must fit too, in elements and in bytes, for
  // every tensor and for the column matrix of one image that the GEMM backends build.
  const int64_t taps = int64_t(kh) * kw, out_h = Ho(), out_w = Wo();
  const std::size_t element = dtype_size(dtype);
  auto tensor = [&](const char* name, std::initializer_list<int64_t> shape) {
    detail::checked_bytes(name, detail::checked_product(name, shape), element);
  };
  tensor("x [N, C, H, W]", {N, C, H, W});
  tensor("offset [N, 2*og*kh*kw, Ho, Wo]", {N, 2 * int64_t(offset_groups), taps, out_h, out_w});
  if (mask) tensor("mask [N, og*kh*kw, Ho, Wo]", {N, offset_groups, taps, out_h, out_w});
  tensor("weight [Co, C/groups, kh, kw]", {Co, C / groups, taps});
  tensor("y [N, Co, Ho, Wo]", {N, Co, out_h, out_w});
  tensor("columns of one image [C*kh*kw, Ho*Wo]", {C, taps, out_h, out_w});
}

std::string Problem::to_string() const {
  return fmt::format("N{} C{} H{} W{} Co{} k{}x{} s{}x{} p{}x{} d{}x{} g{} og{} {} {} {} {}{}", N, C, H, W, Co, kh,
                     kw, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, groups, offset_groups,
                     mask ? "mask" : "nomask", bias ? "bias" : "nobias", dcnjit::to_string(boundary),
                     dcnjit::to_string(dtype), layout == Layout::nhwc ? " nhwc" : "");
}

namespace {

// The integer `digits` of `token`, which must lie in [low, high]: a value out of range is an error, never
// truncated (k4294967299 must not become k3).
int64_t parse_int(const std::string& token, std::string_view digits, int64_t low = INT64_MIN,
                  int64_t high = INT64_MAX) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec == std::errc::result_out_of_range || (ec == std::errc() && (value < low || value > high)))
    invalid(fmt::format("problem: token '{}': {} is out of range ({} to {})", token, digits, low, high));
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty())
    invalid(fmt::format("problem: token '{}' has no valid integer", token));
  return value;
}

int parse_int32(const std::string& token, std::string_view digits) {
  return int(parse_int(token, digits, INT32_MIN, INT32_MAX));
}

std::pair<int, int> parse_pair(const std::string& token, std::string_view rest) {
  auto x = rest.find('x');
  if (x == std::string_view::npos) {
    int v = parse_int32(token, rest);
    return {v, v};
  }
  return {parse_int32(token, rest.substr(0, x)), parse_int32(token, rest.substr(x + 1))};
}

bool starts_with(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

Problem Problem::parse(const std::string& text) {
  Problem p;
  bool seen_n = false, seen_c = false, seen_h = false, seen_w = false, seen_co = false;
  std::istringstream in(text);
  std::string tok;
  while (in >> tok) {
    std::string_view t(tok);
    if (tok == "mask") p.mask = true;
    else if (tok == "nomask") p.mask = false;
    else if (tok == "bias") p.bias = true;
    else if (tok == "nobias") p.bias = false;
    else if (tok == "v1" || tok == "v2") p.boundary = parse_boundary(tok);
    else if (tok == "f32" || tok == "f16" || tok == "bf16" || tok == "f64") p.dtype = parse_dtype(tok);
    else if (tok == "nchw" || tok == "nhwc") p.layout = parse_layout(tok);
    else if (starts_with(tok, "Co")) { p.Co = parse_int(tok, t.substr(2)); seen_co = true; }
    else if (starts_with(tok, "og")) p.offset_groups = parse_int32(tok, t.substr(2));
    else if (starts_with(tok, "N")) { p.N = parse_int(tok, t.substr(1)); seen_n = true; }
    else if (starts_with(tok, "C")) { p.C = parse_int(tok, t.substr(1)); seen_c = true; }
    else if (starts_with(tok, "H")) { p.H = parse_int(tok, t.substr(1)); seen_h = true; }
    else if (starts_with(tok, "W")) { p.W = parse_int(tok, t.substr(1)); seen_w = true; }
    else if (starts_with(tok, "k")) std::tie(p.kh, p.kw) = parse_pair(tok, t.substr(1));
    else if (starts_with(tok, "s")) std::tie(p.stride_h, p.stride_w) = parse_pair(tok, t.substr(1));
    else if (starts_with(tok, "p")) std::tie(p.pad_h, p.pad_w) = parse_pair(tok, t.substr(1));
    else if (starts_with(tok, "d")) std::tie(p.dilation_h, p.dilation_w) = parse_pair(tok, t.substr(1));
    else if (starts_with(tok, "g")) p.groups = parse_int32(tok, t.substr(1));
    else invalid(fmt::format("problem: unknown token '{}' in '{}'", tok, text));
  }
  if (!seen_n || !seen_c || !seen_h || !seen_w)
    invalid(fmt::format("problem: '{}' must give N, C, H and W (e.g. 'N1 C64 H32 W32')", text));
  if (!seen_co) p.Co = p.C;
  return p;
}

}  // namespace dcnjit
