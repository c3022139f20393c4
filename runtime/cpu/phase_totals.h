// Sums the time, bytes and FLOPs of each phase of one CPU pass over all its chunks and spans, then
// reports one PhaseStats per phase (in first-use order) to the sink. A pass with many chunks thus
// shows the same breakdown as a pass with one. Without a sink nothing is timed.
//
// A section whose work items each do several phases (the forward's sampling then GEMM of a tile) is
// run with run_shared: every item measures the CPU time its thread spends in each part, and the
// section's wall time is divided among the phases in proportion to those times, so the phases still
// add up to the pass's wall time. CPU time rather than wall time per part: a thread that other
// processes preempt in the middle of a part does not charge that part for the wait.
#pragma once

#include <atomic>
#include <time.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/phases.h"

namespace dcnjit::cpu {

struct PhaseCost {
  const char* name;
  double bytes = 0;
  double flops = 0;
};

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

  // What the items of a shared section time their parts with: part(i, f) runs f() as phase i of the
  // section's list. Thread-safe.
  class Parts {
   public:
    template <typename F>
    void part(std::size_t index, F&& f) {
      if (!timed_) {
        f();
        return;
      }
      const double start = thread_cpu_ms();
      f();
      thread_ms_[index].fetch_add(thread_cpu_ms() - start, std::memory_order_relaxed);
    }

   private:
    friend class PhaseTotals;
    static double thread_cpu_ms() {
      timespec t;
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
      return double(t.tv_sec) * 1e3 + double(t.tv_nsec) * 1e-6;
    }
    Parts(bool timed, std::size_t count) : timed_(timed), thread_ms_(count) {}
    bool timed_;
    std::vector<std::atomic<double>> thread_ms_;
  };

  // Runs work(parts) once; the phases listed (in this order the first time they appear) share its wall
  // time in proportion to the thread time their parts took (equally when none was measurable).
  template <typename Work>
  void run_shared(const std::vector<PhaseCost>& phases, Work&& work) {
    Parts parts(sink_ != nullptr, phases.size());
    if (!sink_) {
      work(parts);
      return;
    }
    const auto start = std::chrono::steady_clock::now();
    work(parts);
    const double wall = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    double busy = 0;
    for (const auto& ms : parts.thread_ms_) busy += ms.load();
    std::size_t i = 0;
    for (const PhaseCost& phase : phases) {
      detail::PhaseStats& stats = entry(phase.name);
      const double share = busy > 0 ? parts.thread_ms_[i].load() / busy : 1.0 / double(phases.size());
      stats.ms += wall * share;
      stats.bytes += phase.bytes;
      stats.flops += phase.flops;
      ++i;
    }
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
