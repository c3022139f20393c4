// The tuning policies behind Engine::plan: heuristic, database lookup, tune on a miss.
#include "tuner/selector.h"

#include <fmt/format.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <optional>

#include "runtime/store/store_error.h"
#include "tuner/autotuner.h"
#include "tuner/cache_path.h"
#include "tuner/config_space.h"
#include "tuner/log.h"
#include "tuner/tuning_db.h"

namespace dcnjit::tuner {
namespace {

class HeuristicSelector final : public ConfigSelector {
 public:
  PlanConfigs select(detail::BackendImpl& backend, const Problem& problem) override {
    const Config config = backend.default_config(problem);
    return PlanConfigs{config, config};
  }
};

// Opening failures that mean "this file is someone else's": reported, never worked around.
bool must_report(const Error& e) {
  const auto* store_error = dynamic_cast<const store::StoreError*>(&e);
  return store_error && (store_error->kind() == store::StoreErrorKind::foreign_schema ||
                         store_error->kind() == store::StoreErrorKind::newer_schema);
}

// What the database holds for one pass: a usable config, nothing, or a row that was refused.
struct Lookup {
  std::optional<Config> config;
  bool rejected = false;  // a row exists but is tampered or outside the space: use the default, never re-tune
};

class DatabaseSelector final : public ConfigSelector {
 public:
  explicit DatabaseSelector(const EngineOptions& options)
      : tune_on_miss_(options.tuning == TuningPolicy::on_first_use), budget_s_(options.tune_budget_s) {
    const std::string path = resolve_cache_path(options.cache_path);
    try {
      if (tune_on_miss_) db_ = TuningDb::open(path, TuningDb::Mode::read_write);
      else if (std::filesystem::exists(path)) db_ = TuningDb::open(path, TuningDb::Mode::read_only);
    } catch (const Error& e) {
      if (must_report(e)) throw;
      warn(fmt::format("tuning database unavailable, {}: {}",
                       tune_on_miss_ ? "tuning results are kept in memory only" : "using heuristic configs",
                       e.what()));
    }
  }

  PlanConfigs select(detail::BackendImpl& backend, const Problem& problem) override {
    std::lock_guard lock(mutex_);
    const std::string memo_key = backend.environment() + "|" + problem.to_string();
    if (auto it = memo_.find(memo_key); it != memo_.end()) return it->second;
    const Config fallback = backend.default_config(problem);
    const PlanConfigs chosen{winner(backend, problem, Pass::forward).value_or(fallback),
                             winner(backend, problem, Pass::backward).value_or(fallback)};
    memo_.emplace(memo_key, chosen);
    return chosen;
  }

 private:
  // The winner of one pass: from the database, else (on_first_use, and only when there is no row at
  // all) tuned now, persisted and returned. Empty: use the default.
  std::optional<Config> winner(detail::BackendImpl& backend, const Problem& problem, Pass pass) {
    const Lookup found = lookup(backend, problem, pass);
    if (found.config || found.rejected || !tune_on_miss_) return found.config;
    return tuned(backend, problem, pass);
  }

  // Tunes `pass` now and persists it (when the database is writable). Empty when every config failed.
  std::optional<Config> tuned(detail::BackendImpl& backend, const Problem& problem, Pass pass) {
    TuneOptions options;
    options.budget_s = budget_s_;
    const TuneResult result = tune_pass(backend, problem, pass, options, db_ ? &*db_ : nullptr);
    // Nothing can run on a lost device: say so now rather than fail at the plan's first call.
    if (!result.device_lost.empty())
      throw Error(ErrorCode::DeviceLost, "tuning " + problem.to_string() + " lost the GPU context: " + result.device_lost);
    if (!result.ok) return std::nullopt;
    return result.winner;
  }

  // The database's winner for one pass, parsed strictly and checked against the knob tables.
  Lookup lookup(detail::BackendImpl& backend, const Problem& problem, Pass pass) {
    if (!db_) return {};
    std::optional<Winner> winner;
    try {
      winner = db_->find_winner(tuning_key(backend, problem, pass));
    } catch (const Error& e) {
      warn(fmt::format("tuning database lookup failed, using the heuristic config: {}", e.what()));
      return {};
    }
    if (!winner) return {};
    const StoredConfig stored = read_stored_config(backend, problem, winner->config);
    if (stored.config) return Lookup{stored.config, false};
    warn(fmt::format("tuning database '{}': rejected the stored {} config '{}' for '{}' ({}); using the default",
                     db_->path(), to_string(pass), winner->config, problem.to_string(), stored.why_not));
    return Lookup{std::nullopt, true};
  }

  bool tune_on_miss_;
  double budget_s_;
  std::optional<TuningDb> db_;
  std::mutex mutex_;
  std::map<std::string, PlanConfigs> memo_;
};

}  // namespace

std::unique_ptr<ConfigSelector> make_config_selector(const EngineOptions& options) {
  if (options.tuning == TuningPolicy::off) return std::make_unique<HeuristicSelector>();
  return std::make_unique<DatabaseSelector>(options);
}

}  // namespace dcnjit::tuner
