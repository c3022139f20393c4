// PhaseCollector: the PhaseSink the profiler installs on a backend. A backend reports a phase once
// per chunk of images (or per image), so the collector sums reports of the same name and keeps the
// order in which each phase first appeared: the order of the pass itself.
#pragma once

#include <vector>

#include "core/phases.h"

namespace dcnjit::profile {

class PhaseCollector final : public detail::PhaseSink {
 public:
  void record(const detail::PhaseStats& stats) override;

  // One entry per phase name, in first-seen order, with ms/bytes/flops/atomics and the counters summed
  // over reports.
  const std::vector<detail::PhaseStats>& phases() const { return phases_; }
  double total_ms() const;
  void clear() { phases_.clear(); }

 private:
  std::vector<detail::PhaseStats> phases_;
};

}  // namespace dcnjit::profile
