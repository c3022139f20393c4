// Runs another executable (the real `dcnjit` CLI, the cache probe) the way a user would: a separate
// process, so nothing loaded or cached in this process's memory can help it.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace dcnjit::sim::testing {

struct ChildResult {
  int exit_code = -1;  // -1 when it did not exit normally (killed by a signal)
  std::string output;  // stdout and stderr, interleaved
};

// Runs `argv` (argv[0] is the executable's path) with this process's environment plus
// `environment` (added or replaced), waits for it, and returns its exit code and output.
ChildResult run_child(const std::vector<std::string>& argv, const std::map<std::string, std::string>& environment = {});

}  // namespace dcnjit::sim::testing
