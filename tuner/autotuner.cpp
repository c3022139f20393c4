#include "tuner/autotuner.h"

#include <algorithm>
#include <chrono>

#include "tuner/config_space.h"
#include "tuner/measurement.h"

namespace dcnjit::tuner {

namespace {
constexpr double kMinGainOverDefault = 0.02;
}  // namespace

TuningKey tuning_key(const detail::BackendImpl& backend, const Problem& problem, Pass pass) {
  return TuningKey{problem.to_string(), layout_key(problem.layout), pass, backend.kind(), backend.environment()};
}

TuneResult tune_pass(detail::BackendImpl& backend, const Problem& problem, Pass pass, const TuneOptions& options,
                     TuningDb* db) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(std::max(0.0, options.budget_s)));
  const TuningKey key = tuning_key(backend, problem, pass);
  const std::vector<Config> candidates = candidate_configs(backend, problem, pass);

  TuneResult result;
  result.default_config = candidates.front();
  result.winner = result.default_config;
  result.candidates = int(candidates.size());

  PassInputs inputs(backend, problem);
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const auto now = Clock::now();
    if (i > 0 && now >= deadline) break;
    // Spread what is left of the budget over the remaining candidates, but give each enough time
    // for a stable median; when the budget is tight, fewer candidates are tried.
    const double left_s = std::chrono::duration<double>(deadline - now).count();
    MeasureOptions measure_options;
    measure_options.max_seconds = std::clamp(left_s / double(candidates.size() - i), 0.02, 1.0);
    const Config& config = candidates[i];
    // Pruned by the compiled kernels of the pass (spills, registers or shared memory per SM) before any
    // timing; never the default, the baseline every speedup is measured against. A kernel that does not
    // compile is left to the measurement, which records it as a failed trial.
    if (i > 0) {
      std::string why;
      try {
        why = backend.resource_problem(problem, config, direction_of(pass));
      } catch (const Error&) {
      }
      if (!why.empty()) {
        ++result.pruned;
        if (db) db->record_trial(Trial{key, config.to_string(), false, 0, "pruned: " + why, 0});
        continue;
      }
    }
    const Measurement m = measure(backend, inputs, problem, pass, config, measure_options);
    if (m.ok) {
      auto [best, added] = result.best_by_algorithm.emplace(config.algorithm, m.median_ms);
      if (!added) best->second = std::min(best->second, m.median_ms);
    }

    ++result.measured;
    if (!m.ok) ++result.failed;
    if (i == 0 && m.ok) result.default_ms = m.median_ms;
    // Leaving the heuristic default must pay for itself: a candidate has to beat it by more than the
    // run-to-run noise of a median on a busy CPU (about 1-2%), else ties would pick at random.
    const bool default_leads = result.ok && result.winner == result.default_config;
    const double bar = default_leads ? result.winner_ms * (1.0 - kMinGainOverDefault) : result.winner_ms;
    if (m.ok && (!result.ok || m.median_ms < bar)) {
      result.ok = true;
      result.winner = config;
      result.winner_ms = m.median_ms;
    }
    // One short transaction per trial, after the timing: a killed process keeps every finished trial.
    if (db) db->record_trial(Trial{key, config.to_string(), m.ok, m.median_ms, m.error, 0});
    if (options.on_progress) {
      options.on_progress(TuneProgress{result.measured, result.candidates, &config, m.ok, m.median_ms,
                                       result.ok ? result.winner_ms : 0});
    }
    if (m.device_lost) {
      result.device_lost = m.error;
      break;
    }
  }
  if (db && result.ok && result.device_lost.empty()) {
    Winner winner{key, result.winner.to_string(), result.winner_ms, result.default_config.to_string(),
                  result.default_ms, 0};
    result.stored = db->offer_winner(winner);
  }
  return result;
}

}  // namespace dcnjit::tuner
