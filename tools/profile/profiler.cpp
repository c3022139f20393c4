#include "tools/profile/profiler.h"

#include <algorithm>
#include <numeric>

#include "tools/profile/alternatives.h"
#include "tools/profile/phase_collector.h"

namespace dcnjit::profile {
namespace {

// Detaches the collector on every exit path, so a throwing pass never leaves the backend pointing
// at a dead sink.
class SinkAttachment {
 public:
  SinkAttachment(detail::BackendImpl& backend, detail::PhaseSink* sink) : backend_(backend) {
    backend_.set_phase_sink(sink);
  }
  ~SinkAttachment() { backend_.set_phase_sink(nullptr); }
  SinkAttachment(const SinkAttachment&) = delete;
  SinkAttachment& operator=(const SinkAttachment&) = delete;

 private:
  detail::BackendImpl& backend_;
};

// Counting on for one scope, off on every exit path.
class CountingScope {
 public:
  explicit CountingScope(detail::BackendImpl& backend) : backend_(backend) { backend_.set_counting(true); }
  ~CountingScope() { backend_.set_counting(false); }
  CountingScope(const CountingScope&) = delete;
  CountingScope& operator=(const CountingScope&) = delete;

 private:
  detail::BackendImpl& backend_;
};

struct Run {
  double total_ms;
  std::vector<detail::PhaseStats> phases;
};

Run run_with_phases(Session& session, const Problem& problem, const Config& config, const Workload& workload,
                    Pass pass) {
  PhaseCollector collector;
  SinkAttachment attach(session.backend(), &collector);
  const double ms = session.run_once(problem, config, workload, pass);
  return {ms, collector.phases()};
}

// Keeps the run with the median total (the lower middle one for an even count): one real run, so its
// phases and its total belong together. The time no phase claimed becomes kOtherPhase.
ConfigProfile summarize(const Config& config, const std::vector<Run>& runs) {
  ConfigProfile result;
  result.config = config;
  for (const auto& r : runs) result.samples_ms.push_back(r.total_ms);
  std::vector<std::size_t> order(runs.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return runs[a].total_ms < runs[b].total_ms; });
  const Run& median_run = runs[order[(order.size() - 1) / 2]];

  result.total_ms = median_run.total_ms;
  result.phases = median_run.phases;
  double attributed = 0;
  for (const auto& p : result.phases) attributed += p.ms;
  detail::PhaseStats other;
  other.name = kOtherPhase;
  other.ms = result.total_ms - attributed;
  result.phases.push_back(other);
  return result;
}

}  // namespace

ConfigProfile profile_config(Session& session, const Problem& problem, const Config& config,
                             const Workload& workload, Pass pass, const TimingOptions& timing) {
  for (int i = 0; i < timing.warmup; ++i) session.run_once(problem, config, workload, pass);
  std::vector<Run> runs;
  for (int i = 0; i < std::max(1, timing.repeats); ++i) runs.push_back(run_with_phases(session, problem, config, workload, pass));
  return summarize(config, runs);
}

namespace {

// Gives each phase of `profile` the counters of the same phase in a counting run of its config.
void attach_counters(Session& session, const Problem& problem, const Workload& workload, Pass pass,
                     const TimingOptions& timing, ConfigProfile& profile) {
  Run counted;
  {
    CountingScope counting(session.backend());
    for (int i = 0; i < timing.warmup; ++i) session.run_once(problem, profile.config, workload, pass);
    counted = run_with_phases(session, problem, profile.config, workload, pass);
  }
  profile.counting_ms = counted.total_ms;
  for (detail::PhaseStats& phase : profile.phases)
    for (const detail::PhaseStats& counted_phase : counted.phases)
      if (counted_phase.name == phase.name) {
        phase.counters = counted_phase.counters;
        phase.counted_launches = counted_phase.counted_launches;
        phase.modeled_gemms = counted_phase.modeled_gemms;
      }
}

}  // namespace

ProfileReport profile(Session& session, const Problem& problem, const Config& chosen, const Workload& workload,
                      Pass pass, const TimingOptions& timing, const Peaks& peaks, bool with_alternatives,
                      Counting counting) {
  ProfileReport report;
  report.problem = problem;
  report.pass = pass;
  report.backend = session.backend().kind();
  report.threads = session.options().threads;
  report.timing = timing;
  report.peaks = peaks;

  // The chosen config first, then every alternative the backend accepts and can run.
  struct Candidate {
    std::string label;
    Config config;
    std::vector<Run> runs;
  };
  std::vector<Candidate> candidates{{"chosen", chosen, {}}};
  if (with_alternatives) {
    for (const auto& alternative : alternatives(session.backend(), problem, chosen, pass)) {
      if (!alternative.why_not.empty()) {
        report.skipped.push_back(alternative.label + ": " + alternative.why_not);
        continue;
      }
      try {
        Candidate c{alternative.label, session.resolve(problem, alternative.config), {}};
        // At least one untimed run even without warm-up: a config that fails to build or run is skipped
        // here instead of aborting the whole profile half-way.
        for (int i = 0; i < std::max(1, timing.warmup); ++i) session.run_once(problem, c.config, workload, pass);
        candidates.push_back(std::move(c));
      } catch (const Error& e) {
        // Failed to build or run: say so, keep going.
        report.skipped.push_back(alternative.label + ": " + e.what());
      }
    }
  }
  for (int i = 0; i < timing.warmup; ++i) session.run_once(problem, chosen, workload, pass);

  // Round-robin: each round runs every config once, so a change in machine load (other processes on a
  // shared machine) affects all configs alike instead of favouring whichever ran in the quiet spell.
  for (int round = 0; round < std::max(1, timing.repeats); ++round)
    for (auto& c : candidates) c.runs.push_back(run_with_phases(session, problem, c.config, workload, pass));

  for (std::size_t i = 0; i < candidates.size(); ++i) {
    ConfigProfile p = summarize(candidates[i].config, candidates[i].runs);
    p.label = candidates[i].label;
    if (counting == Counting::all || (counting == Counting::chosen && i == 0))
      attach_counters(session, problem, workload, pass, timing, p);
    if (i == 0) report.chosen = std::move(p);
    else report.alternatives.push_back(std::move(p));
  }
  report.counted = counting != Counting::none;
  return report;
}

}  // namespace dcnjit::profile
