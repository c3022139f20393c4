#include "tools/profile/phase_collector.h"

#include <algorithm>

namespace dcnjit::profile {

void PhaseCollector::record(const detail::PhaseStats& stats) {
  auto same_name = [&](const detail::PhaseStats& p) { return p.name == stats.name; };
  auto it = std::find_if(phases_.begin(), phases_.end(), same_name);
  if (it == phases_.end()) {
    phases_.push_back(stats);
    return;
  }
  it->ms += stats.ms;
  it->bytes += stats.bytes;
  it->flops += stats.flops;
  it->atomics += stats.atomics;
  it->counters += stats.counters;
  it->counted_launches += stats.counted_launches;
  it->modeled_gemms += stats.modeled_gemms;
}

double PhaseCollector::total_ms() const {
  double sum = 0;
  for (const auto& p : phases_) sum += p.ms;
  return sum;
}

}  // namespace dcnjit::profile
