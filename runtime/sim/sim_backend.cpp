#include "runtime/sim/sim_backend.h"

#include <fmt/format.h>

#include <initializer_list>
#include <mutex>
#include <vector>

#include "generator/config_space.h"
#include "generator/version.h"
#include "runtime/binary_cache.h"
#include "runtime/pipeline/kernel_pipeline.h"

namespace dcnjit::detail {
namespace {

// The tensors of a pass are global memory for the counters (the device knows its own allocations,
// not the caller's), for the duration of the pass.
class PassTensors {
 public:
  PassTensors(sim::SimKernelDevice& device, std::initializer_list<const TensorRef*> tensors) : device_(device) {
    for (const TensorRef* tensor : tensors) {
      if (!tensor->present()) continue;
      device_.track_global_memory(tensor->data, std::size_t(tensor->numel()) * dtype_size(tensor->dtype));
      tracked_.push_back(tensor->data);
    }
  }
  ~PassTensors() {
    for (const void* pointer : tracked_) device_.untrack_global_memory(pointer);
  }
  PassTensors(const PassTensors&) = delete;
  PassTensors& operator=(const PassTensors&) = delete;

 private:
  sim::SimKernelDevice& device_;
  std::vector<const void*> tracked_;
};

class SimBackend final : public BackendImpl {
 public:
  explicit SimBackend(const sim::SimOptions& options) : device_(options), pipeline_(device_) {}

  Backend kind() const override { return Backend::sim; }

  Config default_config(const Problem& problem) const override { return gen::default_kernel_config(problem); }

  void validate_config(const Problem& problem, const Config& config) const override {
    gen::validate_kernel_config(problem, config);
    // One GEMM implementation (OpenBLAS); the cuBLASLt candidate index has no meaning here.
    if (config.gemm_algo != 0)
      throw Error(ErrorCode::InvalidArgument,
                  fmt::format("gemm_algo={} is not available on the sim backend (it has one GEMM, algo=0)",
                              config.gemm_algo));
  }

  std::size_t workspace_size(const Problem& problem, const Config& config) const override {
    return KernelPipeline::workspace_size(problem, config);
  }

  void forward(const Problem& problem, const Config& config, const ForwardArgs& args) override {
    std::lock_guard lock(mutex_);
    const PassTensors tracked(device_, {&args.x, &args.offset, &args.mask, &args.weight, &args.bias, &args.y});
    pipeline_.forward(problem, config, args, phase_sink());
  }

  void backward(const Problem& problem, const Config& config, const BackwardArgs& args) override {
    std::lock_guard lock(mutex_);
    const PassTensors tracked(device_, {&args.x, &args.offset, &args.mask, &args.weight, &args.grad_y, &args.grad_x,
                                        &args.grad_offset, &args.grad_mask, &args.grad_weight, &args.grad_bias});
    pipeline_.backward(problem, config, args, phase_sink());
  }

  bool supports_counters() const override { return true; }
  void set_counting(bool enabled) override {
    std::lock_guard lock(mutex_);
    device_.set_counting(enabled);
  }

  // "sim:<compiler --version line>:threads=<n>:gen=<version>": tuned sim configs are only reused
  // with the same compiler, worker count and generator.
  std::string environment() const override {
    std::lock_guard lock(mutex_);
    return fmt::format("sim:{}:threads={}:gen={}", device_.library().compiler_identity(), device_.threads(),
                       gen::GENERATOR_VERSION);
  }

 private:
  mutable std::mutex mutex_;  // one pass at a time: the device and pipeline are not thread-safe
  mutable sim::SimKernelDevice device_;
  KernelPipeline pipeline_;
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
  return std::make_shared<SimBackend>(resolved);
}

std::shared_ptr<BackendImpl> make_sim_backend(const EngineOptions& options) {
  return make_sim_backend(options, sim::SimOptions{});
}

}  // namespace dcnjit::detail
