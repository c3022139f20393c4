#include "runtime/sim/sim_backend.h"

#include <fmt/format.h>

#include <initializer_list>
#include <vector>

#include "generator/version.h"
#include "runtime/binary_cache.h"
#include "runtime/kernel_backend.h"

namespace dcnjit::detail {
namespace {

class SimBackend final : public KernelBackend {
 public:
  SimBackend(const EngineOptions& options, std::unique_ptr<sim::SimKernelDevice> device)
      : KernelBackend(options, std::move(device)), device_(static_cast<sim::SimKernelDevice&>(kernel_device())) {}

  Backend kind() const override { return Backend::sim; }

  bool supports_counters() const override { return true; }
  void set_counting(bool enabled) override {
    std::lock_guard lock(pass_mutex());
    device_.set_counting(enabled);
  }

  // "sim:<compiler --version line>:threads=<n>:gen=<version>[:algorithm=<name>]": tuned sim configs are
  // only reused with the same compiler, worker count and generator (and the same algorithm restriction).
  std::string environment() const override {
    std::lock_guard lock(pass_mutex());
    return fmt::format("sim:{}:threads={}:gen={}{}", device_.library().compiler_identity(), device_.threads(),
                       gen::GENERATOR_VERSION, options_suffix());
  }

 protected:
  // The tensors and the caller's workspace are global memory for the counters (the device knows its
  // own allocations, not the caller's), for the duration of the pass.
  void pass_memory(std::initializer_list<const TensorRef*> tensors, const void* workspace,
                   std::size_t workspace_bytes) override {
    auto track = [this](const void* begin, std::size_t bytes) {
      if (!begin || !bytes) return;
      device_.track_global_memory(begin, bytes);
      tracked_.push_back(begin);
    };
    for (const TensorRef* tensor : tensors)
      if (tensor->present()) track(tensor->data, std::size_t(tensor->numel()) * dtype_size(tensor->dtype));
    track(workspace, workspace_bytes);
  }
  void end_pass() noexcept override {
    for (const void* pointer : tracked_) device_.untrack_global_memory(pointer);
    tracked_.clear();
  }

 private:
  sim::SimKernelDevice& device_;  // owned by KernelBackend
  std::vector<const void*> tracked_;
};

unsigned resolve_threads(int requested) {
  if (requested < 0)
    throw Error(ErrorCode::InvalidArgument, fmt::format("threads={} must be >= 0 (0 = all cores)", requested));
  return unsigned(requested);
}

}  // namespace

std::shared_ptr<BackendImpl> make_sim_backend(const EngineOptions& options, const sim::SimOptions& sim) {
  sim::SimOptions resolved = sim;
  resolved.threads = resolve_threads(options.threads);
  // Beside the tuning database, like the cuda backend's cubins.
  if (!resolved.binary_cache)
    resolved.binary_cache = std::make_shared<BinaryCache>(default_binary_cache_path(options.cache_path));
  return std::make_shared<SimBackend>(options, std::make_unique<sim::SimKernelDevice>(resolved));
}

std::shared_ptr<BackendImpl> make_sim_backend(const EngineOptions& options) {
  return make_sim_backend(options, sim::SimOptions{});
}

}  // namespace dcnjit::detail
