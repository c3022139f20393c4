// TuningDb: the persistent record of every tuning trial and of the winning config per
// (problem, layout, pass, backend, environment) — docs/architecture.md, caches and keys.
//
// Keys. problem = Problem::to_string() (canonical: shape, stride, pad, dilation, groups, og, mask,
// bias, boundary, dtype), layout = "NCHW", pass = to_string(Pass), backend = to_string(Backend),
// env = BackendImpl::environment() (device, driver/compiler versions, generator version).
// The pass is a free text key: adding a pass (the full `backward`, next to the sub-passes written
// by earlier versions) needs no schema version. Older rows keep their meaning and are still read
// (tuner/selector.h uses them as a fallback), and an older binary skips rows of a pass it does not
// know with a warning (winners(), trials(), find_winner()) instead of refusing the file.
//
// Bad files (chosen policy, see open()):
//   - not SQLite, or damaged: moved aside to "<path>.corrupt-<YYYYmmdd-HHMMSS>" with a warning, and a
//     fresh database is created; the cache is only a cache, and keeping the bad file lets a user look.
//   - SQLite of another program (tables but no dcnjit schema) or a newer schema version: Error(CacheError)
//     naming the file; such a file holds someone's data, so it is never moved or modified.
//   - not writable (file or directory): opened read-only with a warning; lookups work, new results are
//     not persisted.
//   - writable by another user (file or directory, core/file_trust.h): Error(CacheError) naming it;
//     nothing is read from it. A directory this creates is private (0700).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dcnjit/config.h"
#include "dcnjit/problem.h"
#include "runtime/store/connection.h"
#include "runtime/store/migrations.h"
#include "tuner/pass.h"

namespace dcnjit::tuner {

inline constexpr const char* kLayoutNCHW = "NCHW";
// The layout column of a problem's key: "NCHW" or "NHWC".
inline const char* layout_key(Layout layout) { return layout == Layout::nhwc ? "NHWC" : kLayoutNCHW; }

struct TuningKey {
  std::string problem;  // Problem::to_string()
  std::string layout = kLayoutNCHW;
  Pass pass = Pass::forward;
  Backend backend = Backend::cpu;
  std::string env;

  bool operator==(const TuningKey&) const = default;
};

struct Trial {
  TuningKey key;
  std::string config;     // Config::to_string()
  bool ok = false;
  double time_ms = 0;     // median; meaningless when !ok (stored as NULL: infinite time)
  std::string error;      // why it failed (compile log, launch error); empty when ok
  int64_t created_at = 0; // unix seconds; filled by record_trial when 0
};

struct Winner {
  TuningKey key;
  std::string config;
  double time_ms = 0;
  std::string default_config;            // the heuristic's config for the same key
  std::optional<double> default_time_ms; // its time, when it ran (absent if it failed or was not timed)
  int64_t created_at = 0;
};

class TuningDb {
 public:
  enum class Mode {
    read_write,  // create if missing; falls back to read-only (with a warning) when not writable
    read_only,   // lookups only; throws Error(CacheError) if the file does not exist
  };

  // Opens (and migrates) the database at `path`, creating its directory if needed. Policy for bad
  // files: see the header comment. Throws Error(CacheError) naming the file when unusable.
  static TuningDb open(const std::string& path, Mode mode = Mode::read_write);

  const std::string& path() const { return connection_->path(); }
  bool writable() const { return !connection_->read_only(); }

  std::optional<Winner> find_winner(const TuningKey& key);
  // UPSERT that keeps the faster winner; returns true if `winner` is now stored. No-op (false) when
  // read-only.
  bool offer_winner(const Winner& winner);
  // Stores `winner` even if slower than the stored one (import of a backup).
  void replace_winner(const Winner& winner);
  // Appends one trial in its own short transaction. No-op when read-only.
  void record_trial(const Trial& trial);

  // Runs `body` (offer_winner, replace_winner, record_trial calls) as one transaction: all of it is
  // stored or, if body throws or the process dies, none of it. Throws Error(CacheError) when read-only.
  void in_one_transaction(const std::function<void()>& body);

  std::vector<Winner> winners();
  std::vector<Trial> trials();  // every trial, oldest first
  // The successful trials of one key (config and time), oldest first: one indexed query.
  std::vector<std::pair<std::string, double>> successful_trials(const TuningKey& key);
  int64_t trial_count();
  void clear();  // removes all winners and trials

  // The schema, oldest first: exposed so tests can build a database at an older version.
  static std::span<const store::Migration> migrations();
  static int schema_version();

 private:
  explicit TuningDb(store::Connection connection);
  // Runs the upsert in its own transaction; returns the number of rows it changed.
  int64_t upsert(store::Statement& statement, const Winner& winner);

  // Behind a pointer: the prepared statements below refer to the connection's handle.
  std::unique_ptr<store::Connection> connection_;
  std::optional<store::Statement> find_winner_;
  std::optional<store::Statement> insert_trial_;
  std::optional<store::Statement> upsert_faster_;
  std::optional<store::Statement> upsert_always_;
  bool in_transaction_ = false;  // inside in_one_transaction: the writes do not open their own
};

}  // namespace dcnjit::tuner
