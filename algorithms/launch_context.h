// LaunchContext: what an algorithm's passes run with, kept by the backend between calls: the device,
// the kernels loaded on it (by name, compiled once), the workspace the algorithms allocate when the
// caller passes none, and where phases are reported.
//
// Not thread-safe: one pass at a time (the backend serializes calls on its device).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "algorithms/kernel_device.h"
#include "core/phases.h"
#include "generator/kernel_spec.h"

namespace dcnjit::algo {

// What the engine's options ask of the algorithms (EngineOptions): their knob tables (a deterministic
// engine offers only deterministic configs) and every pass.
struct RunOptions {
  bool allow_tf32 = false;     // f32 GEMMs may use TF32
  bool deterministic = false;  // no floating-point atomics whose order can vary
};

class LaunchContext {
 public:
  explicit LaunchContext(detail::KernelDevice& device, RunOptions options = {});
  ~LaunchContext();
  LaunchContext(const LaunchContext&) = delete;
  LaunchContext& operator=(const LaunchContext&) = delete;

  detail::KernelDevice& device() { return device_; }
  const RunOptions& options() const { return options_; }
  const detail::DeviceTraits& traits() const { return device_.traits(); }

  // Generates, compiles (or fetches from the binary cache) and loads the kernel of `spec` the first
  // time; later calls return the same kernel.
  detail::LoadedKernel* kernel(const gen::KernelSpec& spec);

  // Launches the kernel of `spec` with its one by-value parameter struct. The spec's dynamic shared
  // memory is part of every launch.
  template <class Params>
  void launch(const gen::KernelSpec& spec, detail::LaunchDims dims, const Params& params) {
    dims.dynamic_shared_bytes = unsigned(spec.dynamic_shared_bytes);
    device_.launch(kernel(spec), dims, &params, sizeof(params));
  }

  // A 1-d grid of `block_threads`-thread blocks, each covering block_threads * items of `work` items,
  // capped at the device's grid limit (the kernels grid-stride beyond it).
  detail::LaunchDims grid_stride(int64_t work, int block_threads, int items = 1) const;

  // The caller's workspace when it is at least `needed` bytes, else the context's own, allocated once
  // and kept (grown on demand) until the context is destroyed.
  void* workspace(void* caller, std::size_t caller_bytes, std::size_t needed);

  void set_phase_sink(detail::PhaseSink* sink) { sink_ = sink; }
  // A phase of the current pass, timed between two device synchronizations when a sink listens, with
  // the device's GPU counters of the phase when it counts (sim).
  detail::ScopedPhase phase(const char* name, double bytes, double flops, double atomics = 0);
  // Around each pass: a phase's closing synchronization cannot throw from its destructor, so its
  // error is kept and end_pass() rethrows it once the pass has returned normally.
  void begin_pass();
  void end_pass();

 private:
  detail::KernelDevice& device_;
  RunOptions options_;
  std::map<std::string, detail::LoadedKernel*> kernels_;  // by KernelSpec::name()
  std::exception_ptr phase_error_;
  void* own_workspace_ = nullptr;
  std::size_t own_workspace_bytes_ = 0;
  detail::PhaseSink* sink_ = nullptr;
};

}  // namespace dcnjit::algo
