// ConfigSelector: the one place that decides which Configs a Plan runs, according to the Engine's
// tuning policy (off / on_first_use / cache_only) and the tuning database.
//
// A Plan runs one config forward and one backward: the winners of the `forward` and `backward`
// passes (tuner/pass.h). The backward pass times the complete backward call, every gradient the
// problem has (x, offset, mask when present, weight, bias when present), because that is what a
// user's backward call computes and because the knobs interact: the fused col2im+coord kernel only
// runs when grad_x and grad_offset/grad_mask are requested together, the sampling kernels and both
// GEMMs share one config, and a split that wins for grad_x alone can lose to the fused kernel (or
// the reverse) once every gradient is computed. So the backward config is measured whole, never
// assembled from separately timed parts.
//
// Policies. off: the heuristic default for both directions, never opens the database. cache_only:
// the stored winners, the default for any pass without one; never tunes. on_first_use: as
// cache_only, but a plan pass (forward, backward) without a row is tuned (each within
// EngineOptions::tune_budget_s), persisted, and then used; the sub-passes are never tuned here. A
// row that is refused (tampered, outside the space) is never re-tuned: the default is used with a
// warning. Results are memoized per (environment, problem), so a second plan() of the same problem
// costs a map lookup.
#pragma once

#include <memory>

#include "dcnjit/options.h"
#include "runtime/backend.h"

namespace dcnjit::tuner {

struct PlanConfigs {
  Config forward;   // Plan::config()
  Config backward;  // Plan::backward_config()

  bool operator==(const PlanConfigs&) const = default;
};

class ConfigSelector {
 public:
  virtual ~ConfigSelector() = default;
  virtual PlanConfigs select(detail::BackendImpl& backend, const Problem& problem) = 0;
};

// Opens the database now (policies other than off), so a foreign or newer-schema cache file is
// reported by the Engine's constructor as Error(CacheError) naming the file. A missing or unwritable
// cache only degrades (warning; lookups from what is readable, results kept in memory).
std::unique_ptr<ConfigSelector> make_config_selector(const EngineOptions& options);

}  // namespace dcnjit::tuner
