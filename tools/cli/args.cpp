#include "tools/cli/args.h"

#include <fmt/format.h>

#include <charconv>

#include "tools/cli/command.h"

namespace dcnjit::cli {

std::optional<std::string> Args::take(const std::string& name) {
  const std::string flag = "--" + name;
  for (size_t i = 0; i < args_.size(); ++i) {
    if (args_[i] == flag) {
      if (i + 1 >= args_.size() || args_[i + 1].rfind("--", 0) == 0)
        throw UsageError(fmt::format("{} needs a value", flag));
      std::string value = args_[i + 1];
      args_.erase(args_.begin() + long(i), args_.begin() + long(i) + 2);
      return value;
    }
    if (args_[i].rfind(flag + "=", 0) == 0) {
      std::string value = args_[i].substr(flag.size() + 1);
      args_.erase(args_.begin() + long(i));
      return value;
    }
  }
  return std::nullopt;
}

std::string Args::take_or(const std::string& name, const std::string& fallback) {
  auto v = take(name);
  return v ? *v : fallback;
}

namespace {

long long to_int(const std::string& option, const std::string& text, long long lo, long long hi) {
  long long v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty())
    throw UsageError(fmt::format("--{}: '{}' is not an integer", option, text));
  if (v < lo || v > hi) throw UsageError(fmt::format("--{}: {} is outside [{}, {}]", option, v, lo, hi));
  return v;
}

}  // namespace

std::optional<long long> Args::take_int(const std::string& name, long long lo, long long hi) {
  auto v = take(name);
  if (!v) return std::nullopt;
  return to_int(name, *v, lo, hi);
}

bool Args::take_flag(const std::string& name) {
  const std::string flag = "--" + name;
  for (size_t i = 0; i < args_.size(); ++i) {
    if (args_[i] == flag) {
      args_.erase(args_.begin() + long(i));
      return true;
    }
  }
  return false;
}

std::optional<std::pair<int, int>> Args::take_pair(const std::string& name, int min_value) {
  auto v = take(name);
  if (!v) return std::nullopt;
  auto comma = v->find(',');
  if (comma == std::string::npos) {
    int a = int(to_int(name, *v, min_value, 1 << 20));
    return std::pair{a, a};
  }
  return std::pair{int(to_int(name, v->substr(0, comma), min_value, 1 << 20)),
                   int(to_int(name, v->substr(comma + 1), min_value, 1 << 20))};
}

void Args::finish() const {
  if (args_.empty()) return;
  std::string rest;
  for (const auto& a : args_) rest += (rest.empty() ? "" : " ") + a;
  throw UsageError(fmt::format("unexpected argument(s): {}", rest));
}

}  // namespace dcnjit::cli
