// dcnjit: the command-line tool. Dispatches to the registered commands (see command.h).
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "dcnjit/error.h"
#include "tools/cli/command.h"

namespace dcnjit::cli {

namespace {
std::vector<Command>& registry() {
  static std::vector<Command> list;
  return list;
}
}  // namespace

const std::vector<Command>& commands() { return registry(); }

bool register_command(const Command& command) {
  registry().push_back(command);
  std::sort(registry().begin(), registry().end(),
            [](const Command& a, const Command& b) { return std::string(a.name) < b.name; });
  return true;
}

namespace {

void print_help() {
  fmt::print("dcnjit {}: specialized, autotuned deformable convolution\n\nusage: dcnjit <command> [options]\n\n",
             DCNJIT_VERSION);
  for (const auto& c : commands()) fmt::print("  {:<8} {}\n", c.name, c.synopsis);
  fmt::print("\n`dcnjit <command> --help` shows a command's options.\n");
}

}  // namespace
}  // namespace dcnjit::cli

int main(int argc, char** argv) {
  using namespace dcnjit::cli;
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    print_help();
    return argc < 2 ? 2 : 0;
  }
  if (std::string(argv[1]) == "--version") {
    fmt::print("dcnjit {}\n", DCNJIT_VERSION);
    return 0;
  }
  const std::string name = argv[1];
  auto it = std::find_if(commands().begin(), commands().end(), [&](const Command& c) { return name == c.name; });
  if (it == commands().end()) {
    fmt::print(stderr, "error: unknown command '{}' (see dcnjit --help)\n", name);
    return 2;
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  if (std::find(args.begin(), args.end(), "--help") != args.end()) {
    fmt::print("{}\n", it->usage);
    return 0;
  }
  try {
    return it->run(args);
  } catch (const UsageError& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 2;
  } catch (const dcnjit::Error& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
}
