// Config's text form. Strict about syntax; what the knobs mean is the knob table's business
// (core/knob_table.h), so a tampered or foreign database row is rejected there with the knob at fault.
#include "dcnjit/config.h"

#include <fmt/format.h>

#include <sstream>

#include "dcnjit/error.h"

namespace dcnjit {

const char* to_string(Backend backend) {
  switch (backend) {
    case Backend::cpu: return "cpu";
    case Backend::cuda: return "cuda";
    case Backend::sim: return "sim";
  }
  return "?";
}

Backend parse_backend(const std::string& text) {
  if (text == "cpu") return Backend::cpu;
  if (text == "cuda") return Backend::cuda;
  if (text == "sim") return Backend::sim;
  throw Error(ErrorCode::InvalidArgument, fmt::format("backend: '{}' is not one of cpu, cuda, sim", text));
}

const std::string* Config::find(std::string_view name) const {
  for (const Knob& knob : knobs)
    if (knob.name == name) return &knob.value;
  return nullptr;
}

Config& Config::set(std::string_view name, std::string value) {
  for (Knob& knob : knobs) {
    if (knob.name == name) {
      knob.value = std::move(value);
      return *this;
    }
  }
  knobs.push_back(Knob{std::string(name), std::move(value)});
  return *this;
}

std::string Config::to_string() const {
  std::string text = algorithm;
  for (const Knob& knob : knobs) text += fmt::format("{}{}={}", text.empty() ? "" : " ", knob.name, knob.value);
  return text;
}

namespace {

bool is_word(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
  return true;
}

}  // namespace

Config Config::parse(const std::string& text) {
  Config config;
  std::istringstream in(text);
  std::string item;
  bool first = true;
  while (in >> item) {
    const auto eq = item.find('=');
    if (eq == std::string::npos) {
      if (!first)
        throw Error(ErrorCode::InvalidArgument,
                    fmt::format("config: '{}' is not key=value (only the first word may name the algorithm)", item));
      if (!is_word(item))
        throw Error(ErrorCode::InvalidArgument, fmt::format("config: '{}' is not an algorithm name", item));
      config.algorithm = item;
    } else {
      const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
      if (!is_word(key) || !is_word(value))
        throw Error(ErrorCode::InvalidArgument, fmt::format("config: '{}' is not key=value", item));
      if (config.find(key))
        throw Error(ErrorCode::InvalidArgument, fmt::format("config: knob '{}' is given twice", key));
      config.knobs.push_back(Knob{key, value});
    }
    first = false;
  }
  return config;
}

}  // namespace dcnjit
