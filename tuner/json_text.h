// Writing JSON text: string escaping and number formatting shared by `dcnjit tune --json` and the
// cache export format. (Reading JSON goes through SQLite's JSON functions, see cache_file.cpp.)
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dcnjit::tuner {

// A JSON string literal, quotes included, with control characters, quotes and backslashes escaped.
std::string json_string(std::string_view text);
// The shortest text that reads back as the same double; "null" for absent, NaN or infinite values.
std::string json_number(std::optional<double> value);
// A JSON array of string literals: ["a", "b"].
std::string json_string_array(const std::vector<std::string>& items);

}  // namespace dcnjit::tuner
