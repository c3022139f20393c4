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
  Config select(detail::BackendImpl& backend, const Problem& problem) override {
    return backend.default_config(problem);
  }
};

// Opening failures that mean "this file is someone else's": reported, never worked around.
bool must_report(const Error& e) {
  const auto* store_error = dynamic_cast<const store::StoreError*>(&e);
  return store_error && (store_error->kind() == store::StoreErrorKind::foreign_schema ||
                         store_error->kind() == store::StoreErrorKind::newer_schema);
}

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

  Config select(detail::BackendImpl& backend, const Problem& problem) override {
    std::lock_guard lock(mutex_);
    const std::string memo_key = backend.environment() + "|" + problem.to_string();
    if (auto it = memo_.find(memo_key); it != memo_.end()) return it->second;
    Config chosen = choose(backend, problem);
    memo_.emplace(memo_key, chosen);
    return chosen;
  }

 private:
  Config choose(detail::BackendImpl& backend, const Problem& problem) {
    std::optional<Config> forward = lookup(backend, problem, Pass::forward);
    if (!forward && tune_on_miss_ && !rejected_) {
      TuneOptions options;
      options.budget_s = budget_s_;
      const TuneResult result = tune_pass(backend, problem, Pass::forward, options, db_ ? &*db_ : nullptr);
      if (result.ok) forward = result.winner;
    }
    if (!forward) return backend.default_config(problem);
    return with_backward_choices(backend, problem, *forward);
  }

  // Adds the backward-only knobs from the backward winners, if the database has them.
  Config with_backward_choices(detail::BackendImpl& backend, const Problem& problem, const Config& forward) {
    Config composed = forward;
    if (auto data = lookup(backend, problem, Pass::backward_data)) {
      composed.fused_backward = data->fused_backward;
      composed.atomic = data->atomic;
    }
    if (auto weight = lookup(backend, problem, Pass::backward_weight)) composed.keep_columns = weight->keep_columns;
    try {
      backend.validate_config(problem, composed);
      return composed;
    } catch (const Error&) {
      return forward;
    }
  }

  // The database's winner for one pass, parsed strictly and checked against the config space.
  std::optional<Config> lookup(detail::BackendImpl& backend, const Problem& problem, Pass pass) {
    rejected_ = false;
    if (!db_) return std::nullopt;
    std::optional<Winner> winner;
    try {
      winner = db_->find_winner(tuning_key(backend, problem, pass));
    } catch (const Error& e) {
      warn(fmt::format("tuning database lookup failed, using the heuristic config: {}", e.what()));
      return std::nullopt;
    }
    if (!winner) return std::nullopt;
    try {
      Config config = Config::parse(winner->config);
      if (!in_config_space(backend, problem, pass, config))
        throw Error(ErrorCode::InvalidArgument, "outside this backend's config space");
      return config;
    } catch (const Error& e) {
      rejected_ = true;
      warn(fmt::format("tuning database '{}': rejected the stored {} config '{}' for '{}' ({}); using the default",
                       db_->path(), to_string(pass), winner->config, problem.to_string(), e.what()));
      return std::nullopt;
    }
  }

  bool tune_on_miss_;
  double budget_s_;
  std::optional<TuningDb> db_;
  bool rejected_ = false;  // the last lookup found a row but refused it (then: default, no re-tuning)
  std::mutex mutex_;
  std::map<std::string, Config> memo_;
};

}  // namespace

std::unique_ptr<ConfigSelector> make_config_selector(const EngineOptions& options) {
  if (options.tuning == TuningPolicy::off) return std::make_unique<HeuristicSelector>();
  return std::make_unique<DatabaseSelector>(options);
}

}  // namespace dcnjit::tuner
