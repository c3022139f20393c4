// StoreError: the Error the SQLite layer throws. It is an Error(CacheError) whose message names the
// database file, plus a kind so callers can react to specific failures (move a corrupt file aside,
// fall back to read-only, refuse a newer schema) without parsing messages.
#pragma once

#include <string>
#include <string_view>

#include "dcnjit/error.h"

struct sqlite3;

namespace dcnjit::store {

enum class StoreErrorKind {
  not_a_database,  // the file exists but is not SQLite (SQLITE_NOTADB) or is damaged (SQLITE_CORRUPT)
  foreign_schema,  // SQLite, but holds tables that no migration of ours created
  newer_schema,    // user_version is newer than this build knows
  read_only,       // a write was refused because the file or its directory is not writable
  busy,            // another connection held the lock for longer than the busy timeout
  cannot_open,     // missing directory, permissions, ...
  untrusted,       // the file or its directory can be written by another user (core/file_trust.h)
  other,
};
const char* to_string(StoreErrorKind kind);

class StoreError : public Error {
 public:
  StoreError(StoreErrorKind kind, int sqlite_code, const std::string& message)
      : Error(ErrorCode::CacheError, message), kind_(kind), sqlite_code_(sqlite_code) {}
  StoreErrorKind kind() const noexcept { return kind_; }
  int sqlite_code() const noexcept { return sqlite_code_; }  // primary result code, 0 when not from SQLite

 private:
  StoreErrorKind kind_;
  int sqlite_code_;
};

// Maps an SQLite result code to the kind above.
StoreErrorKind classify_sqlite_code(int code);

// Throws the StoreError for `code`, with the handle's message (if any), naming `path` and `what`.
[[noreturn]] void throw_sqlite_error(sqlite3* db, const std::string& path, int code, std::string_view what);

}  // namespace dcnjit::store
