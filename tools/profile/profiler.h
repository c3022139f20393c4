// The profiler: runs one pass of one config with a PhaseCollector attached and reports where the
// time went, then does the same for each alternative config so their costs can be compared.
#pragma once

#include <string>
#include <vector>

#include <optional>

#include "core/phases.h"
#include "tools/profile/gpu_specs.h"
#include "tools/profile/peaks.h"
#include "tools/profile/session.h"

namespace dcnjit::profile {

// The name of the remainder phase: time inside the pass that no backend phase claimed (dispatch,
// allocation, zero-filling, thread start-up). Always present so the phases sum to the total exactly.
inline constexpr const char* kOtherPhase = "other";

struct ConfigProfile {
  std::string label;  // "chosen", or the fields that differ from the chosen config ("tile=1024")
  Config config;
  double total_ms = 0;                      // wall time of the median run
  std::vector<detail::PhaseStats> phases;   // that run's phases in pass order, then kOtherPhase
  std::vector<double> samples_ms;           // every timed run, in run order
  double counting_ms = 0;                   // counters: wall time of the counting run (after its warm-up)
};

struct ProfileReport {
  Problem problem;
  Pass pass = Pass::backward;
  Backend backend = Backend::cpu;
  int threads = 0;
  TimingOptions timing;
  Peaks peaks;
  ConfigProfile chosen;
  std::vector<ConfigProfile> alternatives;
  std::vector<std::string> skipped;  // alternatives the backend rejected, each with the reason
  // Counters (sim): the chosen config's phases (and with Counting::all every alternative's) carry the
  // GPU counters of one extra, untimed counting run (PhaseStats::counters; runtime/sim/README.md); the
  // timed runs do not count.
  bool counted = false;
  std::optional<GpuSpec> gpu;  // --gpu: roofline estimates per phase (roofline.h), from the counters
};

// Times `timing.repeats` runs (after warm-up) with phase collection on and keeps the run whose total
// is the median, so the phases shown are those of one real run and add up to its total.
ConfigProfile profile_config(Session& session, const Problem& problem, const Config& config,
                             const Workload& workload, Pass pass, const TimingOptions& timing);

// The chosen config, then (when `with_alternatives`) every alternative of alternatives.h that the
// backend accepts. All configs are warmed up first and then timed round-robin (one run of each per
// round), so drifting machine load cannot favour one of them; each keeps its median run. Then the
// configs `counting` names (the backend must support counters) run once more, counting (after
// `timing.warmup` untimed counting runs, which compile the counting kernels), and their phases get that
// run's counters. A counting run costs 5-40 plain sim runs (docs/perf.md), hence the choice.
enum class Counting { none, chosen, all };
ProfileReport profile(Session& session, const Problem& problem, const Config& chosen, const Workload& workload,
                      Pass pass, const TimingOptions& timing, const Peaks& peaks, bool with_alternatives,
                      Counting counting = Counting::none);

// What an alternative saves against the chosen config (negative: it costs more).
inline double saves_ms(const ProfileReport& report, const ConfigProfile& alternative) {
  return report.chosen.total_ms - alternative.total_ms;
}

}  // namespace dcnjit::profile
