// `dcnjit emit`: prints the CUDA source of the kernels an algorithm launches for a problem (the list
// comes from the algorithm, algorithms/algorithm.h), or, with --arch, compiles every kernel through
// NVRTC (via the binary cache) and reports each one's registers, spills and shared memory from ptxas'
// log: no GPU needed. The knob table is the cuda backend's for that architecture.
#include <fmt/format.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "algorithms/registry.h"
#include "core/json_writer.h"
#include "dcnjit/error.h"
#include "generator/generator.h"
#include "runtime/binary_cache.h"
#include "runtime/nvrtc/nvrtc_compiler.h"
#include "tools/cli/args.h"
#include "tools/cli/command.h"
#include "tools/cli/problem_inputs.h"

namespace dcnjit::cli {
namespace {

struct PassKernel {
  Direction pass;
  gen::KernelSource kernel;
};

std::vector<Direction> parse_passes(const std::string& text) {
  if (text == "forward") return {Direction::forward};
  if (text == "backward") return {Direction::backward};
  if (text == "all") return {Direction::forward, Direction::backward};
  throw UsageError(fmt::format("--pass: '{}' is not one of forward, backward, all", text));
}

// The device emit generates for: the cuda backend's view of an sm_XX GPU (its knob tables include the
// cuBLASLt candidates). Only the architecture matters to the generated source.
detail::DeviceTraits emit_target(int arch) {
  detail::DeviceTraits traits;
  traits.backend = Backend::cuda;
  traits.arch = arch;
  traits.gemm_algorithms = 8;
  return traits;
}

const algo::Algorithm& find_algorithm(const std::vector<std::unique_ptr<algo::Algorithm>>& algorithms,
                                      const std::string& name, const Problem& problem) {
  std::vector<std::string> names, reasons;
  for (const auto& a : algorithms) {
    names.push_back(a->name());
    if (!name.empty() && a->name() != name) continue;
    if (std::string why = a->cannot_implement(problem); !why.empty()) {
      reasons.push_back(why);
      continue;
    }
    return *a;
  }
  if (!name.empty() && std::find(names.begin(), names.end(), name) == names.end())
    throw UsageError(fmt::format("--algorithm: '{}' is not one of {}", name, fmt::join(names, ", ")));
  throw Error(ErrorCode::Unsupported, fmt::format("no algorithm can run '{}': {}", problem.to_string(),
                                                  fmt::join(reasons, "; ")));
}

// The kernels of the passes, each once (backward's im2col is forward's kernel), with every gradient.
std::vector<PassKernel> kernels_of(const algo::Algorithm& algorithm, const Problem& problem, const Config& config,
                                   const std::vector<Direction>& passes) {
  std::vector<PassKernel> kernels;
  std::set<std::string> seen;
  for (Direction pass : passes)
    for (const gen::KernelSpec& spec : algorithm.kernels(problem, config, pass, algo::all_gradients(problem)))
      if (seen.insert(spec.name()).second) kernels.push_back({pass, gen::generate_kernel(spec)});
  return kernels;
}

void print_sources(const std::vector<PassKernel>& kernels) {
  for (const PassKernel& k : kernels) {
    fmt::print("// ===== {}: {} =====\n{}", to_string(k.pass), k.kernel.name, k.kernel.source);
    if (!k.kernel.source.ends_with('\n')) fmt::print("\n");
  }
}

// The --json report: the resolved config, the workspace bytes and every kernel (with --arch, its
// compiled resources; else only its name).
int report_json(const Problem& problem, const Config& config, std::size_t workspace_bytes,
                const std::vector<PassKernel>& kernels, std::optional<int> arch) {
  detail::BinaryCache cache;  // beside the tuning database; memory-only if that is unusable
  JsonWriter json;
  json.begin_object()
      .key("problem").value(problem.to_string())
      .key("config").value(config.to_string())
      .key("workspace_bytes").value((long long)workspace_bytes)
      .key("kernels").begin_array();
  for (const PassKernel& k : kernels) {
    json.begin_object().key("name").value(k.kernel.name).key("pass").value(to_string(k.pass));
    if (arch) {
      const nvrtc::CompiledKernel compiled = nvrtc::compile(k.kernel, *arch, cache);
      const nvrtc::KernelResources& res = compiled.resources;
      json.key("target").value(compiled.target);
      // Unknown resources (PTX target: ptxas runs in the driver) are null.
      auto resource = [&](const char* name, int value) {
        json.key(name);
        if (res.known) json.value((long long)value);
        else json.null();
      };
      resource("registers", res.registers);
      resource("spill_stores", res.spill_stores);
      resource("spill_loads", res.spill_loads);
      resource("shared_bytes", res.shared_bytes);
    }
    json.end_object();
  }
  json.end_array().end_object();
  fmt::print("{}\n", json.str());
  return 0;
}

int report_resources(const std::vector<PassKernel>& kernels, int arch) {
  detail::BinaryCache cache;  // beside the tuning database; memory-only if that is unusable
  struct Row {
    std::string name;
    nvrtc::CompiledKernel compiled;
  };
  std::vector<Row> rows;
  for (const PassKernel& k : kernels) rows.push_back({k.kernel.name, nvrtc::compile(k.kernel, arch, cache)});
  bool spills = false;
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
  const std::vector<Direction> passes = parse_passes(args.take_or("pass", "all"));
  const std::optional<std::string> arch_text = args.take("arch");
  const std::optional<std::string> config_text = args.take("config");
  const std::string algorithm_name = take_algorithm(args);
  // The kernels depend on both: TF32 changes the fused family's MMA, determinism the configs offered.
  algo::RunOptions run_options;
  run_options.allow_tf32 = take_allow_tf32(args);
  run_options.deterministic = take_deterministic(args);
  const bool json = args.take_flag("json");
  const Problem flags = take_problem_flags(args);
  args.finish();
  if (in.has_value() == problem_text.has_value())
    throw UsageError("give exactly one of --in DIR (arrays that fix the shapes) or --problem \"N2 C64 H32 W32 ...\"");

  const Problem problem =
      in ? load_problem_inputs(*in, flags, io::GradYFile::ignore).problem : Problem::parse(*problem_text);
  problem.validate();
  const std::optional<int> arch = arch_text ? std::optional<int>(nvrtc::parse_arch(*arch_text)) : std::nullopt;
  const auto algorithms = algo::make_algorithms(emit_target(arch.value_or(90)), run_options);
  const Config given = config_text ? Config::parse(*config_text) : Config{};
  const algo::Algorithm& algorithm =
      find_algorithm(algorithms, given.algorithm.empty() ? algorithm_name : given.algorithm, problem);
  if (!algorithm_name.empty() && !given.algorithm.empty() && algorithm_name != given.algorithm)
    throw UsageError(
        fmt::format("--algorithm {} and --config's algorithm {} disagree", algorithm_name, given.algorithm));
  const Config config = algorithm.knobs().resolve(problem, given);
  const std::vector<PassKernel> kernels = kernels_of(algorithm, problem, config, passes);
  if (json) return report_json(problem, config, algorithm.workspace_size(problem, config), kernels, arch);
  if (!arch) {
    fmt::print("// config {}\n", config.to_string());
    print_sources(kernels);
    return 0;
  }
  return report_resources(kernels, *arch);
}

const std::string kUsage = std::string(
    "usage: dcnjit emit (--in DIR | --problem TEXT) [--pass forward|backward|all] [--algorithm NAME]\n"
    "                   [--allow-tf32] [--deterministic] [--config TEXT] [--arch sm_XX] [--json] [problem flags]\n"
    "\n"
    "Prints the CUDA source of every kernel the algorithm launches for the problem (each kernel once, in launch\n"
    "order, backward with every gradient), after a line with the resolved config. With --arch, compiles each\n"
    "through NVRTC for that architecture instead (cubin, or PTX when NVRTC does not support it; through the\n"
    "binary cache) and reports registers, spill stores, spill loads and static shared memory per kernel from\n"
    "ptxas' log. No GPU is needed.\n"
    "\n"
    "  --in DIR           arrays as for `dcnjit run` (x.npy, offset.npy, weight.npy, [mask.npy], [bias.npy])\n"
    "  --problem TEXT     the problem in its canonical form instead, e.g. \"N2 C64 H32 W32 Co64 k3x3 p1x1 mask\"\n"
    "                     (the problem flags below are then ignored)\n"
    "  --pass P           forward, backward or all (default)\n") +
    kAlgorithmUsage + kAllowTf32Usage + kDeterministicUsage +
    "  --config TEXT      the algorithm and knobs, e.g. \"im2col step=2 threads=128 items=2 bwd=split\" (knobs\n"
    "                     left out take their defaults; default: the heuristic config of the first algorithm\n"
    "                     that can run the problem)\n"
    "  --arch sm_XX       compile for this architecture and report resources (default knobs: sm_90)\n"
    "  --json             {\"problem\", \"config\" (resolved), \"workspace_bytes\", \"kernels\": [{\"name\", \"pass\"\n"
    "                     and with --arch \"target\", \"registers\", \"spill_stores\", \"spill_loads\",\n"
    "                     \"shared_bytes\"}]}\n" + kProblemFlagsUsage +
    "\n\nExit status: 0 on success, 1 on a failure (compile errors print the numbered source), 2 on a usage error.";

DCNJIT_COMMAND(Command{"emit", "print the generated CUDA source, or its register/spill report (--arch)",
                       kUsage.c_str(), emit});

}  // namespace
}  // namespace dcnjit::cli
