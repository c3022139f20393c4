// The host C++ compiler the sim backend builds kernel libraries with: the compiler dcnjit itself
// was configured with (baked in at build time), or the one named by the environment variable
// DCNJIT_SIM_CXX. Runs it as a child process (no shell) and turns a failure into
// Error(CompileError) carrying the compiler's log and the numbered source, the way jitify reports
// NVRTC errors.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace dcnjit::sim {

class HostCompiler {
 public:
  // DCNJIT_SIM_CXX when set and non-empty, else the build's C++ compiler.
  static HostCompiler from_environment();
  HostCompiler(std::string path, std::string origin);

  const std::string& path() const { return path_; }
  // Where the path came from, for messages: "DCNJIT_SIM_CXX" or "the build's CMAKE_CXX_COMPILER".
  const std::string& origin() const { return origin_; }

  // First line of `<compiler> --version` (e.g. "g++ (Debian 12.2.0-14) 12.2.0"); part of binary-cache
  // keys and of the backend's environment string. Throws like compile() when the compiler cannot run.
  std::string identity() const;

  // `<compiler> -dumpmachine` (e.g. "x86_64-linux-gnu"): what the shared objects it builds run on;
  // the target of binary-cache keys.
  std::string target_machine() const;

  // Runs `<compiler> arguments...` and returns its output (warnings; usually empty). On a non-zero
  // exit throws Error(CompileError) with `what` (the kernel), the command line, the compiler output
  // and `source_text` with line numbers.
  std::string compile(const std::vector<std::string>& arguments, const std::string& what, const std::string& source_text) const;

 private:
  struct Output {
    int exit_status = 0;
    std::string text;  // stdout and stderr, interleaved
  };
  Output run(const std::vector<std::string>& arguments) const;

  std::string path_;
  std::string origin_;
};

// "   1 | first line\n   2 | ..." (the form compile errors show the source in).
std::string number_lines(const std::string& text);

}  // namespace dcnjit::sim
