// `dcnjit emit`: prints the CUDA source the generator produces for a problem, or, with --arch, compiles
// every kernel through NVRTC (via the binary cache) and reports each one's registers, spills and
// shared memory from ptxas' log: no GPU needed.
#include <fmt/format.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dcnjit/error.h"
#include "generator/config_space.h"
#include "generator/generator.h"
#include "runtime/binary_cache.h"
#include "runtime/nvrtc/nvrtc_compiler.h"
#include "tools/cli/args.h"
#include "tools/cli/command.h"
#include "tools/cli/problem_inputs.h"

namespace dcnjit::cli {
namespace {

struct PassKernel {
  gen::Pass pass;
  gen::KernelSource kernel;
};

std::vector<gen::Pass> parse_passes(const std::string& text) {
  if (text == "forward") return {gen::Pass::forward};
  if (text == "backward") return {gen::Pass::backward};
  if (text == "all") return {gen::Pass::forward, gen::Pass::backward};
  throw UsageError(fmt::format("--pass: '{}' is not one of forward, backward, all", text));
}

// The kernels of the passes, each once (backward's im2col is forward's kernel).
std::vector<PassKernel> kernels_of(const Problem& problem, const Config& config, const std::vector<gen::Pass>& passes) {
  std::vector<PassKernel> kernels;
  std::set<std::string> seen;
  for (gen::Pass pass : passes)
    for (gen::KernelSource& kernel : gen::generate(problem, pass, config))
      if (seen.insert(kernel.name).second) kernels.push_back({pass, std::move(kernel)});
  return kernels;
}

void print_sources(const std::vector<PassKernel>& kernels) {
  for (const PassKernel& k : kernels) {
    fmt::print("// ===== {}: {} =====\n{}", gen::to_string(k.pass), k.kernel.name, k.kernel.source);
    if (!k.kernel.source.ends_with('\n')) fmt::print("\n");
  }
}

int report_resources(const std::vector<PassKernel>& kernels, int arch, bool json) {
  detail::BinaryCache cache;  // beside the tuning database; memory-only if that is unusable
  struct Row {
    std::string name;
    nvrtc::CompiledKernel compiled;
  };
  std::vector<Row> rows;
  for (const PassKernel& k : kernels) rows.push_back({k.kernel.name, nvrtc::compile(k.kernel, arch, cache)});
  bool spills = false;
  if (json) {
    std::vector<std::string> items;
    for (const Row& r : rows) {
      const nvrtc::KernelResources& res = r.compiled.resources;
      // Kernel names are C identifiers: no escaping needed. Unknown resources (PTX target) are null.
      if (res.known)
        items.push_back(fmt::format(
            R"({{"name": "{}", "registers": {}, "spill_stores": {}, "spill_loads": {}, "shared_bytes": {}}})", r.name,
            res.registers, res.spill_stores, res.spill_loads, res.shared_bytes));
      else
        items.push_back(fmt::format(
            R"({{"name": "{}", "registers": null, "spill_stores": null, "spill_loads": null, "shared_bytes": null}})",
            r.name));
      spills = spills || res.spill_stores > 0 || res.spill_loads > 0;
    }
    fmt::print("{{\"kernels\": [{}]}}\n", fmt::join(items, ", "));
    return 0;
  }
  std::size_t width = 6;
  for (const Row& r : rows) width = std::max(width, r.name.size());
  fmt::print("{:<{}}  {:>9}  {:>12}  {:>11}  {:>12}  {}\n", "kernel", width, "registers", "spill_stores",
             "spill_loads", "shared_bytes", "target");
  for (const Row& r : rows) {
    const nvrtc::KernelResources& res = r.compiled.resources;
    if (res.known)
      fmt::print("{:<{}}  {:>9}  {:>12}  {:>11}  {:>12}  {}\n", r.name, width, res.registers, res.spill_stores,
                 res.spill_loads, res.shared_bytes, r.compiled.target);
    else
      fmt::print("{:<{}}  {:>9}  {:>12}  {:>11}  {:>12}  {} (PTX: ptxas runs in the driver)\n", r.name, width, "-",
                 "-", "-", "-", r.compiled.target);
    spills = spills || res.spill_stores > 0 || res.spill_loads > 0;
  }
  if (spills) fmt::print("warning: some kernels spill registers to local memory\n");
  return 0;
}

int emit(std::vector<std::string>& argv) {
  Args args(argv);
  const std::optional<std::string> in = args.take("in");
  const std::optional<std::string> problem_text = args.take("problem");
  const std::vector<gen::Pass> passes = parse_passes(args.take_or("pass", "all"));
  const std::optional<std::string> arch_text = args.take("arch");
  const std::optional<std::string> config_text = args.take("config");
  const bool json = args.take_flag("json");
  const Problem flags = take_problem_flags(args);
  args.finish();
  if (in.has_value() == problem_text.has_value())
    throw UsageError("give exactly one of --in DIR (arrays that fix the shapes) or --problem \"N2 C64 H32 W32 ...\"");
  if (json && !arch_text) throw UsageError("--json reports compiled resources: it needs --arch sm_XX");

  const Problem problem = in ? load_problem_inputs(*in, flags, io::GradYFile::ignore).problem : Problem::parse(*problem_text);
  problem.validate();
  Config config = config_text ? Config::parse(*config_text) : gen::default_kernel_config(problem);
  gen::validate_kernel_config(problem, config);
  const std::vector<PassKernel> kernels = kernels_of(problem, config, passes);
  if (!arch_text) {
    print_sources(kernels);
    return 0;
  }
  return report_resources(kernels, nvrtc::parse_arch(*arch_text), json);
}

const std::string kUsage = std::string(
    "usage: dcnjit emit (--in DIR | --problem TEXT) [--pass forward|backward|all] [--config TEXT]\n"
    "                   [--arch sm_XX [--json]] [problem flags]\n"
    "\n"
    "Prints the CUDA source of every kernel the generator emits for the problem (each kernel once, in launch\n"
    "order). With --arch, compiles each through NVRTC for that architecture instead (cubin, or PTX when NVRTC\n"
    "does not support it; through the binary cache) and reports registers, spill stores, spill loads and static\n"
    "shared memory per kernel from ptxas' log. No GPU is needed.\n"
    "\n"
    "  --in DIR           arrays as for `dcnjit run` (x.npy, offset.npy, weight.npy, [mask.npy], [bias.npy])\n"
    "  --problem TEXT     the problem in its canonical form instead, e.g. \"N2 C64 H32 W32 Co64 k3x3 p1x1 mask\"\n"
    "                     (the problem flags below are then ignored)\n"
    "  --pass P           forward, backward or all (default)\n"
    "  --config TEXT      kernel config, e.g. \"step=2 threads=128 ept=2 bwd=split atomic=warp\"\n"
    "                     (default: the heuristic config)\n"
    "  --arch sm_XX       compile for this architecture and report resources\n"
    "  --json             with --arch: {\"kernels\": [{\"name\", \"registers\", \"spill_stores\", \"spill_loads\",\n"
    "                     \"shared_bytes\"}, ...]}\n") + kProblemFlagsUsage + "\n"
    "\nExit status: 0 on success, 1 on a failure (compile errors print the numbered source), 2 on a usage error.";

DCNJIT_COMMAND(Command{"emit", "print the generated CUDA source, or its register/spill report (--arch)",
                       kUsage.c_str(), emit});

}  // namespace
}  // namespace dcnjit::cli
