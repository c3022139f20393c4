// A small, strict command-line reader: `--name value`, `--name=value` and boolean `--flag`.
// Every option must be consumed; leftovers are a UsageError naming them.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace dcnjit::cli {

class Args {
 public:
  explicit Args(std::vector<std::string> args) : args_(std::move(args)) {}

  // Removes and returns the value of `--name`; UsageError if the option is present without a value.
  std::optional<std::string> take(const std::string& name);
  std::string take_or(const std::string& name, const std::string& fallback);
  // Integers with range checks; the error names the option.
  std::optional<long long> take_int(const std::string& name, long long min_value, long long max_value);
  // Removes `--name` and reports whether it was present.
  bool take_flag(const std::string& name);
  // "S" or "S,T" -> {S, S} or {S, T} (per-axis stride, pad, dilation).
  std::optional<std::pair<int, int>> take_pair(const std::string& name, int min_value);
  // Call last: throws UsageError naming any argument nobody took.
  void finish() const;

 private:
  std::vector<std::string> args_;
};

}  // namespace dcnjit::cli
