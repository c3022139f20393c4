// The search: for one (problem, pass) on one backend, time the default config and then the other
// candidates until the time budget is spent, record every trial, and offer the fastest to the
// database. Like Triton's autotuner: key, prune, bench, keep; a failure is an infinite time.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "dcnjit/config.h"
#include "dcnjit/problem.h"
#include "runtime/backend.h"
#include "tuner/pass.h"
#include "tuner/tuning_db.h"

namespace dcnjit::tuner {

struct TuneProgress {
  int done = 0;        // candidates measured so far
  int total = 0;       // candidates in the space
  const Config* config = nullptr;  // the one just measured
  bool ok = false;
  double ms = 0;
  double best_ms = 0;  // best so far (0 before the first success)
};

struct TuneOptions {
  double budget_s = 20.0;  // wall-clock per (problem, pass); the default config is always measured
  std::function<void(const TuneProgress&)> on_progress;
};

struct TuneResult {
  bool ok = false;              // at least one config ran
  Config winner;                // the fastest (the default when nothing ran)
  double winner_ms = 0;
  Config default_config;
  std::optional<double> default_ms;  // absent when the default failed
  int measured = 0;             // configs timed (including failed ones)
  int failed = 0;
  int candidates = 0;           // size of the pruned space
  int pruned = 0;               // candidates skipped without timing: their compiled kernels spill or do not fit
  bool stored = false;          // the winner is now the database's entry for this key
  // The fastest time of each algorithm that ran (the tuner compares them all; the winner is one).
  std::map<std::string, double> best_by_algorithm;
  // Non-empty when a candidate faulted the GPU (Error(DeviceLost)): its message. The search stopped
  // there (nothing more can run in this process's context), that candidate is recorded as failed and
  // no winner is stored: a search cut short is not a tuned result.
  std::string device_lost;
};

TuningKey tuning_key(const detail::BackendImpl& backend, const Problem& problem, Pass pass);

// `db` may be null (results are then not persisted). Never throws for a failing config (nor for one that
// loses the device: see device_lost); throws only for a database error or when the inputs cannot be
// allocated.
TuneResult tune_pass(detail::BackendImpl& backend, const Problem& problem, Pass pass, const TuneOptions& options,
                     TuningDb* db);

}  // namespace dcnjit::tuner
