// ConfigSelector: the one place that decides which Config a Plan runs, according to the
// Engine's tuning policy (off / on_first_use / cache_only) and the tuning database.
//
// A Plan holds one Config for all passes. The selector composes it from the database: the forward
// winner decides the shared knobs (im2col step, threads, elements per thread, GEMM algorithm, CPU
// tile); when `dcnjit tune --pass backward` has run, the backward_data winner adds fused/split and
// the atomic strategy, and the backward_weight winner adds keep/recompute columns. on_first_use
// tunes the forward pass only (a Plan may never run backward; tune backward with `dcnjit tune`).
#pragma once

#include <memory>

#include "dcnjit/engine.h"
#include "runtime/backend.h"

namespace dcnjit::tuner {

class ConfigSelector {
 public:
  virtual ~ConfigSelector() = default;
  virtual Config select(detail::BackendImpl& backend, const Problem& problem) = 0;
};

// Opens the database now (policies other than off), so a foreign or newer-schema cache file is
// reported by the Engine's constructor as Error(CacheError) naming the file. A missing or unwritable
// cache only degrades (warning; lookups from what is readable, results kept in memory).
std::unique_ptr<ConfigSelector> make_config_selector(const EngineOptions& options);

}  // namespace dcnjit::tuner
