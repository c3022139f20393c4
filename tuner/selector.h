// ConfigSelector: the one place that decides which Configs a Plan runs, according to the Engine's
// tuning policy (off / on_first_use / cache_only) and the tuning database.
//
// A Plan runs one config forward and one backward. The forward config is the forward winner. The
// backward config is composed from the backward sub-pass winners, because one backward call runs
// all of its kernels under a single Config:
//   - the backward_data winner, whole (im2col step, threads, elements per thread, fused/split,
//     atomic strategy, CPU tile). The sampling kernels of a backward call (col2im and coord_grad,
//     or the fused col2im_coord when grad_x and grad_offset/grad_mask are both asked for) share one
//     launch config, and grad_x's atomic scatter is the costly, config-sensitive part of them.
//     Caveat: backward_data times grad_x alone, which runs col2im only, so the fused/split value of
//     its winner is not decided by a measurement (fused and split time the same there).
//   - keep/recompute columns and the GEMM algorithm from the backward_weight winner: those knobs
//     act on the grad_weight side, which backward_data does not run (its space keeps them at the
//     default).
// The backward_offset_mask winner is not used (there is one launch config for the sampling kernels
// and backward_data's picks it) and on_first_use does not tune it. The composed config is checked
// with BackendImpl::validate_config; if the backend refuses it, the backward_data winner alone is
// used. Without a backward_data winner the default takes its place (never the forward winner: a
// forward launch config says nothing about an atomic scatter).
//
// Policies. off: the heuristic default for both directions, never opens the database. cache_only:
// the stored winners, the default for any pass without one; never tunes. on_first_use: as
// cache_only, but a pass without a row is tuned (forward, backward_data, backward_weight, each
// within EngineOptions::tune_budget_s), persisted, and then used; a row that is refused (tampered,
// outside the space) is never re-tuned: the default is used with a warning. Results are memoized
// per (environment, problem), so a second plan() of the same problem costs a map lookup.
#pragma once

#include <memory>

#include "dcnjit/engine.h"
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
