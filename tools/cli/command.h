// The CLI's command registry. Each `dcnjit <name>` lives in its own <name>_command.cpp and registers
// itself with DCNJIT_COMMAND; main.cpp only dispatches. Exit codes: 0 ok, 1 failure, 2 usage error.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace dcnjit::cli {

// Thrown for a malformed command line; main prints "error: <message>" and exits 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Command {
  const char* name;
  const char* synopsis;  // one line, shown by `dcnjit --help`
  const char* usage;     // full usage text, shown by `dcnjit <name> --help`
  int (*run)(std::vector<std::string>& args);  // args after the command name
};

const std::vector<Command>& commands();
bool register_command(const Command& command);

#define DCNJIT_CONCAT_INNER(a, b) a##b
#define DCNJIT_CONCAT(a, b) DCNJIT_CONCAT_INNER(a, b)
#define DCNJIT_COMMAND(...) \
  static const bool DCNJIT_CONCAT(dcnjit_command_registered_, __LINE__) = ::dcnjit::cli::register_command(__VA_ARGS__)

}  // namespace dcnjit::cli
