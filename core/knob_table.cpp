#include "core/knob_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <set>

#include "dcnjit/error.h"

namespace dcnjit {

const char* to_string(Direction direction) { return direction == Direction::forward ? "forward" : "backward"; }

Direction parse_direction(const std::string& text) {
  if (text == "forward") return Direction::forward;
  if (text == "backward") return Direction::backward;
  throw Error(ErrorCode::InvalidArgument, fmt::format("pass: '{}' is not one of forward, backward", text));
}

bool affects(Affects affects, Direction direction) {
  const unsigned bit = direction == Direction::forward ? 1u : 2u;
  return (unsigned(affects) & bit) != 0;
}

namespace {

[[noreturn]] void invalid(const std::string& message) { throw Error(ErrorCode::InvalidArgument, message); }

std::string allowed_values(const KnobDef& knob, const Problem& problem) {
  if (!knob.words.empty()) return fmt::format("one of {}", fmt::join(knob.words, ", "));
  std::vector<int64_t> values = knob.candidates ? knob.candidates(problem) : std::vector<int64_t>{};
  if (values.empty()) return "an integer";
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  return fmt::format("e.g. {}", fmt::join(values, ", "));
}

}  // namespace

KnobTable::KnobTable(std::string algorithm, std::vector<KnobDef> knobs, ConfigCheck check, ConfigCheck prune)
    : algorithm_(std::move(algorithm)), knobs_(std::move(knobs)), check_(std::move(check)), prune_(std::move(prune)) {
  std::set<std::string> names;
  for (const KnobDef& knob : knobs_) {
    if (!names.insert(knob.name).second || !knob.default_value)
      throw Error(ErrorCode::Internal, fmt::format("knob table {}: knob '{}' is repeated or has no default",
                                                   algorithm_, knob.name));
  }
}

const KnobDef* KnobTable::find(std::string_view name) const {
  for (const KnobDef& knob : knobs_)
    if (knob.name == name) return &knob;
  return nullptr;
}

std::string KnobTable::text(const KnobDef& knob, int64_t value) {
  if (!knob.words.empty()) {
    if (value < 0 || value >= int64_t(knob.words.size()))
      throw Error(ErrorCode::Internal, fmt::format("knob {}: no word for value {}", knob.name, value));
    return knob.words[std::size_t(value)];
  }
  return std::to_string(value);
}

int64_t KnobTable::parse_value(const KnobDef& knob, const std::string& text) const {
  if (!knob.words.empty()) {
    const auto it = std::find(knob.words.begin(), knob.words.end(), text);
    if (it == knob.words.end())
      invalid(fmt::format("config: {}={} is invalid for algorithm {} (expected one of {})", knob.name, text,
                          algorithm_, fmt::join(knob.words, ", ")));
    return int64_t(it - knob.words.begin());
  }
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty())
    invalid(fmt::format("config: {}={} is invalid for algorithm {} (expected an integer)", knob.name, text,
                        algorithm_));
  return value;
}

Config KnobTable::defaults(const Problem& problem) const {
  Config config;
  config.algorithm = algorithm_;
  for (const KnobDef& knob : knobs_)
    config.knobs.push_back(Knob{knob.name, text(knob, default_of(knob, problem, config))});
  return config;
}

int64_t KnobTable::default_of(const KnobDef& knob, const Problem& problem, const Config& earlier) const {
  return knob.default_after ? knob.default_after(problem, earlier) : knob.default_value(problem);
}

int64_t KnobTable::value(const Config& resolved, std::string_view name) const {
  const KnobDef* knob = find(name);
  const std::string* text = resolved.find(name);
  if (!knob || !text)
    throw Error(ErrorCode::Internal, fmt::format("knob table {}: config '{}' has no knob '{}'", algorithm_,
                                                 resolved.to_string(), name));
  return parse_value(*knob, *text);
}

std::string KnobTable::why_not(const Problem& problem, const Config& config) const {
  for (const KnobDef& knob : knobs_) {
    if (!knob.check) continue;
    const int64_t v = value(config, knob.name);
    if (std::string why = knob.check(problem, v); !why.empty()) return fmt::format("{}={}: {}", knob.name, text(knob, v), why);
  }
  return check_ ? check_(problem, *this, config) : std::string();
}

Config KnobTable::resolve(const Problem& problem, const Config& given) const {
  if (!given.algorithm.empty() && given.algorithm != algorithm_)
    invalid(fmt::format("config: algorithm '{}' does not match this knob table ({})", given.algorithm, algorithm_));
  for (const Knob& knob : given.knobs) {
    if (!find(knob.name)) {
      std::vector<std::string> known;
      for (const KnobDef& k : knobs_) known.push_back(k.name);
      invalid(fmt::format("config: unknown knob '{}' for algorithm {} (its knobs: {})", knob.name, algorithm_,
                          fmt::join(known, ", ")));
    }
  }
  Config resolved;
  resolved.algorithm = algorithm_;
  for (const KnobDef& knob : knobs_) {
    const std::string* text_value = given.find(knob.name);
    const int64_t v = text_value ? parse_value(knob, *text_value) : default_of(knob, problem, resolved);
    if (knob.check) {
      if (std::string why = knob.check(problem, v); !why.empty())
        invalid(fmt::format("config: {}={} is invalid for algorithm {} ({}; allowed: {})", knob.name, text(knob, v),
                            algorithm_, why, allowed_values(knob, problem)));
    }
    resolved.knobs.push_back(Knob{knob.name, text(knob, v)});
  }
  if (check_) {
    if (std::string why = check_(problem, *this, resolved); !why.empty())
      invalid(fmt::format("config: '{}' cannot run '{}': {}", resolved.to_string(), problem.to_string(), why));
  }
  return resolved;
}

int KnobTable::distance(const Config& a, const Config& b) const {
  int differing = a.algorithm != b.algorithm ? 1 : 0;
  for (const KnobDef& knob : knobs_) {
    const std::string* x = a.find(knob.name);
    const std::string* y = b.find(knob.name);
    if (!x || !y || *x != *y) ++differing;
  }
  return differing;
}

namespace {

// The candidates of one knob (a word knob without a candidates function: every word), the default
// first, with duplicates removed.
std::vector<int64_t> unique_candidates(const KnobDef& knob, const Problem& problem, int64_t default_value) {
  std::vector<int64_t> values = knob.candidates ? knob.candidates(problem) : std::vector<int64_t>{};
  if (!knob.candidates)
    for (int64_t w = 0; w < int64_t(knob.words.size()); ++w) values.push_back(w);
  values.insert(values.begin(), default_value);
  std::vector<int64_t> unique;
  for (int64_t v : values)
    if (std::find(unique.begin(), unique.end(), v) == unique.end()) unique.push_back(v);
  return unique;
}

}  // namespace

std::vector<Config> KnobTable::enumerate(const Problem& problem, Direction direction) const {
  const Config base = defaults(problem);
  // The value lists per knob (a knob that does not affect the direction keeps its default only).
  std::vector<std::vector<int64_t>> axes;
  for (const KnobDef& knob : knobs_) {
    const int64_t d = knob.default_value(problem);
    axes.push_back(affects(knob.affects, direction) ? unique_candidates(knob, problem, d) : std::vector<int64_t>{d});
  }
  std::vector<Config> product;
  std::vector<std::size_t> index(axes.size(), 0);
  for (;;) {
    Config config;
    config.algorithm = algorithm_;
    for (std::size_t k = 0; k < knobs_.size(); ++k)
      config.knobs.push_back(Knob{knobs_[k].name, text(knobs_[k], axes[k][index[k]])});
    if (why_not(problem, config).empty() && !(prune_ && !prune_(problem, *this, config).empty()))
      product.push_back(std::move(config));
    std::size_t k = axes.size();
    while (k > 0 && ++index[k - 1] == axes[k - 1].size()) index[--k] = 0;
    if (k == 0) break;
  }
  std::stable_sort(product.begin(), product.end(),
                   [&](const Config& a, const Config& b) { return distance(a, base) < distance(b, base); });
  // The defaults lead even when a check rejects them (then the tuner times them, they fail, and that is
  // recorded): the heuristic's config is the reference every speedup is reported against.
  if (product.empty() || !(product.front() == base)) {
    std::erase(product, base);
    product.insert(product.begin(), base);
  }
  return product;
}

std::vector<KnobChange> KnobTable::neighbours(const Problem& problem, const Config& chosen,
                                              Direction direction) const {
  std::vector<KnobChange> changes;
  for (const KnobDef& knob : knobs_) {
    if (!affects(knob.affects, direction)) continue;
    const int64_t current = value(chosen, knob.name);
    for (int64_t v : unique_candidates(knob, problem, knob.default_value(problem))) {
      if (v == current) continue;
      KnobChange change;
      change.config = chosen;
      change.config.set(knob.name, text(knob, v));
      change.label = fmt::format("{}={}", knob.name, text(knob, v));
      change.why_not = why_not(problem, change.config);
      changes.push_back(std::move(change));
    }
  }
  return changes;
}

}  // namespace dcnjit
