#include "tuner/tuning_db.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <optional>
#include <system_error>

#include "core/file_trust.h"
#include "runtime/store/store_error.h"
#include "runtime/store/transaction.h"
#include "tuner/log.h"

namespace dcnjit::tuner {

namespace fs = std::filesystem;
using store::StoreError;
using store::StoreErrorKind;

namespace {

// Version 1: the first release's schema. Kept verbatim: a database written by it migrates forward.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE trials(
  id INTEGER PRIMARY KEY,
  problem TEXT NOT NULL, pass TEXT NOT NULL, backend TEXT NOT NULL, env TEXT NOT NULL,
  config TEXT NOT NULL,
  status TEXT NOT NULL CHECK(status IN ('ok', 'failed')),
  time_ms REAL,
  error TEXT,
  created_at INTEGER NOT NULL);
CREATE TABLE winners(
  problem TEXT NOT NULL, pass TEXT NOT NULL, backend TEXT NOT NULL, env TEXT NOT NULL,
  config TEXT NOT NULL,
  time_ms REAL NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY(problem, pass, backend, env));
)sql";

// Version 2: the memory layout joins the key (NHWC kernels will come), winners remember the default
// config's time (the speedup `dcnjit tune` reports for a cached entry), and trials get an index for
// "all trials of this key". SQLite cannot change a primary key in place, so winners is rebuilt.
constexpr const char* kSchemaV2 = R"sql(
ALTER TABLE trials ADD COLUMN layout TEXT NOT NULL DEFAULT 'NCHW';
CREATE INDEX trials_by_key ON trials(problem, layout, pass, backend, env);
CREATE TABLE winners_v2(
  problem TEXT NOT NULL, layout TEXT NOT NULL, pass TEXT NOT NULL, backend TEXT NOT NULL, env TEXT NOT NULL,
  config TEXT NOT NULL,
  time_ms REAL NOT NULL,
  default_config TEXT NOT NULL DEFAULT '',
  default_time_ms REAL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY(problem, layout, pass, backend, env));
INSERT INTO winners_v2(problem, layout, pass, backend, env, config, time_ms, created_at)
  SELECT problem, 'NCHW', pass, backend, env, config, time_ms, created_at FROM winners;
DROP TABLE winners;
ALTER TABLE winners_v2 RENAME TO winners;
)sql";

// Version 3: configs name their algorithm and its knobs (core/knob_table.h). Rows of version 2 spelled
// every knob of every backend ("step=2 threads=256 ept=1 bwd=fused atomic=plain algo=0 cols=recompute
// tile=0"); they are rewritten into the im2col algorithm's knobs of their backend, so nothing tuned is
// lost: cpu "im2col step=2 tile=0"; sim "im2col step=2 threads=256 items=1 bwd=fused atomic=plain"
// (ept was renamed items); cuda the same plus the one cuBLASLt index for each GEMM role. (sim and cuda
// rows were tuned by generator version 1, whose environment key no longer matches, so they are kept for
// the record rather than served.)
#define DCNJIT_V3_CPU(c) "'im2col ' || substr(" c ", 1, instr(" c ", ' ') - 1) || ' ' || substr(" c ", instr(" c ", 'tile='))"
#define DCNJIT_V3_GPU(c) "'im2col ' || replace(substr(" c ", 1, instr(" c ", ' algo=') - 1), 'ept=', 'items=')"
#define DCNJIT_V3_ALGO(c) "substr(" c ", instr(" c ", ' algo=') + 6, instr(" c ", ' cols=') - instr(" c ", ' algo=') - 6)"
#define DCNJIT_V3_CUDA(c) \
  DCNJIT_V3_GPU(c) " || ' gemm_fwd=' || " DCNJIT_V3_ALGO(c) " || ' gemm_dcol=' || " DCNJIT_V3_ALGO(c) \
                   " || ' gemm_wgrad=' || " DCNJIT_V3_ALGO(c)
#define DCNJIT_V3_REWRITE(table, c)                                                                     \
  "UPDATE " table " SET " c " = CASE backend WHEN 'cpu' THEN " DCNJIT_V3_CPU(c) " WHEN 'cuda' THEN " \
  DCNJIT_V3_CUDA(c) " ELSE " DCNJIT_V3_GPU(c) " END WHERE " c " LIKE 'step=% cols=% tile=%';\n"
constexpr const char* kSchemaV3 = DCNJIT_V3_REWRITE("trials", "config") DCNJIT_V3_REWRITE("winners", "config")
    DCNJIT_V3_REWRITE("winners", "default_config");
#undef DCNJIT_V3_REWRITE
#undef DCNJIT_V3_CUDA
#undef DCNJIT_V3_ALGO
#undef DCNJIT_V3_GPU
#undef DCNJIT_V3_CPU

constexpr store::Migration kMigrations[] = {
    {1, "trials and winners", kSchemaV1},
    {2, "layout key, default config time, trials index", kSchemaV2},
    {3, "configs name their algorithm and its knobs", kSchemaV3},
};

constexpr const char* kWinnerColumns =
    "problem, layout, pass, backend, env, config, time_ms, default_config, default_time_ms, created_at";

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Moves a damaged database (and its WAL/shm companions, which belong to it) aside. Returns the new name.
std::string move_aside(const std::string& path) {
  const std::string aside = fmt::format("{}.corrupt-{:%Y%m%d-%H%M%S}", path, fmt::localtime(std::time(nullptr)));
  std::error_code ec;
  fs::rename(path, aside, ec);
  // Another process may have moved it first; then the fresh file is already there.
  if (ec && ec != std::errc::no_such_file_or_directory)
    throw Error(ErrorCode::CacheError, fmt::format("database '{}' is damaged and could not be moved aside to '{}': {}",
                                                   path, aside, ec.message()));
  for (const char* suffix : {"-wal", "-shm"}) fs::rename(path + suffix, aside + suffix, ec);
  return aside;
}

store::Connection open_read_only(const std::string& path) {
  return store::Connection::open(path, store::Access::read_only);
}

store::Connection open_read_write(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) {
    try {
      detail::create_private_directories(parent);
    } catch (const fs::filesystem_error&) {
      // Shows up as cannot_open below, naming the database.
    }
  }
  try {
    return store::Connection::open(path, store::Access::read_write);
  } catch (const StoreError& e) {
    if (e.kind() == StoreErrorKind::not_a_database) {
      const std::string aside = move_aside(path);
      warn(fmt::format("tuning database '{}' is not a valid SQLite file; moved it to '{}' and started a new one",
                       path, aside));
      return store::Connection::open(path, store::Access::read_write);
    }
    const bool unwritable = e.kind() == StoreErrorKind::read_only || e.kind() == StoreErrorKind::cannot_open;
    if (!unwritable || !fs::is_regular_file(path)) throw;  // a directory or FIFO is no read-only database
    warn(fmt::format("tuning database '{}' is not writable; using it read-only (new tuning results are not kept)",
                     path));
    return open_read_only(path);
  }
}

}  // namespace

std::span<const store::Migration> TuningDb::migrations() { return kMigrations; }
int TuningDb::schema_version() { return int(std::size(kMigrations)); }

TuningDb TuningDb::open(const std::string& path, Mode mode) {
  if (mode == Mode::read_only && !fs::exists(path))
    throw Error(ErrorCode::CacheError, fmt::format("tuning database '{}' does not exist", path));
  store::Connection connection = mode == Mode::read_write ? open_read_write(path) : open_read_only(path);
  const int version = store::migrate(connection, kMigrations);
  if (version != schema_version()) {
    // Only a read-only connection can be left at an older version (it cannot migrate): one the caller
    // asked for (cache list, export), or a file that is not writable.
    const std::string what = version == 0 ? "is empty (no dcnjit schema yet)"
                                          : fmt::format("has schema version {}, older than this build's {}", version,
                                                        schema_version());
    if (mode == Mode::read_only)
      throw Error(ErrorCode::CacheError,
                  fmt::format("tuning database '{}' {}; this command only reads it, so it is not {}: a command that "
                              "writes (dcnjit tune, cache import, cache clear) does that",
                              path, what, version == 0 ? "set up" : "upgraded"));
    throw Error(ErrorCode::CacheError,
                fmt::format("tuning database '{}' {} and is not writable, so it cannot be {}", path, what,
                            version == 0 ? "set up" : "upgraded"));
  }
  return TuningDb(std::move(connection));
}

TuningDb::TuningDb(store::Connection connection)
    : connection_(std::make_unique<store::Connection>(std::move(connection))) {
  find_winner_ = connection_->prepare(fmt::format(
      "SELECT {} FROM winners WHERE problem=?1 AND layout=?2 AND pass=?3 AND backend=?4 AND env=?5", kWinnerColumns));
  if (!writable()) return;
  insert_trial_ = connection_->prepare(
      "INSERT INTO trials(problem, layout, pass, backend, env, config, status, time_ms, error, created_at) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  constexpr const char* kUpsert =
      "INSERT INTO winners(problem, layout, pass, backend, env, config, time_ms, default_config, default_time_ms, "
      "created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
      "ON CONFLICT(problem, layout, pass, backend, env) DO UPDATE SET config=excluded.config, "
      "time_ms=excluded.time_ms, default_config=excluded.default_config, "
      "default_time_ms=coalesce(excluded.default_time_ms, winners.default_time_ms), created_at=excluded.created_at";
  upsert_faster_ = connection_->prepare(std::string(kUpsert) + " WHERE excluded.time_ms < winners.time_ms");
  upsert_always_ = connection_->prepare(kUpsert);
}

namespace {

void bind_key(store::Statement& statement, const TuningKey& key) {
  statement.bind_all(key.problem, key.layout, to_string(key.pass), to_string(key.backend), key.env);
}

Winner read_winner(const store::Statement& row) {
  Winner w;
  w.key.problem = row.column_text(0);
  w.key.layout = row.column_text(1);
  w.key.pass = parse_pass(row.column_text(2));
  w.key.backend = parse_backend(row.column_text(3));
  w.key.env = row.column_text(4);
  w.config = row.column_text(5);
  w.time_ms = row.column_double(6);
  w.default_config = row.column_text(7);
  w.default_time_ms = row.column_optional_double(8);
  w.created_at = row.column_int64(9);
  return w;
}

}  // namespace

std::optional<Winner> TuningDb::find_winner(const TuningKey& key) {
  store::Statement& q = *find_winner_;
  bind_key(q, key);
  std::optional<Winner> found;
  try {
    if (q.step()) found = read_winner(q);
  } catch (const Error& e) {
    // A row whose pass/backend text is not ours was written by hand: treat as absent, say so.
    q.reset();
    if (dynamic_cast<const StoreError*>(&e)) throw;
    warn(fmt::format("tuning database '{}': ignoring a malformed winner row for '{}': {}", path(), key.problem,
                     e.what()));
    return std::nullopt;
  }
  q.reset();
  return found;
}

int64_t TuningDb::upsert(store::Statement& statement, const Winner& winner) {
  bind_key(statement, winner.key);
  statement.bind(6, winner.config).bind(7, winner.time_ms).bind(8, winner.default_config);
  if (winner.default_time_ms) statement.bind(9, *winner.default_time_ms);
  else statement.bind_null(9);
  statement.bind(10, winner.created_at ? winner.created_at : unix_now());
  std::optional<store::Transaction> transaction;
  if (!in_transaction_) transaction.emplace(*connection_);
  statement.run();
  const int64_t changed = connection_->changes();
  if (transaction) transaction->commit();
  return changed;
}

bool TuningDb::offer_winner(const Winner& winner) {
  if (!writable()) return false;
  return upsert(*upsert_faster_, winner) > 0;
}

void TuningDb::replace_winner(const Winner& winner) {
  if (!writable())
    throw Error(ErrorCode::CacheError, fmt::format("tuning database '{}' is read-only", path()));
  upsert(*upsert_always_, winner);
}

void TuningDb::record_trial(const Trial& trial) {
  if (!writable()) return;
  store::Statement& s = *insert_trial_;
  bind_key(s, trial.key);
  s.bind(6, trial.config).bind(7, trial.ok ? "ok" : "failed");
  if (trial.ok) s.bind(8, trial.time_ms);
  else s.bind_null(8);
  if (trial.error.empty()) s.bind_null(9);
  else s.bind(9, trial.error);
  s.bind(10, trial.created_at ? trial.created_at : unix_now());
  std::optional<store::Transaction> transaction;
  if (!in_transaction_) transaction.emplace(*connection_);
  s.run();
  if (transaction) transaction->commit();
}

void TuningDb::in_one_transaction(const std::function<void()>& body) {
  if (!writable())
    throw Error(ErrorCode::CacheError, fmt::format("tuning database '{}' is read-only", path()));
  if (in_transaction_) return body();
  store::Transaction transaction(*connection_);
  in_transaction_ = true;
  try {
    body();
  } catch (...) {
    in_transaction_ = false;
    throw;  // the transaction rolls back
  }
  in_transaction_ = false;
  transaction.commit();
}

std::vector<Winner> TuningDb::winners() {
  auto q = connection_->prepare(
      fmt::format("SELECT {} FROM winners ORDER BY backend, env, problem, layout, pass", kWinnerColumns));
  std::vector<Winner> all;
  while (q.step()) {
    try {
      all.push_back(read_winner(q));
    } catch (const StoreError&) {
      throw;
    } catch (const Error& e) {
      warn(fmt::format("tuning database '{}': skipping a malformed winner row: {}", path(), e.what()));
    }
  }
  return all;
}

std::vector<Trial> TuningDb::trials() {
  auto q = connection_->prepare(
      "SELECT problem, layout, pass, backend, env, config, status, time_ms, error, created_at FROM trials ORDER BY id");
  std::vector<Trial> all;
  while (q.step()) {
    try {
      Trial t;
      t.key = {q.column_text(0), q.column_text(1), parse_pass(q.column_text(2)), parse_backend(q.column_text(3)),
               q.column_text(4)};
      t.config = q.column_text(5);
      t.ok = q.column_text(6) == "ok";
      t.time_ms = t.ok ? q.column_double(7) : 0;
      t.error = q.column_text(8);
      t.created_at = q.column_int64(9);
      all.push_back(std::move(t));
    } catch (const StoreError&) {
      throw;
    } catch (const Error& e) {
      warn(fmt::format("tuning database '{}': skipping a malformed trial row: {}", path(), e.what()));
    }
  }
  return all;
}

std::vector<std::pair<std::string, double>> TuningDb::successful_trials(const TuningKey& key) {
  auto q = connection_->prepare(
      "SELECT config, time_ms FROM trials WHERE problem=?1 AND layout=?2 AND pass=?3 AND backend=?4 AND env=?5 "
      "AND status='ok' ORDER BY id");
  bind_key(q, key);
  std::vector<std::pair<std::string, double>> found;
  while (q.step()) found.emplace_back(q.column_text(0), q.column_double(1));
  return found;
}

int64_t TuningDb::trial_count() {
  auto q = connection_->prepare("SELECT count(*) FROM trials");
  return q.step() ? q.column_int64(0) : 0;
}

void TuningDb::clear() {
  if (!writable())
    throw Error(ErrorCode::CacheError, fmt::format("tuning database '{}' is read-only", path()));
  store::Transaction transaction(*connection_);
  connection_->execute("DELETE FROM winners; DELETE FROM trials;");
  transaction.commit();
}

}  // namespace dcnjit::tuner
