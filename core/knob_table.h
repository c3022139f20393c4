// KnobTable: everything about the tunable knobs of one algorithm on one backend, in one place. Each
// algorithm (algorithms/<name>/) and the cpu backend declare a table; from it derive the parsing and
// canonical printing of configs, their validation (hand-written --config text, rows read back from the
// tuning database), the tuner's search space and distance, and the profiler's alternatives.
//
// A knob is an integer, or one of a list of words (stored as the word's index). Each declares the
// directions it changes, the values worth trying for a problem, the heuristic's default and a
// validity check; the table may add a check of whole configs (knobs that interact, resources).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/direction.h"
#include "dcnjit/config.h"
#include "dcnjit/problem.h"

namespace dcnjit {

// Which directions a knob changes: the tuner varies it only when timing those.
enum class Affects : unsigned { forward = 1, backward = 2, both = 3 };
bool affects(Affects affects, Direction direction);

struct KnobDef {
  std::string name;                // the key in the config text, e.g. "step"
  std::string meaning;             // one line, for --help output and docs
  Affects affects = Affects::both;
  std::vector<std::string> words;  // an enumerated knob's values (value = index); empty for an integer knob
  // The values the tuner tries and the profiler offers for the problem (need not contain the default).
  std::function<std::vector<int64_t>(const Problem&)> candidates;
  // The heuristic's value for the problem.
  std::function<int64_t(const Problem&)> default_value;
  // Why `value` cannot run the problem; empty when it can. Absent: every well-formed value can.
  std::function<std::string(const Problem&, int64_t value)> check;
  // Optional: the default when it depends on knobs listed before this one, given the config resolved so
  // far (their given values or defaults), so that a partial config ("bm=32") gets defaults that fit it.
  // It must agree with default_value when those knobs are at their defaults.
  std::function<int64_t(const Problem&, const Config& earlier)> default_after = nullptr;
};

class KnobTable;
// Why a whole (resolved) config cannot run the problem; empty when it can.
using ConfigCheck = std::function<std::string(const Problem&, const KnobTable&, const Config&)>;

// One config the profiler could run instead of the chosen one.
struct KnobChange {
  Config config;
  std::string label;    // "step=2": what differs from the chosen config
  std::string why_not;  // empty when the backend can run it; else the reason it is skipped
};

class KnobTable {
 public:
  // `check` rejects whole configs that cannot run; `prune` drops configs the tuner need not try because
  // they can run but cannot beat one it keeps (e.g. more items per thread than a chunk has work for).
  KnobTable(std::string algorithm, std::vector<KnobDef> knobs, ConfigCheck check = {}, ConfigCheck prune = {});

  const std::string& algorithm() const { return algorithm_; }
  const std::vector<KnobDef>& knobs() const { return knobs_; }
  const KnobDef* find(std::string_view name) const;

  // Every knob at its default for the problem, in table order: the heuristic's config.
  Config defaults(const Problem& problem) const;
  // `config` made runnable for `problem`: its algorithm must be this table's (or empty), every knob
  // named must exist and hold a well-formed, valid value; the knobs it leaves out take their defaults.
  // The result is canonical (table order). Throws Error(InvalidArgument) naming the knob, the value and
  // what is allowed, or the reason a whole config cannot run.
  Config resolve(const Problem& problem, const Config& config) const;
  // The value of knob `name` in a resolved config (a word knob: the word's index).
  int64_t value(const Config& resolved, std::string_view name) const;
  // `value` as config text for knob `knob`.
  static std::string text(const KnobDef& knob, int64_t value);

  // The tuner's space for one direction: the product of the candidates of every knob that affects it
  // (the others at their defaults), without what the checks reject or prune drops; the defaults first, then ordered by
  // distance() from them (ties in table order: a tight budget tries small changes first).
  std::vector<Config> enumerate(const Problem& problem, Direction direction) const;
  // The configs one knob away from `chosen` (a resolved config) over the candidates of the knobs that
  // affect `direction`, each with the reason it cannot run (if any): the profiler's alternatives.
  std::vector<KnobChange> neighbours(const Problem& problem, const Config& chosen, Direction direction) const;
  // How many knobs differ between two configs of this table.
  int distance(const Config& a, const Config& b) const;

  // Why `config` (resolved) cannot run the problem: the knob checks and the whole-config check.
  std::string why_not(const Problem& problem, const Config& config) const;

 private:
  int64_t parse_value(const KnobDef& knob, const std::string& text) const;
  // The knob's default given the config resolved so far (KnobDef::default_after).
  int64_t default_of(const KnobDef& knob, const Problem& problem, const Config& earlier) const;

  std::string algorithm_;
  std::vector<KnobDef> knobs_;
  ConfigCheck check_;
  ConfigCheck prune_;
};

}  // namespace dcnjit
