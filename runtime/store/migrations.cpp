#include "runtime/store/migrations.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include "runtime/store/connection.h"
#include "runtime/store/store_error.h"
#include "runtime/store/transaction.h"

namespace dcnjit::store {

namespace {

void check_list(const Connection& connection, std::span<const Migration> migrations) {
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].to_version != int(i) + 1) {
      throw Error(ErrorCode::Internal, fmt::format("database '{}': migration #{} targets version {}, expected {}",
                                                   connection.path(), i, migrations[i].to_version, i + 1));
    }
  }
}

// Checks the version against what this build knows; returns it. `judge_tables`: whether tables at
// version 0 mean a file of another program, which only holds under the write lock (or on a read-only
// connection): without it, another process may be creating this very file.
int checked_version(Connection& connection, int latest, bool judge_tables = true) {
  const int version = connection.user_version();
  if (version > latest) {
    throw StoreError(StoreErrorKind::newer_schema, 0,
                     fmt::format("database '{}': schema version {} is newer than this build's {} (written by a newer "
                                 "dcnjit); use that version or another cache file",
                                 connection.path(), version, latest));
  }
  if (version == 0 && judge_tables) {
    auto tables = connection.prepare("SELECT group_concat(name, ', ') FROM sqlite_schema WHERE type = 'table'");
    const std::string names = tables.step() ? tables.column_text(0) : "";
    if (!names.empty()) {
      throw StoreError(StoreErrorKind::foreign_schema, 0,
                       fmt::format("database '{}': an SQLite file of another program (tables: {}), not a dcnjit "
                                   "database; it was left untouched",
                                   connection.path(), names));
    }
  }
  return version;
}

}  // namespace

int migrate(Connection& connection, std::span<const Migration> migrations) {
  check_list(connection, migrations);
  const int latest = int(migrations.size());
  if (connection.read_only()) return checked_version(connection, latest);
  // Cheap check without the write lock: the common case is an up-to-date file. Anything else is decided
  // under the lock (BEGIN IMMEDIATE waits for it like every write), once a concurrent creator is done.
  if (checked_version(connection, latest, /*judge_tables=*/false) == latest) return latest;
  for (const Migration& migration : migrations) {
    Transaction transaction(connection);
    const int version = checked_version(connection, latest);  // again, under the lock
    if (version >= migration.to_version) continue;
    try {
      connection.execute(migration.sql);
    } catch (const Error&) {
      // SQLite's reason alone (the statement is the migration script, not the user's business). A file
      // at version N without version N's tables fails here: it says what it does not hold.
      throw StoreError(StoreErrorKind::other, 0,
                       fmt::format("database '{}': cannot upgrade schema version {} to {} ({}): {}; the file does not "
                                   "hold what version {} has, so it is damaged or not dcnjit's: move it away or use "
                                   "another path",
                                   connection.path(), version, migration.to_version, migration.description,
                                   sqlite3_errmsg(connection.handle()), version));
    }
    connection.set_user_version(migration.to_version);
    transaction.commit();
  }
  return latest;
}

}  // namespace dcnjit::store
