// The candidate configs of one pass of one problem on one backend, derived from the knob tables of the
// backend's algorithms (core/knob_table.h): every algorithm that can run the problem contributes its
// table's space for the pass's direction. The backend's default config comes first; then the other
// algorithms' defaults, then the rest, nearest to each algorithm's defaults first and the algorithms
// interleaved, so a tight time budget compares the algorithms before it explores exotic knobs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dcnjit/config.h"
#include "dcnjit/problem.h"
#include "runtime/backend.h"
#include "tuner/pass.h"

namespace dcnjit::tuner {

// The direction a tuning pass times (its sub-passes are backward).
Direction direction_of(Pass pass);

std::vector<Config> candidate_configs(const detail::BackendImpl& backend, const Problem& problem, Pass pass);

// A config read back from the tuning database, made runnable: it must parse, name an algorithm of the
// backend that can run the problem, name every knob of that algorithm's table with a valid value, and
// be canonical (what resolve() makes of it is itself). Otherwise the reason it is refused.
struct StoredConfig {
  std::optional<Config> config;
  std::string why_not;  // when !config
};
StoredConfig read_stored_config(const detail::BackendImpl& backend, const Problem& problem, const std::string& text);

}  // namespace dcnjit::tuner
