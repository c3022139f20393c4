// Sums the time, bytes and FLOPs of each phase of one CPU pass over all its chunks and tiles, then
// reports one PhaseStats per phase (in first-use order) to the sink. A pass with many chunks thus
// shows the same breakdown as a pass with one. Without a sink nothing is timed.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/phases.h"

namespace dcnjit::cpu {

class PhaseTotals {
 public:
  explicit PhaseTotals(detail::PhaseSink* sink) : sink_(sink) {}
  PhaseTotals(const PhaseTotals&) = delete;
  PhaseTotals& operator=(const PhaseTotals&) = delete;

  // Runs work() as part of phase `name`, adding its wall time and the given cost estimates.
  template <typename Work>
  void run(const char* name, double bytes, double flops, Work&& work) {
    if (!sink_) {
      work();
      return;
    }
    const auto start = std::chrono::steady_clock::now();
    work();
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    detail::PhaseStats& stats = entry(name);
    stats.ms += ms;
    stats.bytes += bytes;
    stats.flops += flops;
  }

  // Sends the totals to the sink (the CPU backend issues no atomics, so atomics stay 0).
  void report() const {
    if (!sink_) return;
    for (const detail::PhaseStats& stats : totals_) sink_->record(stats);
  }

 private:
  detail::PhaseStats& entry(const char* name) {
    for (detail::PhaseStats& stats : totals_)
      if (stats.name == name) return stats;
    detail::PhaseStats& stats = totals_.emplace_back();
    stats.name = name;
    return stats;
  }

  detail::PhaseSink* sink_;
  std::vector<detail::PhaseStats> totals_;
};

}  // namespace dcnjit::cpu
