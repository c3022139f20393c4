// `dcnjit bench`: forward and backward medians of a problem (or every problem of a preset) after
// warm-up, for the configs a user's Engine would pick (tuning database, cache_only) or a given one.
#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

#include "dcnjit/engine.h"
#include "tools/cli/args.h"
#include "tools/cli/command.h"
#include "tools/cli/problem_inputs.h"
#include "tools/cli/timing_flags.h"
#include "core/json_writer.h"
#include "tools/profile/problem_source.h"
#include "tools/profile/session.h"

namespace dcnjit::cli {
namespace {

using profile::Pass;

struct BenchResult {
  Problem problem;
  Config config;           // the forward config (Plan::config())
  Config backward_config;  // Plan::backward_config()
  std::vector<double> forward_ms, backward_ms;  // samples in run order; empty when the pass was not asked for
};

void write_result(JsonWriter& json, const BenchResult& r, const EngineOptions& options,
                  const profile::TimingOptions& timing) {
  json.begin_object()
      .key("problem").value(r.problem.to_string())
      .key("backend").value(to_string(options.backend))
      .key("threads").value(options.threads)
      .key("allow_tf32").value(options.allow_tf32)
      .key("deterministic").value(options.deterministic)
      .key("config").value(r.config.to_string())
      .key("backward_config").value(r.backward_config.to_string())
      .key("warmup").value(timing.warmup)
      .key("repeats").value(timing.repeats);
  for (Pass pass : {Pass::forward, Pass::backward}) {
    const auto& samples = pass == Pass::forward ? r.forward_ms : r.backward_ms;
    if (samples.empty()) continue;
    const double ms = profile::median(samples);
    const std::string name = to_string(pass);
    json.key(name + "_ms").value(ms).key(name + "_gflops").value(profile::gemm_flops(r.problem, pass) / (ms * 1e6));
    json.key(name + "_samples_ms").begin_array();
    for (double s : samples) json.value(s);
    json.end_array();
  }
  json.end_object();
}

void print_result(const BenchResult& r) {
  if (r.config == r.backward_config) fmt::print("{}\n  config {}\n", r.problem.to_string(), r.config.to_string());
  else
    fmt::print("{}\n  forward config  {}\n  backward config {}\n", r.problem.to_string(), r.config.to_string(),
               r.backward_config.to_string());
  for (Pass pass : {Pass::forward, Pass::backward}) {
    const auto& samples = pass == Pass::forward ? r.forward_ms : r.backward_ms;
    if (samples.empty()) continue;
    const auto [lo, hi] = std::minmax_element(samples.begin(), samples.end());
    const double ms = profile::median(samples);
    fmt::print("  {:<8} {:>10.3f} ms median (min {:.3f}, max {:.3f})  {:>8.1f} GEMM GFLOP/s\n", to_string(pass), ms,
               *lo, *hi, profile::gemm_flops(r.problem, pass) / (ms * 1e6));
  }
}

int run(std::vector<std::string>& argv) {
  Args args(argv);
  profile::ProblemSource source{args.take("in"), args.take("preset"), args.take("problem")};
  const auto [options, config_text, timing] = take_timing_flags(args);
  const std::string pass_text = args.take_or("pass", "both");
  const bool json = args.take_flag("json");
  const Problem flags = take_problem_flags(args);
  args.finish();
  if (source.count() != 1) throw UsageError("give exactly one of --in DIR, --preset NAME, --problem \"...\"");
  if (pass_text != "forward" && pass_text != "backward" && pass_text != "both")
    throw UsageError(fmt::format("--pass: '{}' is not one of forward, backward, both", pass_text));
  const Config given = config_text ? Config::parse(*config_text) : Config{};

  profile::Session session(options);
  std::vector<BenchResult> results;
  for (const io::ProblemArrays& arrays : profile::load_problems(source, flags)) {
    BenchResult r{arrays.problem, {}, {}, {}, {}};
    r.config = config_text ? session.resolve(r.problem, given) : session.chosen_config(r.problem, Pass::forward);
    r.backward_config = config_text ? r.config : session.chosen_config(r.problem, Pass::backward);
    const profile::Workload workload = session.workload(arrays);
    if (pass_text != "backward") r.forward_ms = session.time(r.problem, r.config, workload, Pass::forward, timing);
    if (pass_text != "forward")
      r.backward_ms = session.time(r.problem, r.backward_config, workload, Pass::backward, timing);
    if (!json) print_result(r);
    results.push_back(std::move(r));
  }
  if (json) {
    JsonWriter writer;
    const bool list = source.preset.has_value();  // a preset is a list even when it holds one problem
    if (list) writer.begin_array();
    for (const auto& r : results) write_result(writer, r, options, timing);
    if (list) writer.end_array();
    fmt::print("{}\n", writer.str());
  }
  return 0;
}

const std::string kUsage = std::string(
    "usage: dcnjit bench (--in DIR | --preset NAME | --problem \"N1 C256 H50 W76 Co256 k3 p1 mask\")\n"
    "                    [problem flags] [--backend cpu|cuda|sim] [--algorithm NAME] [--allow-tf32] [--threads N]\n"
    "                    [--deterministic] [--config \"k=v ...\"] [--pass forward|backward|both] [--repeats K] [--warmup W] [--json]\n"
    "\n"
    "Times forward and backward: W untimed warm-up runs, then the median of K timed runs, each synchronized.\n"
    "The configs are the ones a user's Engine would run (Plan::config() forward, Plan::backward_config()\n"
    "backward: the tuning database's entries, else the heuristic; never tunes), or --config for both. The\n"
    "backward pass computes every gradient (x, offset, weight, and mask / bias when present) and is timed\n"
    "alone, without a forward. --preset and --problem give shapes only; their inputs are random and\n"
    "non-zero. GFLOP/s counts the GEMM work only (2 x MACs per GEMM).\n"
    "\n"
    "  --in DIR           x.npy, offset.npy, weight.npy [, mask.npy, bias.npy, grad_y.npy] (see dcnjit run)\n"
    "  --preset NAME      every problem of a tuning preset\n"
    "  --problem TEXT     one problem in Problem::to_string() syntax\n"
    "  --backend B        cpu (default), cuda or sim\n"
    "  --algorithm NAME   only this algorithm's configs (im2col, fused; the cpu backend has im2col only)\n") +
    kAllowTf32Usage + kDeterministicUsage +
    "  --threads N        CPU threads (default 0 = all cores)\n"
    "  --config TEXT      run this config instead of the tuned one, e.g. \"im2col step=1 tile=512\" (knobs\n"
    "                     left out take their defaults)\n"
    "  --pass P           forward, backward or both (default)\n"
    "  --repeats K        timed runs per pass (default 5)\n"
    "  --warmup W         untimed runs first (default 1)\n"
    "  --json             {\"forward_ms\", \"backward_ms\", \"config\" (forward), \"backward_config\", ...} for\n"
    "                     one problem, a list for a preset\n" +
    kProblemFlagsUsage + "\n  (with --preset or --problem only --dtype, --boundary and --layout apply)";

DCNJIT_COMMAND(Command{"bench", "median forward/backward times of a problem or preset", kUsage.c_str(), run});

}  // namespace
}  // namespace dcnjit::cli
