// Engine and Plan: validate, choose the config per direction (tuner/selector), dispatch to the backend.
// The engine layer is the only place that ties the tuner to the backends (docs/architecture.md).
#include "dcnjit/engine.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/validate_args.h"
#include "runtime/backend.h"
#include "tuner/selector.h"

namespace dcnjit {

Plan::Plan(Problem problem, Config config, std::shared_ptr<detail::BackendImpl> backend)
    : Plan(std::move(problem), config, config, std::move(backend)) {}

Plan::Plan(Problem problem, Config forward_config, Config backward_config,
           std::shared_ptr<detail::BackendImpl> backend)
    : problem_(std::move(problem)),
      config_(std::move(forward_config)),
      backward_config_(std::move(backward_config)),
      backend_(std::move(backend)) {}

Backend Plan::backend() const { return backend_->kind(); }

std::size_t Plan::workspace_size() const {
  // One caller workspace serves both directions, so it must fit the larger.
  return std::max(backend_->workspace_size(problem_, config_), backend_->workspace_size(problem_, backward_config_));
}

void Plan::forward(const ForwardArgs& args) const {
  detail::validate_forward_args(problem_, backend_->kind(), args);
  backend_->forward(problem_, config_, args);
}

void Plan::backward(const BackwardArgs& args) const {
  detail::validate_backward_args(problem_, backend_->kind(), args);
  backend_->backward(problem_, backward_config_, args);
}

struct Engine::Impl {
  EngineOptions options;
  std::shared_ptr<detail::BackendImpl> backend;
  std::unique_ptr<tuner::ConfigSelector> selector;
};

Engine::Engine(EngineOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->backend = detail::make_backend(impl_->options);
  impl_->selector = tuner::make_config_selector(impl_->options);
}

Engine::~Engine() = default;
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;

const EngineOptions& Engine::options() const { return impl_->options; }

DeviceBuffer Engine::allocate(std::size_t bytes) { return DeviceBuffer(impl_->backend, bytes); }

Plan Engine::plan(const Problem& problem) {
  problem.validate();
  const tuner::PlanConfigs configs = impl_->selector->select(*impl_->backend, problem);
  return Plan(problem, configs.forward, configs.backward, impl_->backend);
}

namespace {

// As BackendImpl::resolve, with the direction in the error so a caller giving two configs knows which is wrong.
Config resolve_direction_config(const detail::BackendImpl& backend, const Problem& problem, const Config& config,
                                const char* direction) {
  try {
    return backend.resolve(problem, config);
  } catch (const Error& e) {
    throw Error(e.code(), fmt::format("{} config: {}", direction, e.what()));
  }
}

}  // namespace

Plan Engine::plan(const Problem& problem, const Config& config) {
  problem.validate();
  return Plan(problem, impl_->backend->resolve(problem, config), impl_->backend);
}

Plan Engine::plan(const Problem& problem, const Config& forward_config, const Config& backward_config) {
  problem.validate();
  return Plan(problem, resolve_direction_config(*impl_->backend, problem, forward_config, "forward"),
              resolve_direction_config(*impl_->backend, problem, backward_config, "backward"), impl_->backend);
}

}  // namespace dcnjit
