// Engine and Plan: validate, choose a config (tuner/selector), dispatch to the backend.
#include "dcnjit/engine.h"

#include <fmt/format.h>

#include "runtime/api/validate_args.h"
#include "runtime/backend.h"
#include "tuner/selector.h"

namespace dcnjit {

const char* to_string(TuningPolicy policy) {
  switch (policy) {
    case TuningPolicy::off: return "off";
    case TuningPolicy::on_first_use: return "on_first_use";
    case TuningPolicy::cache_only: return "cache_only";
  }
  return "?";
}

Plan::Plan(Problem problem, Config config, std::shared_ptr<detail::BackendImpl> backend)
    : problem_(std::move(problem)), config_(std::move(config)), backend_(std::move(backend)) {}

Backend Plan::backend() const { return backend_->kind(); }

std::size_t Plan::workspace_size() const { return backend_->workspace_size(problem_, config_); }

void Plan::forward(const ForwardArgs& args) const {
  detail::validate_forward_args(problem_, backend_->kind(), args);
  backend_->forward(problem_, config_, args);
}

void Plan::backward(const BackwardArgs& args) const {
  detail::validate_backward_args(problem_, backend_->kind(), args);
  backend_->backward(problem_, config_, args);
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
  Config config = impl_->selector->select(*impl_->backend, problem);
  return Plan(problem, config, impl_->backend);
}

Plan Engine::plan(const Problem& problem, const Config& config) {
  problem.validate();
  Config resolved = config;
  if (resolved.im2col_step == 0) resolved.im2col_step = impl_->backend->default_config(problem).im2col_step;
  impl_->backend->validate_config(problem, resolved);
  return Plan(problem, resolved, impl_->backend);
}

}  // namespace dcnjit
