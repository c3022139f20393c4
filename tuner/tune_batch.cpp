#include "tuner/tune_batch.h"

#include <fmt/format.h>

#include "tuner/config_space.h"
#include "tuner/log.h"

namespace dcnjit::tuner {

const char* to_string(BatchEntry::Status status) {
  switch (status) {
    case BatchEntry::Status::tuned: return "tuned";
    case BatchEntry::Status::cached: return "cached";
    case BatchEntry::Status::failed: return "failed";
  }
  return "?";
}

namespace {

// The database's winner if it is usable; a row that read_stored_config() refuses is
// reported and treated as missing (it is then re-tuned and replaced).
std::optional<Winner> usable_winner(detail::BackendImpl& backend, TuningDb& db, const Problem& problem, Pass pass,
                                    bool& rejected) {
  rejected = false;
  auto winner = db.find_winner(tuning_key(backend, problem, pass));
  if (!winner) return std::nullopt;
  const StoredConfig stored = read_stored_config(backend, problem, winner->config);
  if (stored.config) return winner;
  rejected = true;
  warn(fmt::format("tuning database '{}': rejected the stored {} config '{}' for '{}' ({}); tuning again", db.path(),
                   to_string(pass), winner->config, problem.to_string(), stored.why_not));
  return std::nullopt;
}

// The fastest successful stored trial per algorithm for `key` (a row whose config does not parse, written
// by hand, is skipped: it names no algorithm).
std::map<std::string, double> stored_bests(TuningDb& db, const TuningKey& key) {
  std::map<std::string, double> bests;
  for (const auto& [config, time_ms] : db.successful_trials(key)) {
    std::string algorithm;
    try {
      algorithm = Config::parse(config).algorithm;
    } catch (const Error&) {
      continue;
    }
    auto [best, added] = bests.emplace(algorithm, time_ms);
    if (!added) best->second = std::min(best->second, time_ms);
  }
  return bests;
}

}  // namespace

std::vector<BatchEntry> tune_batch(detail::BackendImpl& backend, TuningDb* db, const std::vector<Problem>& problems,
                                   const std::vector<Pass>& passes, const BatchOptions& options) {
  std::vector<BatchEntry> entries;
  const int items = int(problems.size() * passes.size());
  std::string lost;  // set once a candidate has lost the device: nothing after it can run
  for (const Problem& problem : problems) {
    for (Pass pass : passes) {
      BatchEntry entry;
      entry.problem = problem;
      entry.pass = pass;
      if (!lost.empty()) {
        entry.status = BatchEntry::Status::failed;
        entry.config = backend.default_config(problem).to_string();
        entry.error = "not tuned: the GPU context was lost by an earlier item (" + lost + ")";
        entries.push_back(std::move(entry));
        continue;
      }
      BatchProgress progress{int(entries.size()), items, &problem, pass, nullptr};
      bool rejected = false;
      if (db) {
        if (auto winner = usable_winner(backend, *db, problem, pass, rejected)) {
          entry.status = BatchEntry::Status::cached;
          entry.config = winner->config;
          entry.time_ms = winner->time_ms;
          entry.default_config = winner->default_config;
          entry.default_time_ms = winner->default_time_ms;
          entry.by_algorithm = stored_bests(*db, tuning_key(backend, problem, pass));
          entries.push_back(std::move(entry));
          continue;
        }
      }
      if (options.on_progress) options.on_progress(progress);
      TuneOptions tune_options;
      tune_options.budget_s = options.budget_s;
      if (options.on_progress) {
        tune_options.on_progress = [&](const TuneProgress& trial) {
          progress.trial = &trial;
          options.on_progress(progress);
        };
      }
      try {
        TuneResult r = tune_pass(backend, problem, pass, tune_options, db);
        // A rejected row is replaced by the new winner whatever its (untrustworthy) time says.
        if (rejected && db && db->writable() && r.ok && !r.stored) {
          db->replace_winner(Winner{tuning_key(backend, problem, pass), r.winner.to_string(), r.winner_ms,
                                    r.default_config.to_string(), r.default_ms, 0});
        }
        entry.status = r.ok ? BatchEntry::Status::tuned : BatchEntry::Status::failed;
        entry.config = r.winner.to_string();
        if (r.ok) entry.time_ms = r.winner_ms;
        entry.default_config = r.default_config.to_string();
        entry.default_time_ms = r.default_ms;
        entry.by_algorithm = r.best_by_algorithm;
        if (!r.ok) entry.error = fmt::format("all {} configs tried failed", r.measured);
        if (!r.device_lost.empty()) {
          lost = r.device_lost;
          entry.status = BatchEntry::Status::failed;
          entry.error = fmt::format("tuning stopped after {} of {} configs: a config lost the GPU context ({}); "
                                    "nothing was stored for this item and later items cannot run in this process",
                                    r.measured, r.candidates, r.device_lost);
        }
      } catch (const Error& e) {
        if (e.code() == ErrorCode::DeviceLost) lost = e.what();
        // E.g. the inputs do not fit in memory: this item fails, the batch goes on.
        entry.status = BatchEntry::Status::failed;
        entry.config = backend.default_config(problem).to_string();
        entry.error = e.what();
      }
      entries.push_back(std::move(entry));
    }
  }
  return entries;
}

}  // namespace dcnjit::tuner
