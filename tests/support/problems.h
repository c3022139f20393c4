// The one problem list every backend test runs (in the manner of CUTLASS's conv2d_problems.h): small
// shapes, each adding a feature (mask/bias, v1 border, groups and offset groups, strides, dilation,
// padding, non-square kernels, a batch the chunk size does not divide). cpu, sim and cuda tests and the
// NVRTC sweep instantiate over it, in every dtype and layout they support, and name their instances
// after what they run (test_instance_name, KernelSpec::name()).
//
// Also what those tests share to run a problem on any backend: random inputs that exercise the
// robustness contract, the NCHW <-> NHWC permutation of arrays (NHWC results must equal NCHW
// results), and the per-dtype tolerances.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dcnjit/engine.h"
#include "tools/io/device_problem.h"
#include "tools/io/problem_arrays.h"

namespace dcnjit::test {

struct TestProblem {
  std::string name;  // a C identifier for test names: what the problem adds
  std::string text;  // Problem::parse syntax, f32 nchw
  int partial_step;  // an im2col step that leaves a partial last chunk (does not divide N)
};

const std::vector<TestProblem>& test_problems();

// The problem of `p` in `dtype` and `layout`.
Problem problem_of(const TestProblem& p, DType dtype, Layout layout);

// "<name>_<dtype>_<layout>", e.g. "v1_groups2_og2_f16_nhwc".
std::string test_instance_name(const TestProblem& p, DType dtype, Layout layout);

// Deterministic random inputs and grad_y for `problem`, stored in its layout's memory order. Offsets mix
// integers (exact cell borders), fractions, points far outside the image and one NaN, so the border
// rules and the robustness contract are part of every comparison; the mask lies in (0, 1).
io::ProblemArrays random_arrays(const Problem& problem, uint32_t seed);

// The same arrays stored for `layout` (the activation arrays permuted, problem.layout set).
io::ProblemArrays in_layout(const io::ProblemArrays& arrays, Layout layout);
// Results of `problem` (in its layout's order) permuted into NCHW order.
io::ProblemResults to_nchw(const io::ProblemResults& results, const Problem& problem);

// Forward, then backward with every gradient, on `engine`; `config` null: the plan's own choice.
io::ProblemResults run_both_passes(Engine& engine, const io::ProblemArrays& arrays, const Config* config = nullptr);

// The same on a backend held directly (a sim backend with its own SimOptions) under `config` (an
// algorithm and knobs, resolved by the backend), results permuted into NCHW order.
io::ProblemResults run_both_passes(const std::shared_ptr<detail::BackendImpl>& backend,
                                   const io::ProblemArrays& arrays, const std::string& config);

// Two arrays have the same bits (NaN payloads included), or where they first differ.
::testing::AssertionResult same_bits(const char* name, const std::optional<io::HostArray>& a,
                                     const std::optional<io::HostArray>& b);
// Every output of two results has the same bits (grad_x too unless `except_grad_x`).
::testing::AssertionResult all_same_bits(const io::ProblemResults& a, const io::ProblemResults& b,
                                         bool except_grad_x = false);

// Relative L2 bound of a backend against the cpu backend on the same (rounded) inputs:
//   f32  1e-5: both sum the same f32 products in different orders (blocked GEMMs, atomics), a worst-case
//        reordering error of ~terms * 6e-8 for at most a few hundred terms; a wrong tap, corner, mask or
//        scatter changes whole terms (>= 1e-2 relative at these sizes).
//   f16  4e-3 and bf16 2e-2: each backend rounds its outputs and stored intermediates (columns, dcol)
//        to 11 and 8 mantissa bits (2^-11 ~ 4.9e-4, 2^-8 ~ 3.9e-3 per element); a few ulps of accumulated
//        intermediate rounding still fail a wrong term.
//   f64  1e-6: the sums are double, but io::ProblemResults reads results back as f32 (2^-24 per element).
double tolerance_against_cpu(DType dtype);

}  // namespace dcnjit::test
