// Statement: a prepared SQLite statement with typed binds and typed column reads. Prepare once,
// then bind / step / reset per use; the tuner's lookups reuse one statement for every problem.
// A statement must be destroyed before its Connection (moving the Connection is fine).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace dcnjit::store {

class Connection;

class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Parameters are 1-based, as in SQL ("?1", or the order of plain "?").
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, int value) { return bind(index, int64_t(value)); }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view value);  // copied by SQLite
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  Statement& bind_null(int index);
  // Binds the arguments to ?1, ?2, ... in order.
  template <typename... Values>
  Statement& bind_all(const Values&... values) {
    int index = 0;
    (bind(++index, values), ...);
    return *this;
  }

  // Advances; true when a row is available. Throws StoreError (naming the file and the SQL) on error.
  bool step();
  // Steps a statement that must not return rows (INSERT/UPDATE/DELETE) and resets it.
  void run();
  // Makes the statement reusable and clears the bindings.
  void reset();

  // Columns are 0-based.
  bool is_null(int column) const;
  int64_t column_int64(int column) const;
  double column_double(int column) const;
  std::string column_text(int column) const;  // "" for NULL
  std::optional<double> column_optional_double(int column) const;

 private:
  friend class Connection;
  Statement(sqlite3* db, std::string path, sqlite3_stmt* statement)
      : db_(db), path_(std::move(path)), stmt_(statement) {}
  void check_bind(int code, int index);

  sqlite3* db_ = nullptr;
  std::string path_;  // for error messages
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace dcnjit::store
