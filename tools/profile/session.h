// Session: one backend under measurement, created and configured exactly the way Engine does it
// (same backend factory, same tuner::ConfigSelector, same config resolution), but keeping the
// BackendImpl in hand so the profiler can attach a PhaseSink and synchronize the device around a
// timed pass. `dcnjit bench`, `dcnjit profile` and bench/ all time through it.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "dcnjit/engine.h"
#include "runtime/backend.h"
#include "tools/profile/workload.h"

namespace dcnjit::tuner {
class ConfigSelector;
}

namespace dcnjit::profile {

struct TimingOptions {
  int warmup = 1;   // untimed runs first: JIT compilation, page faults, cuBLASLt heuristics
  int repeats = 5;  // timed runs; callers report the median
};

class Session {
 public:
  explicit Session(const EngineOptions& options);
  // Measures a backend made elsewhere (tests drive the profiler through a scripted backend).
  Session(const EngineOptions& options, std::shared_ptr<detail::BackendImpl> backend);
  ~Session();

  const EngineOptions& options() const { return options_; }
  detail::BackendImpl& backend() { return *backend_; }

  // The config Engine::plan(problem) would run for `pass` under options.tuning (tuned / cached /
  // heuristic): Plan::config() for forward, Plan::backward_config() for backward.
  Config chosen_config(const Problem& problem, Pass pass);
  // The config Engine::plan(problem, config) would run: the algorithm and left-out knobs filled in, checked.
  Config resolve(const Problem& problem, const Config& config);

  // Uploads `arrays` (with grad_y) to this session's backend.
  Workload workload(const io::ProblemArrays& arrays);

  // One pass, synchronized: returns its wall time in ms.
  double run_once(const Problem& problem, const Config& config, const Workload& workload, Pass pass);
  // `warmup` untimed passes, then `repeats` timed ones; returns the samples in run order.
  std::vector<double> time(const Problem& problem, const Config& config, const Workload& workload, Pass pass,
                           const TimingOptions& timing);

 private:
  EngineOptions options_;
  std::shared_ptr<detail::BackendImpl> backend_;
  std::unique_ptr<tuner::ConfigSelector> selector_;
};

// Median of the samples (the mean of the middle two for an even count); 0 for none.
double median(std::vector<double> samples);

}  // namespace dcnjit::profile
