// The generator: (Problem, Pass, Config) -> the KernelSources of that pass. Output is deterministic
// (same input, byte-identical source) and readable: a comment header describing the
// specialization, the template include, the compile-time Spec and an extern "C" __global__ entry
// named after the specialization (KernelSpec::name()).
#pragma once

#include <vector>

#include "dcnjit/config.h"
#include "dcnjit/problem.h"
#include "generator/kernel_source.h"
#include "generator/kernel_spec.h"

namespace dcnjit::gen {

// The type every generated entry point takes (by value): templates/params.cuh.
inline constexpr const char* kParamType = "dcn::Params";

KernelSource generate_kernel(const KernelSpec& spec);

// The kernels a pass may launch for this problem and config, in launch order:
//   forward   im2col
//   backward  im2col (column recompute for grad_weight), col2im_coord (fused) or col2im + coord
//             (split), bias_grad, and for f16/bf16 reduce + cast (f32 accumulators).
// The pipeline launches only those the requested gradients need.
std::vector<KernelSpec> pass_kernels(const Problem& problem, const Config& config, Pass pass);
std::vector<KernelSource> generate(const Problem& problem, Pass pass, const Config& config);

}  // namespace dcnjit::gen
