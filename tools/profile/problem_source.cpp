#include "tools/profile/problem_source.h"

#include <fmt/format.h>

#include "tools/profile/workload.h"
#include "tuner/presets.h"

namespace dcnjit::profile {
namespace {

// The flags a problem string or preset already fixes; giving them as well is ambiguous.
void reject_shape_flags(const Problem& flags, const std::string& source) {
  const Problem defaults;
  auto reject = [&](const char* flag) {
    throw Error(ErrorCode::InvalidArgument,
                fmt::format("--{} applies to --in only; with {} put it in the problem string", flag, source));
  };
  if (flags.stride_h != defaults.stride_h || flags.stride_w != defaults.stride_w) reject("stride");
  if (flags.pad_h != defaults.pad_h || flags.pad_w != defaults.pad_w) reject("pad");
  if (flags.dilation_h != defaults.dilation_h || flags.dilation_w != defaults.dilation_w) reject("dilation");
  if (flags.groups != defaults.groups) reject("groups");
}

// --dtype, --boundary and --layout given on the command line override the problem's own.
Problem with_type_flags(Problem problem, const Problem& flags) {
  const Problem defaults;
  if (flags.dtype != defaults.dtype) problem.dtype = flags.dtype;
  if (flags.boundary != defaults.boundary) problem.boundary = flags.boundary;
  if (flags.layout != defaults.layout) problem.layout = flags.layout;
  return problem;
}

}  // namespace

std::vector<io::ProblemArrays> load_problems(const ProblemSource& source, const Problem& flags) {
  if (source.count() != 1)
    throw Error(ErrorCode::InvalidArgument, "give exactly one of --in DIR, --preset NAME, --problem \"...\"");
  std::vector<io::ProblemArrays> problems;
  if (source.in_dir) {
    problems.push_back(io::load_problem_arrays(*source.in_dir, flags, io::GradYFile::optional));
  } else if (source.problem) {
    reject_shape_flags(flags, "--problem");
    problems.push_back(random_inputs(with_type_flags(Problem::parse(*source.problem), flags)));
  } else {
    reject_shape_flags(flags, "--preset");
    for (const Problem& problem : tuner::find_preset(*source.preset).problems)
      problems.push_back(random_inputs(with_type_flags(problem, flags)));
  }
  for (auto& p : problems) ensure_grad_y(p);
  return problems;
}

}  // namespace dcnjit::profile
