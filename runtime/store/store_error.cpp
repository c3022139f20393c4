#include "runtime/store/store_error.h"

#include <fmt/format.h>
#include <sqlite3.h>

namespace dcnjit::store {

const char* to_string(StoreErrorKind kind) {
  switch (kind) {
    case StoreErrorKind::not_a_database: return "not_a_database";
    case StoreErrorKind::foreign_schema: return "foreign_schema";
    case StoreErrorKind::newer_schema: return "newer_schema";
    case StoreErrorKind::read_only: return "read_only";
    case StoreErrorKind::busy: return "busy";
    case StoreErrorKind::cannot_open: return "cannot_open";
    case StoreErrorKind::untrusted: return "untrusted";
    case StoreErrorKind::other: return "other";
  }
  return "?";
}

StoreErrorKind classify_sqlite_code(int code) {
  switch (code & 0xff) {  // primary code; extended codes keep it in the low byte
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT: return StoreErrorKind::not_a_database;
    case SQLITE_READONLY: return StoreErrorKind::read_only;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return StoreErrorKind::busy;
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_AUTH: return StoreErrorKind::cannot_open;
    default: return StoreErrorKind::other;
  }
}

void throw_sqlite_error(sqlite3* db, const std::string& path, int code, std::string_view what) {
  const char* detail = db ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  throw StoreError(classify_sqlite_code(code), code & 0xff,
                   fmt::format("database '{}': {} failed: {}", path, what, detail));
}

}  // namespace dcnjit::store
