#include "tools/profile/session.h"

#include <algorithm>
#include <chrono>

#include "tuner/selector.h"

namespace dcnjit::profile {

Session::Session(const EngineOptions& options) : Session(options, detail::make_backend(options)) {}

Session::Session(const EngineOptions& options, std::shared_ptr<detail::BackendImpl> backend)
    : options_(options), backend_(std::move(backend)), selector_(tuner::make_config_selector(options)) {}

Session::~Session() = default;

Config Session::chosen_config(const Problem& problem, Pass pass) {
  problem.validate();
  const tuner::PlanConfigs configs = selector_->select(*backend_, problem);
  return pass == Pass::forward ? configs.forward : configs.backward;
}

Config Session::resolve(const Problem& problem, const Config& config) {
  problem.validate();
  return backend_->resolve(problem, config);
}

Workload Session::workload(const io::ProblemArrays& arrays) {
  auto backend = backend_;
  return Workload(arrays, /*backward=*/true, [backend](std::size_t bytes) { return DeviceBuffer(backend, bytes); });
}

double Session::run_once(const Problem& problem, const Config& config, const Workload& workload, Pass pass) {
  // Through Plan so the arguments are validated exactly as a user's call would be.
  const Plan plan(problem, config, backend_);
  backend_->synchronize();
  const auto start = std::chrono::steady_clock::now();
  if (pass == Pass::forward) {
    plan.forward(workload.forward_args());
  } else {
    plan.backward(workload.backward_args());
  }
  backend_->synchronize();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

std::vector<double> Session::time(const Problem& problem, const Config& config, const Workload& workload, Pass pass,
                                  const TimingOptions& timing) {
  for (int i = 0; i < timing.warmup; ++i) run_once(problem, config, workload, pass);
  std::vector<double> samples;
  for (int i = 0; i < timing.repeats; ++i) samples.push_back(run_once(problem, config, workload, pass));
  return samples;
}

double median(std::vector<double> samples) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const std::size_t mid = samples.size() / 2;
  return samples.size() % 2 ? samples[mid] : 0.5 * (samples[mid - 1] + samples[mid]);
}

}  // namespace dcnjit::profile
