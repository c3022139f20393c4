// An independent float64 reference of deformable convolution for the CPU backend's tests: plain loops
// over every output, tap and channel, written from docs/semantics.md without templates/sampling.cuh.
// v2 follows torchvision's CPU kernels term by term (corner validity tests, its coordinate-weight
// formula, which gives the exact-border convention), v1 follows MXNet's clamped bilinear with a zero
// derivative along a clamped axis. Slow on purpose; only for small problems.
#pragma once

#include <vector>

#include "dcnjit/problem.h"

namespace dcnjit::testing {

struct ReferenceInputs {
  std::vector<double> x, offset, mask, weight, bias;  // mask/bias empty when absent
};

struct ReferenceOutputs {
  std::vector<double> y;
  std::vector<double> grad_x, grad_offset, grad_mask, grad_weight, grad_bias;  // grad_mask empty without a mask
};

// Forward, and with a non-empty grad_y all five gradients. problem.dtype is ignored.
ReferenceOutputs reference_dcn(const Problem& problem, const ReferenceInputs& inputs,
                               const std::vector<double>& grad_y);

}  // namespace dcnjit::testing
