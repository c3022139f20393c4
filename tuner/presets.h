// Named problem lists for `dcnjit tune --preset` and the benchmarks.
#pragma once

#include <string>
#include <vector>

#include "dcnjit/problem.h"

namespace dcnjit::tuner {

struct Preset {
  const char* name;
  const char* description;
  std::vector<Problem> problems;
};

// smoke, dcnv2-r50, tf-alexnet-conv1.
const std::vector<Preset>& presets();
// Error(InvalidArgument) listing the known names when `name` is not one of them.
const Preset& find_preset(const std::string& name);

// Reads one problem per line in Problem::to_string() syntax; '#' starts a comment, blank lines are
// skipped. Error(IoError) naming the file and line for an unreadable file or a bad problem.
std::vector<Problem> read_problem_file(const std::string& path);

}  // namespace dcnjit::tuner
