// KernelSpec: everything one generated kernel is specialized on, i.e. its compile-time parameters.
// Derived from (Problem, Config, KernelKind); fields a kind does not use are zero so that equal
// kernels have equal specs and equal names (the name is the binary cache's and the sim's handle).
#pragma once

#include <string>

#include "dcnjit/config.h"
#include "dcnjit/problem.h"
#include "generator/kernel_source.h"

namespace dcnjit::gen {

enum class Pass { forward, backward };
const char* to_string(Pass pass);
Pass parse_pass(const std::string& text);  // "forward" | "backward", else Error(InvalidArgument)

struct KernelSpec {
  KernelKind kind = KernelKind::im2col;
  // Sampling kernels (im2col, col2im, coord, col2im_coord) only.
  int kh = 0, kw = 0;
  int stride_h = 0, stride_w = 0;
  int dilation_h = 0, dilation_w = 0;
  int channels_per_group = 0;  // C / offset_groups: the channels sharing one offset field
  Boundary boundary = Boundary::v2;
  bool mask = false;
  AtomicStrategy atomic = AtomicStrategy::plain;  // col2im, col2im_coord only
  // Every kernel.
  DType dtype = DType::f32;
  bool index64 = false;  // 64-bit element indices (some tensor of the problem has >= 2^30 elements)
  int block_threads = 0;
  int elems_per_thread = 0;  // 0 for bias_grad (one block per output channel)

  // e.g. "dcn_im2col_k3x3_s1x1_d1x1_cpg64_v2_mask_f32_i32_t256_e1",
  //      "dcn_col2im_coord_k3x3_s2x2_d1x1_cpg16_v1_nomask_bf16_i64_t128_e2_awarp", "dcn_bias_grad_f16_i32_t256".
  std::string name() const;

  // The spec of kernel `kind` for a problem run with `config` (config.im2col_step resolved already
  // or 0 for the heuristic, see config_space.h).
  static KernelSpec of(const Problem& problem, const Config& config, KernelKind kind);

  bool operator==(const KernelSpec&) const = default;
};

bool is_sampling_kernel(KernelKind kind);

// True when some tensor a kernel of this problem indexes (x, offset, mask, y, the column buffer of
// `im2col_step` images, the per-image grad_weight partials) has 2^30 elements or more. 32-bit
// indices are kept below 2^30 so that grid-stride loop counters (index + grid stride) cannot overflow.
bool needs_64bit_index(const Problem& problem, int im2col_step);

}  // namespace dcnjit::gen
