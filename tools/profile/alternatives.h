// The alternatives the profiler compares against the chosen config: every config one knob away from it
// that the knob table of its algorithm offers for the pass (core/knob_table.h: KnobTable::neighbours),
// then the defaults of every other algorithm the backend can run the problem with. Configs the backend
// cannot run carry the reason and are reported, not run.
#pragma once

#include <string>
#include <vector>

#include "dcnjit/config.h"
#include "dcnjit/problem.h"
#include "runtime/backend.h"
#include "tools/profile/workload.h"

namespace dcnjit::profile {

struct Alternative {
  std::string label;    // what differs from the chosen config, e.g. "step=2" or "bwd=split"
  Config config;
  std::string why_not;  // empty when the backend can run it
};

// Candidates in a stable order, without duplicates and without `chosen` (a resolved config) itself.
std::vector<Alternative> alternatives(const detail::BackendImpl& backend, const Problem& problem, const Config& chosen,
                                      Pass pass);

// The key=value tokens of `config` that differ from `reference` ("step=2 tile=256"), "" when equal; the
// algorithm word first when the algorithms differ.
std::string config_difference(const Config& reference, const Config& config);

}  // namespace dcnjit::profile
