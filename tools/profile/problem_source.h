// Where `dcnjit bench` and `dcnjit profile` get their problems: a directory of .npy arrays (--in), a
// named preset (--preset, tuner/presets.h) or a one-line problem string (--problem, Problem::parse).
// Presets and problem strings give only shapes; their arrays are random and non-zero (workload.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dcnjit/error.h"
#include "tools/io/problem_arrays.h"

namespace dcnjit::profile {

struct ProblemSource {
  std::optional<std::string> in_dir;   // --in DIR
  std::optional<std::string> preset;   // --preset NAME
  std::optional<std::string> problem;  // --problem "N1 C256 H50 W76 Co256 k3 p1 mask"

  int count() const { return int(in_dir.has_value()) + int(preset.has_value()) + int(problem.has_value()); }
};

// The problems `source` names (exactly one of its fields must be set), each with grad_y present.
// `flags` are the problem flags of the command line (stride, pad, dilation, groups, boundary, dtype): they
// complete the arrays of --in; for a preset or a problem string only --dtype and --boundary apply, and a
// stride/pad/dilation/groups flag is an Error(InvalidArgument) naming it (the string already fixes them).
std::vector<io::ProblemArrays> load_problems(const ProblemSource& source, const Problem& flags);

}  // namespace dcnjit::profile
