// Placeholder selector until the tuning database lands: always the backend's heuristic default.
#include "tuner/selector.h"

namespace dcnjit::tuner {
namespace {

class HeuristicSelector final : public ConfigSelector {
 public:
  Config select(detail::BackendImpl& backend, const Problem& problem) override {
    return backend.default_config(problem);
  }
};

}  // namespace

std::unique_ptr<ConfigSelector> make_config_selector(const EngineOptions&) {
  return std::make_unique<HeuristicSelector>();
}

}  // namespace dcnjit::tuner
