// Config: how one pass of one problem runs on one backend: an algorithm plus the values of that
// algorithm's knobs. Each algorithm declares its knobs per backend in a knob table (core/knob_table.h,
// docs/architecture.md): their names, values, defaults and the passes they affect. Config itself is
// only the text form; the backend checks it against the table (Engine::plan, Error naming the knob).
//
// Canonical text (the tuning database stores it): the algorithm, then every knob of its table in table
// order, e.g.
//   "im2col step=8 threads=256 items=1 bwd=fused atomic=plain"   (sim)
//   "im2col step=1 tile=0"                                       (cpu)
// parse() accepts an optional algorithm word first and any subset of knobs in any order; the backend
// fills the knobs that are left out with their defaults for the problem, and chooses the algorithm when
// none is named.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dcnjit {

enum class Backend { cpu, cuda, sim };
const char* to_string(Backend backend);
Backend parse_backend(const std::string& text);  // "cpu" | "cuda" | "sim"

struct Knob {
  std::string name;   // "step"
  std::string value;  // "8", "fused": the text form; the knob table parses it
  bool operator==(const Knob&) const = default;
};

struct Config {
  std::string algorithm;    // "im2col", "fused"; empty: the backend's choice for the problem
  std::vector<Knob> knobs;  // named values; unnamed knobs take their defaults

  // The value of knob `name`, or null when the config does not name it.
  const std::string* find(std::string_view name) const;
  // Sets knob `name` (replacing its value when present, else appending it); returns *this.
  Config& set(std::string_view name, std::string value);

  std::string to_string() const;
  // Syntax only: "[algorithm] key=value ...". Throws Error(InvalidArgument) for a token that is not
  // key=value (after the first), an empty key or value, or a knob named twice.
  static Config parse(const std::string& text);

  bool operator==(const Config&) const = default;
};

}  // namespace dcnjit
