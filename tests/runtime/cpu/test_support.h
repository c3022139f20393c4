// Shared helpers of the CPU backend tests: random problem data, running the cpu backend through its
// BackendImpl on any dtype, and the relative L2 error used by every comparison.
#pragma once

#include <cstdint>
#include <vector>

#include "dcnjit/config.h"
#include "dcnjit/problem.h"
#include "tests/runtime/cpu/reference_dcn.h"

namespace dcnjit::testing {

// How random offsets are drawn.
enum class OffsetStyle {
  anywhere,                // uniform in [-3, 3]: many samples straddle or leave the image
  away_from_cell_borders,  // integer in [-2, 2] plus a fraction in [0.1, 0.9] (finite differences)
  zero,                    // all 0: every sample on a grid point (exact-border convention)
  integer,                 // integers in [-2, 2]
};

// x, weight in [-1, 1], mask in [0, 1], bias in [-1, 1]; deterministic for a seed.
ReferenceInputs random_inputs(const Problem& problem, uint32_t seed, OffsetStyle style);
std::vector<double> random_values(std::size_t count, uint32_t seed, double low, double high);
std::size_t output_size(const Problem& problem);  // N * Co * Ho * Wo

// ||actual - expected||_2 / ||expected||_2 (absolute when expected is all zeros). Sizes must match.
double relative_l2(const std::vector<double>& actual, const std::vector<double>& expected);

// Every value rounded to what `dtype` can hold (identity for f32 beyond float rounding).
ReferenceInputs rounded_to(const ReferenceInputs& inputs, DType dtype);
std::vector<double> rounded_to(const std::vector<double>& values, DType dtype);

struct BackendRunOptions {
  Config config;  // knobs left out take the backend's defaults (BackendImpl::resolve)
  int threads = 1;
  bool backward = true;  // also run backward with all five gradients
};

// Runs forward (and backward) of the cpu backend with tensors of problem.dtype made from `inputs`;
// results are widened back to double. With options.backward false only y is filled.
ReferenceOutputs run_cpu_backend(const Problem& problem, const ReferenceInputs& inputs,
                                 const std::vector<double>& grad_y, const BackendRunOptions& options);

}  // namespace dcnjit::testing
