// Tuning a list of problems and passes against one database, as `dcnjit tune` does: an entry
// already in the database (and valid for the config space) is "cached" and not re-timed; the rest
// are tuned and offered to the database.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dcnjit/problem.h"
#include "runtime/backend.h"
#include "tuner/autotuner.h"
#include "tuner/pass.h"
#include "tuner/tuning_db.h"

namespace dcnjit::tuner {

struct BatchEntry {
  enum class Status { tuned, cached, failed };
  Problem problem;
  Pass pass = Pass::forward;
  Status status = Status::failed;
  std::string config;                     // the winner (the default when failed)
  std::optional<double> time_ms;          // the winner's time
  std::string default_config;
  std::optional<double> default_time_ms;  // absent when unknown (a cache entry from schema v1) or failed
  std::string error;                      // failed: why (every config failed / inputs did not fit)
  // The fastest successful trial of each algorithm (this run's, or for a cached entry the database's):
  // what `dcnjit tune` shows beside the winner, since the tuner compares the algorithms.
  std::map<std::string, double> by_algorithm;
};
const char* to_string(BatchEntry::Status status);

struct BatchProgress {
  int index = 0;  // 0-based (problem, pass) item being tuned
  int items = 0;
  const Problem* problem = nullptr;
  Pass pass = Pass::forward;
  const TuneProgress* trial = nullptr;  // null when the item starts
};

struct BatchOptions {
  double budget_s = 20.0;  // per problem and pass
  std::function<void(const BatchProgress&)> on_progress;
};

// `db` may be null (nothing cached, nothing kept). Problems must be valid.
std::vector<BatchEntry> tune_batch(detail::BackendImpl& backend, TuningDb* db, const std::vector<Problem>& problems,
                                   const std::vector<Pass>& passes, const BatchOptions& options);

}  // namespace dcnjit::tuner
