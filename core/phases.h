// Phase reporting: backends announce the phases of a pass (im2col, GEMM, col2im, ...) with the
// bytes, FLOPs and atomics each one costs, so `dcnjit profile` can attribute time without guessing.
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <string>

namespace dcnjit::detail {

struct PhaseStats {
  std::string name;      // "im2col", "gemm_forward", "col2im", "coord_grad", "gemm_weight", ...
  double ms = 0;         // wall time of the phase (device-synchronized on cuda)
  double bytes = 0;      // DRAM bytes the phase must move at least (reads + writes)
  double flops = 0;      // floating point operations
  double atomics = 0;    // atomic updates issued
};

class PhaseSink {
 public:
  virtual ~PhaseSink() = default;
  virtual void record(const PhaseStats& stats) = 0;
};

// Times a scope on the host clock and records it, when a sink is present. `sync` runs before both
// clock reads (device synchronize on cuda) so the phase time is the device time. The closing sync runs
// in the destructor, which must not throw (a throwing destructor ends the process, and during unwinding
// hides the error in flight): its failure goes to `*error` (when no error is there yet) for the owner
// to rethrow after the scope, and the phase is not recorded.
class ScopedPhase {
 public:
  ScopedPhase(PhaseSink* sink, const char* name, double bytes, double flops, double atomics = 0,
              std::function<void()> sync = {}, std::exception_ptr* error = nullptr)
      : sink_(sink), sync_(std::move(sync)), error_(error) {
    if (!sink_) return;
    stats_.name = name;
    stats_.bytes = bytes;
    stats_.flops = flops;
    stats_.atomics = atomics;
    if (sync_) sync_();
    start_ = std::chrono::steady_clock::now();
  }
  ~ScopedPhase() noexcept {
    if (!sink_) return;
    try {
      if (sync_) sync_();
      stats_.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
      sink_->record(stats_);
    } catch (...) {
      if (error_ && !*error_) *error_ = std::current_exception();
    }
  }
  ScopedPhase(const ScopedPhase&) = delete;
  ScopedPhase& operator=(const ScopedPhase&) = delete;

 private:
  PhaseSink* sink_;
  std::function<void()> sync_;
  std::exception_ptr* error_;
  PhaseStats stats_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace dcnjit::detail
