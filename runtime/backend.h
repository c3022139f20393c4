// The internal interface every backend (cpu, sim, cuda) implements. Plan holds one and forwards
// validated arguments to it; the tuner and the profiler drive it directly.
//
// A backend offers one or more algorithms (the cpu backend: its own im2col; sim and cuda: the registered
// algorithms of algorithms/, through runtime/kernel_backend.h), each with a knob table. A Config names
// the algorithm and its knobs; resolve() turns what a caller wrote into the canonical config the backend
// runs.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/knob_table.h"
#include "core/phases.h"
#include "dcnjit/args.h"
#include "dcnjit/error.h"
#include "dcnjit/options.h"
#include "dcnjit/problem.h"
#include "dcnjit/tensor.h"

namespace dcnjit::detail {

class BackendImpl {
 public:
  virtual ~BackendImpl() = default;

  virtual Backend kind() const = 0;

  // The algorithms of this backend, in preference order (EngineOptions::algorithm restricts them to one).
  virtual const std::vector<std::string>& algorithms() const = 0;
  // The knob table of one of them; Error(InvalidArgument) naming the known algorithms otherwise.
  virtual const KnobTable& knobs(std::string_view algorithm) const = 0;
  // Empty when `algorithm` can run `problem` here, else the reason.
  virtual std::string cannot_implement(std::string_view algorithm, const Problem& problem) const = 0;

  // The algorithms that can run `problem`, in preference order. Error(Unsupported) with every algorithm's
  // reason when none can.
  std::vector<std::string> usable_algorithms(const Problem& problem) const;
  // The heuristic config: every knob of the first usable algorithm at its default. Canonical.
  Config default_config(const Problem& problem) const;
  // `config` made runnable for `problem`: an empty algorithm is default_config()'s, the algorithm must
  // be able to run the problem, and the knobs are resolved by its table (left-out knobs take their
  // defaults). Throws Error(InvalidArgument) naming the algorithm or knob, or Error(Unsupported).
  Config resolve(const Problem& problem, const Config& config) const;

  // Scratch bytes either pass needs under a resolved config.
  virtual std::size_t workspace_size(const Problem& problem, const Config& config) const = 0;

  // Why the kernels a resolved config launches in `direction` would run badly or not at all here (spills,
  // more registers or shared memory than an SM has); empty when they are fine or the backend cannot
  // tell (cpu; sim, which has no registers). The tuner asks before timing a config, so the space is
  // pruned by what the compiler made of it, not only by the knob tables' static checks. May compile.
  virtual std::string resource_problem(const Problem& problem, const Config& config, Direction direction) {
    return {};
  }

  // Arguments have already been checked against the problem (core/validate_args.h); the config is
  // resolved.
  virtual void forward(const Problem& problem, const Config& config, const ForwardArgs& args) = 0;
  virtual void backward(const Problem& problem, const Config& config, const BackwardArgs& args) = 0;

  // Blocks until all work issued so far is finished (no-op on cpu/sim).
  virtual void synchronize() {}

  // Memory that this backend's tensors live in. Host memory by default (cpu, sim); cuda overrides.
  virtual void* allocate(std::size_t bytes);  // zero-filled
  // Never throws (it runs in destructors); a device keeps a failure for its next call.
  virtual void release(void* pointer) noexcept;
  // Copies ordered on `stream` (cuda: a CUstream, null = the default stream) after the backend's
  // earlier work on any stream; they return when the copy is complete.
  virtual void copy_to_device(void* device, const void* host, std::size_t bytes, void* stream = nullptr);
  virtual void copy_to_host(void* host, const void* device, std::size_t bytes, void* stream = nullptr);
  virtual Device device() const { return Device::cpu; }

  // What a tuned result depends on besides the problem (the tuning database's environment key): e.g.
  // "cpu:<model>:threads=<n>" or "sm_90:<name>:<SMs>:<driver>:<nvrtc>:<cublasLt>:gen=<version>".
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

// The algorithm names a backend offers under `options`: `all` (preference order), or only
// options.algorithm when it names one of them (Error(InvalidArgument) naming the known ones otherwise).
std::vector<std::string> offered_algorithms(const std::vector<std::string>& all, const EngineOptions& options,
                                            Backend backend);

// Zero-filled, 64-byte aligned host memory, freed with std::free: the memory of the cpu backend
// (BackendImpl's default) and of the sim kernel device. `who` starts the out-of-memory error.
void* allocate_host_memory(std::size_t bytes, std::string_view who);

std::shared_ptr<BackendImpl> make_cpu_backend(const EngineOptions& options);
std::shared_ptr<BackendImpl> make_sim_backend(const EngineOptions& options);
std::shared_ptr<BackendImpl> make_cuda_backend(const EngineOptions& options);
std::shared_ptr<BackendImpl> make_backend(const EngineOptions& options);

}  // namespace dcnjit::detail
