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

// Takes --stride S[,S] --pad P[,P] --dilation D[,D] --groups G --boundary v1|v2 --dtype f32|f16|bf16 from
// `args` (defaults 1, 0, 1, 1, v2, f32) into a Problem whose shape fields are left at their defaults.
// A malformed value is a UsageError naming the flag.
Problem take_problem_flags(Args& args);

// Takes --backend cpu|cuda|sim (default cpu); a UsageError names a bad value.
Backend take_backend(Args& args);

// Reads the arrays in `dir` with the parameters of `flags` (from take_problem_flags).
io::ProblemArrays load_problem_inputs(const std::string& dir, const Problem& flags, io::GradYFile grad_y);

}  // namespace dcnjit::cli
