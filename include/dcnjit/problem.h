// Problem: everything that defines one deformable convolution (docs/semantics.md).
// A Problem is plain data; validate() checks it and names the offending parameter.
#pragma once

#include <cstdint>
#include <string>

namespace dcnjit {

// Element type of x, offset, mask, weight, bias, y and all gradients. f16/bf16 accumulate in f32;
// f64 (cpu and sim backends) computes in double, for gradient checks against finite differences.
enum class DType { f32, f16, bf16, f64 };

// Memory order of the activation tensors (x, offset, mask, y and their gradients); the logical shape is
// NCHW either way (as PyTorch's channels_last): nchw is contiguous [N, C, H, W], nhwc is [N, H, W, C] in
// memory. weight [Co, C/groups, kh, kw] and bias [Co] are the same in both (docs/semantics.md).
enum class Layout { nchw, nhwc };

// How a sample point outside the image is treated (docs/semantics.md).
//   v2: torchvision / mmcv / DCNv2: zero outside (-1, H) x (-1, W), bilinear with zero-padded corners.
//   v1: MXNet DCNv1 / TensorFlow ports: zero outside [0, H) x [0, W), last row/column repeated.
enum class Boundary { v2, v1 };

const char* to_string(DType dtype);
const char* to_string(Boundary boundary);
const char* to_string(Layout layout);
DType parse_dtype(const std::string& text);        // "f32" | "f16" | "bf16" | "f64", else Error naming the value
Boundary parse_boundary(const std::string& text);  // "v1" | "v2"
Layout parse_layout(const std::string& text);      // "nchw" | "nhwc"
std::size_t dtype_size(DType dtype);

struct Problem {
  int64_t N = 1, C = 1, H = 1, W = 1;  // input x [N, C, H, W]
  int64_t Co = 1;                      // output channels; weight [Co, C/groups, kh, kw]
  int kh = 3, kw = 3;
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  int dilation_h = 1, dilation_w = 1;
  int groups = 1;         // convolution groups
  int offset_groups = 1;  // "deformable groups": channels C/og share one offset field
  bool mask = false;      // DCNv2 modulation mask present
  bool bias = false;      // bias present (affects only forward; grad_bias is requested per call)
  Boundary boundary = Boundary::v2;
  DType dtype = DType::f32;
  Layout layout = Layout::nchw;

  int64_t Ho() const;  // (H + 2*pad_h - (dilation_h*(kh-1)+1)) / stride_h + 1
  int64_t Wo() const;
  int taps() const { return kh * kw; }

  // Throws Error(InvalidArgument) naming the first offending parameter and its value(s).
  void validate() const;

  // Canonical one-line form, also the syntax of `dcnjit tune --problems FILE` and `dcnjit cache list`:
  //   N2 C256 H50 W76 Co256 k3x3 s1x1 p1x1 d1x1 g1 og1 mask bias v2 f32
  // ("nomask"/"nobias" when absent; " nhwc" is appended for the channels-last layout, nchw is implied).
  // parse() accepts the fields in any order; omitted ones keep defaults except N, C, H, W which are
  // required. Errors name the token at fault.
  std::string to_string() const;
  static Problem parse(const std::string& text);

  // Number of multiply-adds of the forward GEMM (N * Co * Ho * Wo * C/groups * kh * kw).
  double forward_macs() const;

  bool operator==(const Problem&) const = default;
};

}  // namespace dcnjit
