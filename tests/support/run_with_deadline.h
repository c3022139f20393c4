// Runs a piece of a test that might block or read without end (a FIFO, /dev/zero) in a child process
// killed after a deadline and, outside sanitizer builds, limited to 2 GiB of memory: a regression then
// fails the test instead of hanging the suite or exhausting the machine.
#pragma once

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>

namespace dcnjit::testing {

// `body` returns the child's exit status (0 = as expected). Returns that status, or 100 + the signal
// that ended the child (114 = SIGALRM: it ran past `seconds`).
template <typename Body>
int run_with_deadline(Body body, unsigned seconds = 10) {
  const pid_t pid = fork();
  if (pid == 0) {
    alarm(seconds);
#if !defined(__SANITIZE_ADDRESS__)
    const rlimit memory{std::size_t(2) << 30, std::size_t(2) << 30};
    setrlimit(RLIMIT_AS, &memory);
#endif
    _exit(body());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

}  // namespace dcnjit::testing
