// The internal interface every backend (cpu, sim, cuda) implements. Plan holds one and forwards
// validated arguments to it; the tuner and the profiler drive it directly.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "dcnjit/engine.h"
#include "runtime/phases.h"

namespace dcnjit::detail {

class BackendImpl {
 public:
  virtual ~BackendImpl() = default;

  virtual Backend kind() const = 0;

  // The heuristic config used when tuning is off or nothing is cached. Fully resolved
  // (im2col_step > 0), so it can be printed and stored.
  virtual Config default_config(const Problem& problem) const = 0;

  // Throws Error(InvalidArgument) naming the field when `config` is outside this backend's space
  // for `problem` (e.g. a tampered database row). Must not compile anything.
  virtual void validate_config(const Problem& problem, const Config& config) const = 0;

  virtual std::size_t workspace_size(const Problem& problem, const Config& config) const = 0;

  // Arguments have already been checked against the problem (validate_args.h).
  virtual void forward(const Problem& problem, const Config& config, const ForwardArgs& args) = 0;
  virtual void backward(const Problem& problem, const Config& config, const BackwardArgs& args) = 0;

  // Blocks until all work issued so far is finished (no-op on cpu/sim).
  virtual void synchronize() {}

  // Memory that this backend's tensors live in. Host memory by default (cpu, sim); cuda overrides.
  virtual void* allocate(std::size_t bytes);  // zero-filled
  virtual void release(void* pointer);
  virtual void copy_to_device(void* device, const void* host, std::size_t bytes);
  virtual void copy_to_host(void* host, const void* device, std::size_t bytes);
  virtual Device device() const { return Device::cpu; }

  // What a tuned result depends on besides the problem (design.md section 3 "env key"): e.g.
  // "cpu:<model>:<threads>" or "sm_90:<name>:<SMs>:<driver>:<nvrtc>:<cublasLt>". Includes the generator version.
  virtual std::string environment() const = 0;

  // GPU memory counters per phase (PhaseStats::counters; runtime/sim/README.md "Counters"): only
  // the sim backend counts. set_counting(true) on a backend that cannot throws Error(Unsupported).
  // Counting changes no result; it slows the sim down (every access is logged).
  virtual bool supports_counters() const { return false; }
  virtual void set_counting(bool enabled);

  // When set, the backend reports each phase of a pass (profile command, tests of the breakdown).
  void set_phase_sink(PhaseSink* sink) { phase_sink_ = sink; }
  PhaseSink* phase_sink() const { return phase_sink_; }

 private:
  PhaseSink* phase_sink_ = nullptr;
};

// Zero-filled, 64-byte aligned host memory, freed with std::free: the memory of the cpu backend
// (BackendImpl's default) and of the sim kernel device. `who` starts the out-of-memory error.
void* allocate_host_memory(std::size_t bytes, std::string_view who);

std::shared_ptr<BackendImpl> make_cpu_backend(const EngineOptions& options);
std::shared_ptr<BackendImpl> make_sim_backend(const EngineOptions& options);
std::shared_ptr<BackendImpl> make_cuda_backend(const EngineOptions& options);
std::shared_ptr<BackendImpl> make_backend(const EngineOptions& options);

}  // namespace dcnjit::detail
