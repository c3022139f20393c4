// `dcnjit profile`: where the time of one pass goes, phase by phase, against the machine's measured
// peaks, and what each alternative config would save. Table, JSON, CSV and an SVG chart.
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "dcnjit/engine.h"
#include "core/file_io.h"
#include "tools/cli/args.h"
#include "tools/cli/command.h"
#include "tools/cli/problem_inputs.h"
#include "tools/cli/timing_flags.h"
#include "tools/profile/gpu_specs.h"
#include "tools/profile/peaks.h"
#include "tools/profile/problem_source.h"
#include "tools/profile/profiler.h"
#include "tools/profile/report.h"
#include "tools/profile/svg_chart.h"

namespace dcnjit::cli {
namespace {

// The chart is opened before the profile runs (a path that cannot be written fails at once, not after
// minutes of measuring) and without blocking (core/file_io.h); written at the end.
void write_chart(detail::OutputFile& file, const std::string& path, const std::string& text) {
  if (std::fwrite(text.data(), 1, text.size(), file.get()) != text.size() || std::fflush(file.get()) != 0)
    throw Error(ErrorCode::IoError, fmt::format("--svg {}: cannot write the file", path));
}

int run(std::vector<std::string>& argv) {
  Args args(argv);
  const bool forward = args.take_flag("forward");
  const bool backward = args.take_flag("backward");
  profile::ProblemSource source{args.take("in"), args.take("preset"), args.take("problem")};
  const auto index = args.take_int("index", 0, 1 << 20);
  const auto [options, config_text, timing] = take_timing_flags(args);
  const bool with_alternatives = !args.take_flag("no-alternatives");
  const bool json = args.take_flag("json");
  const bool csv = args.take_flag("csv");
  const auto svg_path = args.take("svg");
  const auto gpu_name = args.take("gpu");
  const bool no_counters = args.take_flag("no-counters");
  const bool count_alternatives = args.take_flag("count-alternatives");
  const Problem flags = take_problem_flags(args);
  args.finish();
  if (forward == backward) throw UsageError("give exactly one of --forward, --backward");
  if (source.count() != 1) throw UsageError("give exactly one of --in DIR, --preset NAME, --problem \"...\"");
  if (index && !source.preset) throw UsageError("--index selects a problem of a --preset");
  if (json && csv) throw UsageError("--json and --csv are exclusive (both print to stdout)");
  const bool counters = options.backend == Backend::sim && !no_counters;
  if (gpu_name && options.backend != Backend::sim)
    throw UsageError("--gpu needs --backend sim: the estimate is built on the sim's GPU counters");
  if (gpu_name && no_counters) throw UsageError("--gpu needs the counters (drop --no-counters)");
  if ((no_counters || count_alternatives) && options.backend != Backend::sim)
    throw UsageError("--no-counters and --count-alternatives apply to --backend sim only");
  if (no_counters && count_alternatives) throw UsageError("--no-counters and --count-alternatives exclude each other");
  const profile::Counting counting = !counters           ? profile::Counting::none
                                     : count_alternatives ? profile::Counting::all
                                                          : profile::Counting::chosen;
  const std::optional<profile::GpuSpec> gpu =
      gpu_name ? std::optional<profile::GpuSpec>(profile::gpu_spec(*gpu_name)) : std::nullopt;
  const Config given = config_text ? Config::parse(*config_text) : Config{};
  detail::OutputFile chart(nullptr, &std::fclose);
  if (svg_path) chart = detail::open_output_file(*svg_path, "--svg");

  auto problems = profile::load_problems(source, flags);
  const std::size_t which = std::size_t(index.value_or(0));
  if (which >= problems.size())
    throw UsageError(fmt::format("--index {}: preset {} has {} problem(s)", which, *source.preset, problems.size()));
  const io::ProblemArrays& arrays = problems[which];
  const profile::Pass pass = forward ? profile::Pass::forward : profile::Pass::backward;

  profile::Session session(options);
  const Config chosen =
      config_text ? session.resolve(arrays.problem, given) : session.chosen_config(arrays.problem, pass);
  const profile::Workload workload = session.workload(arrays);
  // Peaks first, on an idle machine, with the pass's thread count.
  const profile::Peaks peaks =
      profile::measure_peaks(options.backend, chosen, options.threads, options.device, arrays.problem.dtype);
  profile::ProfileReport report =
      profile::profile(session, arrays.problem, chosen, workload, pass, timing, peaks, with_alternatives, counting);
  report.gpu = gpu;

  if (json) fmt::print("{}", profile::format_json(report));
  else if (csv) fmt::print("{}", profile::format_csv(report));
  else fmt::print("{}", profile::format_table(report));
  if (chart) write_chart(chart, *svg_path, profile::format_svg(report));
  return 0;
}

const std::string kUsage = std::string(
    "usage: dcnjit profile (--backward | --forward)\n"
    "                      (--in DIR | --preset NAME [--index I] | --problem \"N1 C256 H50 W76 Co256 k3 p1 mask\")\n"
    "                      [problem flags] [--backend cpu|cuda|sim] [--algorithm NAME] [--allow-tf32] [--threads N]\n"
    "                      [--deterministic] [--config \"k=v ...\"] [--repeats K] [--warmup W] [--no-alternatives] [--json | --csv]\n"
    "                      [--svg FILE]\n"
    "                      [--gpu NAME] [--no-counters | --count-alternatives]\n"
    "\n"
    "Breaks one pass down into the backend's phases (im2col, GEMMs, col2im, coordinate gradient, bias, ...):\n"
    "per phase its time, share, bytes moved, FLOPs, achieved GB/s and GFLOP/s against the machine's measured\n"
    "peaks (memcpy bandwidth; the GEMM library the pass calls, in its arithmetic), and atomic updates. On the\n"
    "cpu backend also the core's arithmetic ceiling (FMA chains in registers) and the pass's FLOPs at it: a\n"
    "floor no implementation on this machine goes below. Shown is the run with the median total of K; time\n"
    "no phase claims is reported as \"other\", so the phases add up to the total. Then every alternative config\n"
    "one knob away in the chosen algorithm's knob table (cpu: im2col step, pixel tile; sim/cuda: also block\n"
    "size, items per thread, split vs fused backward, atomic strategy, GEMM algorithm), and the defaults of\n"
    "every other algorithm, are profiled the same way, with what each saves against the chosen config.\n"
    "\n"
    "On --backend sim the chosen config also runs once, untimed, with the sim's GPU counters on: per phase what its\n"
    "kernels would do to a GPU (global load/store requests and 32-byte sectors, unique sectors, shared-memory\n"
    "bank conflicts, atomic conflicts, tensor-core MMAs; runtime/sim/README.md). Exact for the simulated\n"
    "execution, not timings. --gpu NAME adds a roofline estimate per phase from them and the GPU's public specs.\n"
    "\n"
    "  --in DIR / --preset NAME / --problem TEXT   the problem, as for dcnjit bench\n"
    "  --index I          which problem of the preset (default 0)\n"
    "  --backend B        cpu (default), cuda or sim\n"
    "  --algorithm NAME   only this algorithm's configs (im2col, fused; the cpu backend has im2col only)\n") +
    kAllowTf32Usage + kDeterministicUsage +
    "  --threads N        CPU threads (default 0 = all cores)\n"
    "  --config TEXT      profile this config instead of the tuned one\n"
    "  --repeats K        timed runs per config (default 5)\n"
    "  --warmup W         untimed runs per config first (default 1)\n"
    "  --no-alternatives  profile the chosen config only\n"
    "  --json             {\"total_ms\", \"phases\": [...], \"alternatives\": [...], \"peaks\": {...}} on stdout\n"
    "  --csv              one row per config and phase on stdout\n"
    "  --svg FILE         a stacked-bar chart of the phases per config, for a browser\n"
    "  --gpu NAME         (sim) estimate_ms per phase and the limit that binds it, on h100-sxm, h100-pcie,\n"
    "                     a100-sxm, l40s or rtx4090: an estimate, not a measurement\n"
    "  --no-counters      (sim) skip the counting run\n"
    "  --count-alternatives  (sim) count every alternative too (a counting run costs 5-40 plain ones)\n" +
    kProblemFlagsUsage + "\n  (with --preset or --problem only --dtype, --boundary and --layout apply)";

DCNJIT_COMMAND(Command{"profile", "phase-by-phase breakdown of a pass and its alternatives", kUsage.c_str(), run});

}  // namespace
}  // namespace dcnjit::cli
