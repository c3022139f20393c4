#include "runtime/sim/host_compiler.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
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

// How long one compiler run may take: DCNJIT_SIM_COMPILE_TIMEOUT seconds, else 300 (a kernel takes about
// a second, the precompiled header a few; a compiler that hangs must not hang dcnjit with it).
std::chrono::seconds compile_timeout() {
  if (const char* text = std::getenv("DCNJIT_SIM_COMPILE_TIMEOUT"); text && *text) {
    char* end = nullptr;
    const long seconds = std::strtol(text, &end, 10);
    if (*end == '\0' && seconds > 0 && seconds <= 86400) return std::chrono::seconds(seconds);
    throw Error(ErrorCode::InvalidArgument,
                fmt::format("DCNJIT_SIM_COMPILE_TIMEOUT='{}' is not a number of seconds in [1, 86400]", text));
  }
  return std::chrono::seconds(300);
}

// The compiler's output, at most kKeep bytes from its start and kKeep from its end: a compiler that
// floods its log (megabytes of warnings) must not flood the error message.
class BoundedLog {
 public:
  static constexpr std::size_t kKeep = 32 * 1024;

  void append(const char* data, std::size_t size) {
    const std::size_t to_head = std::min(size, kKeep - std::min(kKeep, head_.size()));
    head_.append(data, to_head);
    tail_.append(data + to_head, size - to_head);
    if (tail_.size() > 2 * kKeep) {
      omitted_ += tail_.size() - kKeep;
      tail_.erase(0, tail_.size() - kKeep);
    }
  }

  std::string text() {
    if (tail_.size() > kKeep) {
      omitted_ += tail_.size() - kKeep;
      tail_.erase(0, tail_.size() - kKeep);
    }
    if (omitted_ == 0) return head_ + tail_;
    return head_ + fmt::format("\n[... {} bytes of compiler output left out ...]\n", omitted_) + tail_;
  }

 private:
  std::string head_, tail_;
  std::size_t omitted_ = 0;
};

// The path after "-o", if any: the file a successful run must have written.
std::string output_file(const std::vector<std::string>& arguments) {
  for (std::size_t i = 0; i + 1 < arguments.size(); ++i)
    if (arguments[i] == "-o") return arguments[i + 1];
  return {};
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

  // Its own process group, so a timeout ends the driver and the cc1plus, as and ld it started.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);
  pid_t pid = 0;
  const int spawn_error = posix_spawnp(&pid, path_.c_str(), &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  close(pipe_fds[1]);
  if (spawn_error != 0) {
    close(pipe_fds[0]);
    throw Error(ErrorCode::CompileError, missing_compiler_message(path_, origin_, std::strerror(spawn_error)));
  }

  Output output;
  BoundedLog log;
  const std::chrono::seconds timeout = compile_timeout();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  char buffer[4096];
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      kill(-pid, SIGKILL);
      break;
    }
    pollfd readable{pipe_fds[0], POLLIN, 0};
    const int ready = poll(&readable, 1, int(std::min<int64_t>(left.count(), 1000)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;  // nothing yet: check the deadline again
    const ssize_t n = read(pipe_fds[0], buffer, sizeof buffer);
    if (n > 0) {
      log.append(buffer, std::size_t(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(pipe_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  output.text = log.text();
  if (timed_out)
    throw Error(ErrorCode::CompileError,
                fmt::format("sim: the host compiler '{}' did not finish within {} s and was stopped (set "
                            "DCNJIT_SIM_COMPILE_TIMEOUT to allow longer)\ncommand: {}\n--- compiler log ---\n{}",
                            path_, timeout.count(), command_line(path_, arguments), output.text));
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
  if (output.exit_status == 0) {
    // Exit status 0 without the file it was asked for: a broken compiler (or a stand-in such as
    // /bin/true), not a problem of the work directory the file would have gone to.
    const std::string file = output_file(arguments);
    if (file.empty() || access(file.c_str(), F_OK) == 0) return std::move(output.text);
    throw Error(ErrorCode::CompileError,
                fmt::format("sim: the host compiler '{}' (from {}) exited with status 0 but wrote no {} while "
                            "compiling {}\ncommand: {}\n--- compiler log ---\n{}",
                            path_, origin_, file, what, command_line(path_, arguments),
                            output.text.empty() ? "(empty)\n" : output.text));
  }
  throw Error(ErrorCode::CompileError,
              fmt::format("sim: host compilation of {} failed (exit status {})\ncommand: {}\n--- compiler log ---\n{}"
                          "--- source ---\n{}",
                          what, output.exit_status, command_line(path_, arguments), output.text,
                          number_lines(source_text)));
}

}  // namespace dcnjit::sim
