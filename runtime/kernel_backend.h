// KernelBackend: what the sim and cuda backends share. Both run the registered algorithms
// (algorithms/algorithm_list.h) on a KernelDevice: this class makes them for the device's traits,
// dispatches each pass on the config's algorithm, keeps the LaunchContext (loaded kernels, workspace)
// between calls and runs one pass at a time.
#pragma once

#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "algorithms/algorithm.h"
#include "algorithms/launch_context.h"
#include "runtime/backend.h"

namespace dcnjit::detail {

class KernelBackend : public BackendImpl {
 public:
  KernelBackend(const EngineOptions& options, std::unique_ptr<KernelDevice> device);
  ~KernelBackend() override;

  const std::vector<std::string>& algorithms() const override { return offered_; }
  const KnobTable& knobs(std::string_view algorithm) const override;
  std::string cannot_implement(std::string_view algorithm, const Problem& problem) const override;
  std::size_t workspace_size(const Problem& problem, const Config& config) const override;
  // The device's verdict on every kernel `config` launches in `direction` (KernelDevice::resource_problem).
  std::string resource_problem(const Problem& problem, const Config& config, Direction direction) override;

  void forward(const Problem& problem, const Config& config, const ForwardArgs& args) override;
  void backward(const Problem& problem, const Config& config, const BackwardArgs& args) override;

  // The registered algorithm `name` (Error(InvalidArgument) naming the known ones otherwise).
  const algo::Algorithm& algorithm(std::string_view name) const;
  KernelDevice& kernel_device() const { return *device_; }

 protected:
  // Around every pass, under the pass mutex: the cuda backend points its device at the caller's stream;
  // the sim backend hears of the pass's tensors and caller workspace first (its counters treat them as
  // global memory).
  virtual void pass_memory(std::initializer_list<const TensorRef*> tensors, const void* workspace,
                           std::size_t workspace_bytes) {}
  virtual void begin_pass(void* stream) {}
  virtual void end_pass() noexcept {}
  // Held by every pass; subclasses take it for anything else that touches the device.
  std::mutex& pass_mutex() const { return mutex_; }
  // What the engine's options add to the environment key: ":algorithm=<name>" when
  // EngineOptions::algorithm restricts the backend (winners tuned among one algorithm are not served to
  // an unrestricted engine), ":tf32" when TF32 GEMMs are allowed (other numerics, other winners),
  // ":deterministic" in deterministic mode (another config space).
  std::string options_suffix() const;

 private:
  mutable std::mutex mutex_;  // one pass at a time: the device and the context are not thread-safe
  std::string restriction_;
  algo::RunOptions run_options_;
  std::unique_ptr<KernelDevice> device_;
  std::vector<std::unique_ptr<algo::Algorithm>> registered_;
  std::vector<std::string> offered_;
  std::unique_ptr<algo::LaunchContext> context_;
};

}  // namespace dcnjit::detail
