#include "runtime/store/connection.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>
#include <utility>

#include "core/file_trust.h"
#include "runtime/store/store_error.h"

namespace dcnjit::store {

namespace {

// A read-only open of a WAL database needs its -shm file; in a read-only directory where the last
// writer removed it, SQLite cannot create one. The file is then opened as immutable (no locking,
// no WAL): correct as long as nobody writes it, which a read-only directory guarantees.
std::string immutable_uri(const std::string& path) {
  std::string uri = "file:";
  for (char c : path) {
    if (c == '?' || c == '#' || c == '%') uri += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    else uri += c;
  }
  return uri + "?immutable=1";
}

sqlite3* open_handle(const std::string& name, int flags, int& code) {
  sqlite3* db = nullptr;
  code = sqlite3_open_v2(name.c_str(), &db, flags | SQLITE_OPEN_URI, nullptr);
  if (code != SQLITE_OK) {
    sqlite3_close_v2(db);  // a handle is returned even on failure
    return nullptr;
  }
  return db;
}

// Refuses a database another user could have written (or could write next), before SQLite reads it.
// A missing directory is left to SQLite, which reports it as cannot_open.
void check_trusted(const std::string& path) {
  const std::filesystem::path file(path);
  const std::filesystem::path directory = file.has_parent_path() ? file.parent_path() : ".";
  std::error_code ec;
  if (!std::filesystem::is_directory(directory, ec)) return;
  // Not a question of trust: a path that names no file (DCNJIT_CACHE set to a directory, a FIFO).
  const auto status = std::filesystem::status(file, ec);
  if (status.type() == std::filesystem::file_type::directory)
    throw StoreError(StoreErrorKind::cannot_open, 0,
                     fmt::format("database '{}': is a directory; name a database file (for example '{}')", path,
                                 (file / "cache.sqlite").string()));
  if (std::filesystem::exists(status) && status.type() != std::filesystem::file_type::regular)
    throw StoreError(StoreErrorKind::cannot_open, 0,
                     fmt::format("database '{}': is not a regular file (a FIFO or a device); name a database file",
                                 path));
  std::string where = "its directory " + directory.string();
  std::string problem = detail::untrusted_directory_reason(directory);
  if (problem.empty()) where = "the file", problem = detail::untrusted_file_reason(file);
  if (!problem.empty())
    throw StoreError(StoreErrorKind::untrusted, 0,
                     fmt::format("database '{}': not opened: {} {}; dcnjit reads nothing that another user can "
                                 "write (fix the permissions or choose another path)",
                                 path, where, problem));
}

// PRAGMA journal_mode=WAL needs an exclusive lock, and SQLite answers SQLITE_BUSY at once, without its
// busy handler, when another connection holds a shared lock (two processes creating the same file do).
// So it is retried for as long as any other write would wait on the lock: the busy timeout.
std::string switch_to_wal(Connection& connection, std::chrono::milliseconds busy_timeout) {
  const auto deadline = std::chrono::steady_clock::now() + busy_timeout;
  for (;;) {
    try {
      auto mode = connection.prepare("PRAGMA journal_mode=WAL");
      return mode.step() ? mode.column_text(0) : "";
    } catch (const StoreError& e) {
      if (e.kind() != StoreErrorKind::busy || std::chrono::steady_clock::now() >= deadline) throw;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// The start of a statement for an error message: a migration script must not be dumped whole.
std::string statement_summary(std::string_view sql) {
  const std::size_t start = sql.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return {};
  sql.remove_prefix(start);
  const std::size_t line_end = sql.find('\n');
  const std::string_view first = sql.substr(0, std::min<std::size_t>(line_end, 100));
  return std::string(first) + (first.size() < sql.size() ? " ..." : "");
}

}  // namespace

Connection Connection::open(const std::string& path, Access access, std::chrono::milliseconds busy_timeout) {
  const int flags = access == Access::read_write ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
  if (path != ":memory:") check_trusted(path);
  // Opens `name`, then reads the schema: SQLite opens lazily, so this read is what detects a file
  // that is not a database (or a WAL database whose -shm cannot be created).
  auto attempt = [&](const std::string& name) {
    int code = SQLITE_OK;
    sqlite3* db = open_handle(name, flags, code);
    if (!db) {
      throw StoreError(classify_sqlite_code(code), code & 0xff,
                       fmt::format("database '{}': cannot open ({})", path, sqlite3_errstr(code)));
    }
    Connection connection(db, path, access);
    connection.busy_timeout_ = busy_timeout;
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, int(busy_timeout.count()));
    connection.execute("SELECT count(*) FROM sqlite_schema");
    return connection;
  };
  if (access == Access::read_only) {
    try {
      return attempt(path);
    } catch (const StoreError& e) {
      if (e.kind() != StoreErrorKind::read_only && e.kind() != StoreErrorKind::cannot_open) throw;
      return attempt(immutable_uri(path));
    }
  }
  Connection connection = attempt(path);
  sqlite3* db = connection.db_;

  // A read-write open of a read-only file silently degrades to read-only; report it instead.
  if (sqlite3_db_readonly(db, "main") == 1) {
    throw StoreError(StoreErrorKind::read_only, SQLITE_READONLY,
                     fmt::format("database '{}': the file is not writable", path));
  }
  if (path == ":memory:") return connection;  // scratch database (e.g. for SQLite's JSON functions)
  const std::string journal = switch_to_wal(connection, busy_timeout);
  if (journal != "wal") {
    throw StoreError(StoreErrorKind::read_only, SQLITE_READONLY,
                     fmt::format("database '{}': cannot switch to WAL journaling (got '{}'); is its directory "
                                 "writable?",
                                 path, journal));
  }
  connection.execute("PRAGMA synchronous=NORMAL");
  return connection;
}

Connection::Connection(Connection&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      path_(std::move(other.path_)),
      access_(other.access_),
      busy_timeout_(other.busy_timeout_) {}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    if (db_) sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
    access_ = other.access_;
    busy_timeout_ = other.busy_timeout_;
  }
  return *this;
}

Connection::~Connection() {
  if (db_) sqlite3_close_v2(db_);
}

void Connection::execute(std::string_view sql) {
  // sqlite3_exec needs a NUL-terminated string.
  const std::string text(sql);
  char* message = nullptr;
  const int code = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (code != SQLITE_OK) {
    std::string detail = message ? message : sqlite3_errstr(code);
    sqlite3_free(message);
    const StoreErrorKind kind = classify_sqlite_code(code);
    if (kind == StoreErrorKind::busy)
      detail += fmt::format(" (another process held its lock for longer than the {} ms this one waits)",
                            busy_timeout_.count());
    throw StoreError(kind, code & 0xff,
                     fmt::format("database '{}': '{}' failed: {}", path_, statement_summary(text), detail));
  }
}

Statement Connection::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int code = sqlite3_prepare_v3(db_, sql.data(), int(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (code != SQLITE_OK) throw_sqlite_error(db_, path_, code, fmt::format("preparing '{}'", sql));
  return Statement(db_, path_, stmt);
}

int64_t Connection::changes() const { return sqlite3_changes64(db_); }

int Connection::user_version() {
  auto stmt = prepare("PRAGMA user_version");
  return stmt.step() ? int(stmt.column_int64(0)) : 0;
}

void Connection::set_user_version(int version) { execute(fmt::format("PRAGMA user_version={}", version)); }

}  // namespace dcnjit::store
