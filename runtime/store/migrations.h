// Schema migrations keyed on PRAGMA user_version. A database starts empty at version 0; migration k
// takes it from version k-1 to k. migrate() applies the missing ones in order, each in its own
// BEGIN IMMEDIATE transaction that re-reads the version under the lock, so two processes opening a
// fresh file at once apply each migration exactly once.
#pragma once

#include <span>

namespace dcnjit::store {

class Connection;

struct Migration {
  int to_version;           // 1, 2, 3, ... in order
  const char* description;  // what it changes, for error messages
  const char* sql;          // one or more statements
};

// Brings the database to migrations.back().to_version and returns that version. Throws StoreError:
// newer_schema when the file's version is beyond the list (a newer dcnjit wrote it),
// foreign_schema when a version-0 file already holds tables (some other program's database).
// On a read-only connection nothing is written: it returns the file's version (possibly older than
// the latest) after the same checks, and the caller decides whether it can read that version.
int migrate(Connection& connection, std::span<const Migration> migrations);

}  // namespace dcnjit::store
