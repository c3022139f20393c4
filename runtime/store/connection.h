// Connection: one SQLite database handle, configured the way every dcnjit database wants it:
// WAL journaling (readers never block the writer), a busy timeout (concurrent processes wait for
// each other instead of failing), synchronous=NORMAL (in WAL mode a killed process loses nothing that
// was committed; only a power loss may drop the last transactions, which for a cache is acceptable).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/store/statement.h"

struct sqlite3;

namespace dcnjit::store {

enum class Access {
  read_write,  // create the file if missing
  read_only,   // never write; works on a read-only file or in a read-only directory
};

class Connection {
 public:
  // Opens `path` and checks that it is a readable SQLite file. Throws StoreError naming the file:
  // not_a_database for a non-SQLite or damaged file, cannot_open for a missing directory or
  // permissions, read_only when read_write was asked but the file cannot be written, untrusted when
  // the file or its directory can be written by another user (core/file_trust.h: what is read
  // from a database steers what dcnjit compiles and runs).
  static Connection open(const std::string& path, Access access,
                         std::chrono::milliseconds busy_timeout = std::chrono::seconds(10));

  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Runs one or more statements that return no rows (DDL, PRAGMAs with side effects).
  void execute(std::string_view sql);
  Statement prepare(std::string_view sql);

  // Rows changed by the last INSERT/UPDATE/DELETE on this connection (0 when an UPSERT's WHERE declined).
  int64_t changes() const;

  int user_version();
  void set_user_version(int version);  // inside the caller's transaction

  bool read_only() const { return access_ == Access::read_only; }
  const std::string& path() const { return path_; }
  sqlite3* handle() const { return db_; }

 private:
  Connection(sqlite3* db, std::string path, Access access) : db_(db), path_(std::move(path)), access_(access) {}

  sqlite3* db_ = nullptr;
  std::string path_;
  Access access_ = Access::read_write;
  std::chrono::milliseconds busy_timeout_{0};  // for messages: how long a write waited on a lock
};

}  // namespace dcnjit::store
