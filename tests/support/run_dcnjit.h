// Runs the built `dcnjit` binary as a user would (DCNJIT_CLI_PATH, defined by the test's CMakeLists):
// its exit status and its output, stdout and stderr together. `environment` entries are set for the
// child only ("" sets a variable to empty, which dcnjit treats as unset).
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace dcnjit::testing {

struct DcnjitResult {
  int exit_code = -1;  // -1 when it did not exit normally
  std::string output;
};

inline std::string shell_quoted(const std::string& arg) {
  std::string q(1, '\'');
  for (char c : arg) {
    if (c == '\'') q.append("'\\''");
    else q.push_back(c);
  }
  q.push_back('\'');
  return q;
}

inline DcnjitResult run_dcnjit(const std::vector<std::string>& args,
                               const std::map<std::string, std::string>& environment = {}) {
  std::string command = "env";
  auto add = [&](const std::string& word) {
    command.push_back(' ');
    command.append(shell_quoted(word));
  };
  for (const auto& [name, value] : environment) {
    std::string assignment = name;
    assignment.push_back('=');
    assignment.append(value);
    add(assignment);
  }
  add(DCNJIT_CLI_PATH);
  for (const std::string& arg : args) add(arg);
  command.append(" 2>&1");
  DcnjitResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer;
  std::size_t got;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), got);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace dcnjit::testing
