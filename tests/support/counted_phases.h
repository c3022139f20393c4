// The phases a backend reports, each with the sim's GPU counters, while one call runs with counting on:
// what the sim tests hold against hand-computed access patterns (runtime/sim/README.md, "Counters").
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "core/phases.h"
#include "runtime/backend.h"

namespace dcnjit::test {

// Every phase recorded, in the order the backend reported them.
class PhaseList final : public detail::PhaseSink {
 public:
  void record(const detail::PhaseStats& stats) override { phases.push_back(stats); }
  // The first phase named `name`; none is a test failure (and the first phase is returned).
  const detail::PhaseStats& phase(const std::string& name) const {
    for (const auto& p : phases)
      if (p.name == name) return p;
    ADD_FAILURE() << "no phase " << name;
    return phases.front();
  }
  // Every phase named `name` (one per launch where a phase has several), in order.
  std::vector<detail::PhaseStats> all(const std::string& name) const {
    std::vector<detail::PhaseStats> named;
    for (const auto& p : phases)
      if (p.name == name) named.push_back(p);
    return named;
  }
  std::vector<detail::PhaseStats> phases;
};

// Runs `call()` on `backend` with counting on and its phases recorded; counting and the sink are off
// again afterwards, also when the call throws.
template <typename Call>
PhaseList counted_phases(detail::BackendImpl& backend, Call&& call) {
  struct Restore {
    detail::BackendImpl& backend;
    ~Restore() {
      backend.set_counting(false);
      backend.set_phase_sink(nullptr);
    }
  };
  PhaseList phases;
  backend.set_phase_sink(&phases);
  {
    const Restore restore{backend};
    backend.set_counting(true);
    std::forward<Call>(call)();
  }
  return phases;
}

}  // namespace dcnjit::test
