// The alternatives the profiler compares against the chosen config: every config one change away
// from it that the backend's config space offers for the pass (cpu: im2col step, pixel tile, kept vs
// recomputed columns; sim/cuda: also split vs fused col2im + coordinate kernels, atomic strategy,
// block size, elements per thread). Configs the backend rejects are reported, not run.
#pragma once

#include <string>
#include <vector>

#include "dcnjit/config.h"
#include "dcnjit/problem.h"
#include "tools/profile/workload.h"

namespace dcnjit::profile {

struct Alternative {
  std::string label;  // what differs from the chosen config, e.g. "step=2" or "bwd=split"
  Config config;
};

// Candidates in a stable order, without duplicates and without `chosen` itself.
std::vector<Alternative> alternatives(Backend backend, const Problem& problem, const Config& chosen, Pass pass);

// The key=value tokens of `config` that differ from `reference` ("step=2 tile=256"), "" when equal.
std::string config_difference(const Config& reference, const Config& config);

}  // namespace dcnjit::profile
