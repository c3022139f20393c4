// What the commands that work on arrays from disk (run, emit, bench, profile) share: the problem flags
// (--stride --pad --dilation --groups --boundary --dtype) and `--in DIR`, a directory in the layout of
// tools/io/problem_arrays.h whose files fix the shapes, offset groups, mask and bias.
#pragma once

#include "dcnjit/config.h"
#include "dcnjit/problem.h"
#include "tools/cli/args.h"
#include "tools/io/problem_arrays.h"

namespace dcnjit::cli {

// Usage lines for the flags below, for the commands' --help texts.
extern const char* const kProblemFlagsUsage;

// Takes --stride S[,S] --pad P[,P] --dilation D[,D] --groups G --boundary v1|v2 --dtype f32|f16|bf16|f64
// --layout nchw|nhwc from
// `args` (defaults 1, 0, 1, 1, v2, f32) into a Problem whose shape fields are left at their defaults.
// A malformed value is a UsageError naming the flag.
Problem take_problem_flags(Args& args);

// Takes --backend cpu|cuda|sim (default cpu); a UsageError names a bad value.
Backend take_backend(Args& args);

// Takes --algorithm NAME ("" when absent: every algorithm of the backend); the backend checks the name.
std::string take_algorithm(Args& args);
inline constexpr const char* kAlgorithmUsage =
    "  --algorithm NAME   run only this algorithm (im2col, fused; the cpu backend has im2col only)\n";

// Takes --allow-tf32: f32 GEMMs may round their operands to TF32 (EngineOptions::allow_tf32).
bool take_allow_tf32(Args& args);
inline constexpr const char* kAllowTf32Usage =
    "  --allow-tf32       f32 GEMMs may use TF32 tensor cores (cuda; ~1e-3 relative error; default exact f32)\n";

// Takes --deterministic: bit-identical results run to run (EngineOptions::deterministic).
bool take_deterministic(Args& args);
inline constexpr const char* kDeterministicUsage =
    "  --deterministic    no floating-point atomics: bit-identical results from run to run (some cost)\n";

// Reads the arrays in `dir` with the parameters of `flags` (from take_problem_flags).
io::ProblemArrays load_problem_inputs(const std::string& dir, const Problem& flags, io::GradYFile grad_y);

}  // namespace dcnjit::cli
