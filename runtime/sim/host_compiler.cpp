#include "runtime/sim/host_compiler.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "dcnjit/error.h"

extern char** environ;

namespace dcnjit::sim {

namespace {

// Baked in by runtime/sim/CMakeLists.txt.
#ifndef DCNJIT_SIM_DEFAULT_CXX
#define DCNJIT_SIM_DEFAULT_CXX "c++"
#endif

std::string missing_compiler_message(const std::string& path, const std::string& origin, const std::string& why) {
  return fmt::format(
      "sim: cannot run the host C++ compiler '{}' (from {}): {}. The sim backend compiles kernels with it at run "
      "time; set DCNJIT_SIM_CXX to the path of a working g++ or clang++.",
      path, origin, why);
}

std::string command_line(const std::string& path, const std::vector<std::string>& arguments) {
  std::string out = path;
  for (const std::string& argument : arguments) out += " " + argument;
  return out;
}

}  // namespace

std::string number_lines(const std::string& text) {
  std::string out;
  int line = 1;
  std::size_t begin = 0;
  while (begin < text.size()) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    out += fmt::format("{:4} | {}\n", line++, std::string_view(text).substr(begin, end - begin));
    begin = end + 1;
  }
  return out;
}

HostCompiler HostCompiler::from_environment() {
  const char* override_path = std::getenv("DCNJIT_SIM_CXX");
  if (override_path && *override_path) return HostCompiler(override_path, "DCNJIT_SIM_CXX");
  return HostCompiler(DCNJIT_SIM_DEFAULT_CXX, "the build's CMAKE_CXX_COMPILER; override with DCNJIT_SIM_CXX");
}

HostCompiler::HostCompiler(std::string path, std::string origin) : path_(std::move(path)), origin_(std::move(origin)) {}

HostCompiler::Output HostCompiler::run(const std::vector<std::string>& arguments) const {
  // A path with a slash must name an executable file; a bare name is looked up in PATH by spawnp.
  if (path_.find('/') != std::string::npos && access(path_.c_str(), X_OK) != 0)
    throw Error(ErrorCode::CompileError, missing_compiler_message(path_, origin_, std::strerror(errno)));

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0)
    throw Error(ErrorCode::CompileError, fmt::format("sim: pipe() failed: {}", std::strerror(errno)));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);

  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(path_.c_str()));
  for (const std::string& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
  argv.push_back(nullptr);

  pid_t pid = 0;
  const int spawn_error = posix_spawnp(&pid, path_.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (spawn_error != 0) {
    close(pipe_fds[0]);
    throw Error(ErrorCode::CompileError, missing_compiler_message(path_, origin_, std::strerror(spawn_error)));
  }

  Output output;
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(pipe_fds[0], buffer, sizeof buffer);
    if (n > 0) {
      output.text.append(buffer, std::size_t(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(pipe_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // posix_spawnp reports a failed exec as exit status 127 on glibc.
  output.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (output.exit_status == 127 && output.text.empty())
    throw Error(ErrorCode::CompileError, missing_compiler_message(path_, origin_, "it could not be executed"));
  return output;
}

std::string HostCompiler::identity() const {
  const Output output = run({"--version"});
  if (output.exit_status != 0)
    throw Error(ErrorCode::CompileError,
                missing_compiler_message(path_, origin_, fmt::format("'--version' exited with {}", output.exit_status)));
  return output.text.substr(0, output.text.find('\n'));
}

std::string HostCompiler::target_machine() const {
  const Output output = run({"-dumpmachine"});
  if (output.exit_status != 0)
    throw Error(ErrorCode::CompileError, missing_compiler_message(path_, origin_,
                                                                  fmt::format("'-dumpmachine' exited with {}",
                                                                              output.exit_status)));
  return output.text.substr(0, output.text.find('\n'));
}

std::string HostCompiler::compile(const std::vector<std::string>& arguments, const std::string& what,
                                  const std::string& source_text) const {
  Output output = run(arguments);
  if (output.exit_status == 0) return std::move(output.text);
  throw Error(ErrorCode::CompileError,
              fmt::format("sim: host compilation of {} failed (exit status {})\ncommand: {}\n--- compiler log ---\n{}"
                          "--- source ---\n{}",
                          what, output.exit_status, command_line(path_, arguments), output.text,
                          number_lines(source_text)));
}

}  // namespace dcnjit::sim
