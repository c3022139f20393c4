// Writing JSON text: the one place that escapes strings and formats numbers for every machine-readable
// output (`dcnjit tune --json`, the tuning-cache export, `dcnjit bench/profile --json`). Reading JSON goes
// through SQLite's JSON functions instead (tuner/cache_file.cpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dcnjit {

// A JSON string literal, quotes included, escaped per RFC 8259: quotes, backslashes and control
// characters; UTF-8 passes through unchanged.
std::string json_string(std::string_view text);
// The shortest text that reads back as the same double; "null" for absent, NaN or infinite values
// (JSON has no NaN). Used where a value must round-trip exactly, e.g. a cache export re-imported.
std::string json_number(std::optional<double> value);
// A JSON array of string literals: ["a", "b"].
std::string json_string_array(const std::vector<std::string>& items);

// A minimal streaming writer: objects, arrays, strings, numbers and booleans, with ", " between elements
// and ": " after keys, all on one line.
class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view name);  // inside an object, before its value
  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(const std::string& text) { return value(std::string_view(text)); }
  // 9 significant digits (not json_number's round-trip form): the writer's numbers are measurements
  // derived from float timings, where more digits are noise; non-finite values become null.
  JsonWriter& value(double number);
  JsonWriter& value(int number) { return value(double(number)); }
  JsonWriter& value(long long number);  // exact: counts and byte sizes
  JsonWriter& value(bool flag);
  JsonWriter& null();

  const std::string& str() const { return out_; }

 private:
  void before_value();
  std::string out_;
  std::vector<bool> first_in_scope_;  // per open object/array: no element written yet
  bool after_key_ = false;
};

}  // namespace dcnjit
