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
  std::string q = "'";
  for (char c : arg) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

inline DcnjitResult run_dcnjit(const std::vector<std::string>& args,
                               const std::map<std::string, std::string>& environment = {}) {
  std::string command = "env";
  for (const auto& [name, value] : environment) command += " " + shell_quoted(name + "=" + value);
  command += " " + shell_quoted(DCNJIT_CLI_PATH);
  for (const std::string& arg : args) command += " " + shell_quoted(arg);
  command += " 2>&1";
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
