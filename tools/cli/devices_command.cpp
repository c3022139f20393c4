// `dcnjit devices`: which backends can run here. Exits 0 when a CUDA GPU is usable, 1 otherwise
// (scripts/quickstart.sh uses that to pick the backend).
#include <fmt/format.h>

#include "dcnjit/engine.h"
#include "tools/cli/args.h"
#include "tools/cli/command.h"

namespace dcnjit::cli {
namespace {

int run_devices(std::vector<std::string>& argv) {
  Args args(argv);
  args.finish();
  fmt::print("cpu   available\n");
  bool cuda_ok = false;
  try {
    EngineOptions options;
    options.backend = Backend::cuda;
    Engine engine(options);
    DeviceBuffer probe = engine.allocate(16);
    cuda_ok = probe.data() != nullptr;
    fmt::print("cuda  available\n");
  } catch (const Error& e) {
    fmt::print("cuda  unavailable: {}\n", e.what());
  }
  fmt::print("sim   available (runs generated CUDA kernels on the CPU; for tests and debugging)\n");
  return cuda_ok ? 0 : 1;
}

}  // namespace

DCNJIT_COMMAND(Command{"devices", "list the backends usable on this machine (exit 0 when a GPU is usable)",
                       "usage: dcnjit devices\n\nPrints cpu, cuda and sim availability. Exit status 0 when a CUDA "
                       "GPU is usable, 1 otherwise.",
                       run_devices});

}  // namespace dcnjit::cli
