// dcnjit tune: tune a preset or a list of problems on one backend and keep the winners in the
// tuning database. Entries already there are reported as cached and not re-timed.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "runtime/backend.h"
#include "tools/cli/args.h"
#include "tools/cli/command.h"
#include "tools/cli/problem_inputs.h"
#include "tuner/cache_path.h"
#include "core/json_writer.h"
#include "tuner/pass.h"
#include "tuner/presets.h"
#include "tuner/tune_batch.h"

namespace dcnjit::cli {
namespace {

using tuner::BatchEntry;

constexpr const char* kUsage = R"(usage: dcnjit tune (--preset NAME | --problems FILE) [options]

Times the candidate configs of every problem and pass, and stores the fastest in the tuning database
(problems already there are reported as cached and not timed again).

  --preset NAME        smoke | dcnv2-r50 | tf-alexnet-conv1
  --problems FILE      one problem per line in the syntax `dcnjit cache list` prints, e.g.
                         N2 C256 H50 W76 Co256 k3x3 s1x1 p1x1 d1x1 g1 og1 mask nobias v2 f32
                       omitted fields keep their defaults; '#' starts a comment
  --backend B          cpu | cuda | sim (default cpu)
  --algorithm NAME     tune only this algorithm (im2col, fused); default: every algorithm of the backend
                       compared per problem and pass (the winner's config names its algorithm)
  --allow-tf32         f32 GEMMs may use TF32 tensor cores (cuda; ~1e-3 relative error); tuned and stored
                       apart from exact-f32 results (the environment key ends in ":tf32")
  --deterministic      tune the configs of deterministic mode (stored apart: ":deterministic")
  --layout nchw|nhwc   tune the problems in this memory layout (default: as the problems say; nchw)
  --pass P             which calls to time (default forward):
                         forward    the forward call (y)
                         backward   the complete backward call: every gradient the problem has
                                    (x, offset, mask, weight, bias); its winner is a Plan's
                                    backward config, so tune it (or all) for training
                         all        forward and backward: everything a Plan runs
                       for investigation only (a Plan does not use them): backward_data (grad_x
                       alone), backward_offset_mask (grad_offset, grad_mask), backward_weight
                       (grad_weight, grad_bias)
  --budget SECONDS     time budget per problem and pass (default 20)
  --threads N          CPU threads (cpu backend; default all cores)
  --cache PATH         tuning database (default $DCNJIT_CACHE, $XDG_CACHE_HOME/dcnjit/cache.sqlite,
                       ~/.cache/dcnjit/cache.sqlite)
  --json               print {"tuned": n, "cached": n, "failed": n, "entries": [...]} instead of a table;
                       each entry names the tensors its times include ("outputs": ["grad_x", ...]))";

// {"im2col": 0.412, "fused": 0.231}
std::string json_times(const std::map<std::string, double>& times) {
  std::vector<std::string> parts;
  for (const auto& [name, ms] : times) parts.push_back(fmt::format("{}: {}", json_string(name), json_number(ms)));
  return fmt::format("{{{}}}", fmt::join(parts, ", "));
}

std::string format_ms(std::optional<double> ms) { return ms ? fmt::format("{:.4f}", *ms) : "-"; }

std::optional<double> speedup(const BatchEntry& e) {
  if (!e.time_ms || !e.default_time_ms || *e.time_ms <= 0) return std::nullopt;
  return *e.default_time_ms / *e.time_ms;
}

// "im2col 0.4120  fused 0.2310": the best time of every algorithm that ran.
std::string by_algorithm(const BatchEntry& e) {
  std::vector<std::string> parts;
  for (const auto& [algorithm, ms] : e.by_algorithm) parts.push_back(fmt::format("{} {:.4f}", algorithm, ms));
  return parts.empty() ? "-" : fmt::format("{}", fmt::join(parts, "  "));
}

void print_table(const std::vector<BatchEntry>& entries) {
  std::size_t problem_width = 7, config_width = 6;
  for (const auto& e : entries) {
    problem_width = std::max(problem_width, e.problem.to_string().size());
    config_width = std::max(config_width, e.config.size());
  }
  fmt::print("{:<{}}  {:<20}  {:<6}  {:<{}}  {:>10}  {:>10}  {:>7}  {}\n", "problem", problem_width, "pass",
             "status", "config", config_width, "ms", "default ms", "speedup", "best ms per algorithm");
  for (const auto& e : entries) {
    const auto s = speedup(e);
    fmt::print("{:<{}}  {:<20}  {:<6}  {:<{}}  {:>10}  {:>10}  {:>7}  {}\n", e.problem.to_string(), problem_width,
               to_string(e.pass), to_string(e.status), e.config, config_width, format_ms(e.time_ms),
               format_ms(e.default_time_ms), s ? fmt::format("{:.2f}x", *s) : "-", by_algorithm(e));
  }
  // Why a row failed (the JSON carries it whole): its first line, so the table stays readable.
  for (const auto& e : entries) {
    if (e.status != BatchEntry::Status::failed) continue;
    std::string why = e.error.empty() ? "no reason recorded" : e.error.substr(0, e.error.find('\n'));
    if (why.size() > 300) why = why.substr(0, 300) + " ...";
    fmt::print("failed: {} {}: {}\n", e.problem.to_string(), to_string(e.pass), why);
  }
  const auto& plan_passes = tuner::plan_passes();
  const bool investigation = std::any_of(entries.begin(), entries.end(), [&](const BatchEntry& e) {
    return std::find(plan_passes.begin(), plan_passes.end(), e.pass) == plan_passes.end();
  });
  if (investigation)
    fmt::print("note: backward_data, backward_offset_mask and backward_weight each time part of the backward "
               "call only; a Plan runs the `backward` winner\n");
}

void print_json(const std::vector<BatchEntry>& entries) {
  int counts[3] = {0, 0, 0};
  for (const auto& e : entries) ++counts[int(e.status)];
  fmt::print("{{\"tuned\": {}, \"cached\": {}, \"failed\": {}, \"entries\": [", counts[int(BatchEntry::Status::tuned)],
             counts[int(BatchEntry::Status::cached)], counts[int(BatchEntry::Status::failed)]);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    fmt::print("{}\n  {{\"problem\": {}, \"pass\": {}, \"outputs\": {}, \"status\": {}, \"config\": {}, "
               "\"time_ms\": {}, \"default_config\": {}, \"default_time_ms\": {}, \"speedup\": {}, "
               "\"best_ms_by_algorithm\": {}, \"error\": {}}}",
               i ? "," : "", json_string(e.problem.to_string()), json_string(to_string(e.pass)),
               json_string_array(tuner::output_names(tuner::outputs_of(e.pass, e.problem))),
               json_string(to_string(e.status)), json_string(e.config), json_number(e.time_ms),
               json_string(e.default_config), json_number(e.default_time_ms),
               json_number(speedup(e)), json_times(e.by_algorithm), e.error.empty() ? "null" : json_string(e.error));
  }
  fmt::print("\n]}}\n");
}

// One status line on a terminal, rewritten in place.
void show_progress(const tuner::BatchProgress& p) {
  std::string line = fmt::format("[{}/{}] {} {}", p.index + 1, p.items, p.problem->to_string(), to_string(p.pass));
  if (p.trial) {
    line += fmt::format(": {}/{} configs", p.trial->done, p.trial->total);
    if (p.trial->best_ms > 0) line += fmt::format(", best {:.4f} ms", p.trial->best_ms);
  }
  fmt::print(stderr, "\r\033[K{}", line);
  std::fflush(stderr);
}

int run_tune(std::vector<std::string>& raw) {
  Args args(raw);
  const auto preset = args.take("preset");
  const auto problems_file = args.take("problems");
  EngineOptions options;
  options.backend = take_backend(args);
  options.algorithm = take_algorithm(args);
  options.allow_tf32 = take_allow_tf32(args);
  options.deterministic = take_deterministic(args);
  const std::optional<std::string> layout_text = args.take("layout");
  const std::vector<tuner::Pass> passes = tuner::parse_pass_selection(args.take_or("pass", "forward"));
  options.threads = int(args.take_int("threads", 0, 4096).value_or(0));
  options.cache_path = args.take_or("cache", "");
  double budget = 20.0;
  if (auto text = args.take("budget")) {
    try {
      std::size_t used = 0;
      budget = std::stod(*text, &used);
      if (used != text->size() || !(budget > 0)) throw std::invalid_argument("budget");
    } catch (const std::exception&) {
      throw UsageError(fmt::format("--budget: '{}' is not a positive number of seconds", *text));
    }
  }
  const bool json = args.take_flag("json");
  args.finish();
  if (preset.has_value() == problems_file.has_value()) throw UsageError("give exactly one of --preset or --problems");

  std::vector<Problem> problems =
      preset ? tuner::find_preset(*preset).problems : tuner::read_problem_file(*problems_file);
  if (layout_text) {
    Layout layout;
    try {
      layout = parse_layout(*layout_text);
    } catch (const Error& e) {
      throw UsageError(fmt::format("--{}", e.what()));
    }
    for (Problem& p : problems) p.layout = layout;
  }
  auto backend = detail::make_backend(options);
  tuner::TuningDb db = tuner::TuningDb::open(tuner::resolve_cache_path(options.cache_path));

  tuner::BatchOptions batch;
  batch.budget_s = budget;
  const bool interactive = isatty(STDERR_FILENO) == 1;
  if (interactive) batch.on_progress = show_progress;
  const auto entries = tuner::tune_batch(*backend, &db, problems, passes, batch);
  if (interactive) fmt::print(stderr, "\r\033[K");

  if (json) print_json(entries);
  else print_table(entries);
  for (const auto& e : entries)
    if (e.status == BatchEntry::Status::failed) return 1;
  return 0;
}

}  // namespace

DCNJIT_COMMAND(Command{"tune", "find the fastest config per problem and pass; keep it in the tuning database",
                       kUsage, run_tune});

}  // namespace dcnjit::cli
