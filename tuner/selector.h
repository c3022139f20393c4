// ConfigSelector: the one place that decides which Config a Plan runs, according to the
// Engine's tuning policy (off / on_first_use / cache_only) and the tuning database.
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

std::unique_ptr<ConfigSelector> make_config_selector(const EngineOptions& options);

}  // namespace dcnjit::tuner
