// A backend whose passes are scripted: each pass reports named phases that sleep for set times and
// carry set bytes/FLOPs/atomics, plus some time no phase claims. Lets the profiler's attribution be
// tested with known answers, independent of any real backend's speed.
#pragma once

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "runtime/backend.h"

namespace dcnjit::profile::testing {

struct ScriptedPhase {
  std::string name;
  double sleep_ms;
  double bytes, flops, atomics;
};

class ScriptedBackend final : public detail::BackendImpl {
 public:
  std::vector<ScriptedPhase> phases;   // each reported once per pass...
  int reports_per_phase = 1;           // ...or this many times (as a backend reporting per chunk does)
  double unattributed_ms = 0;          // slept outside every phase
  int passes_run = 0;
  int counted_passes = 0;              // passes run with counting on
  // While counting, each phase report adds one "launch" loading this many requests.
  uint64_t requests_per_phase = 10;

  Backend kind() const override { return Backend::cpu; }
  const std::vector<std::string>& algorithms() const override { return algorithms_; }
  const KnobTable& knobs(std::string_view) const override { return table_; }
  std::string cannot_implement(std::string_view, const Problem&) const override { return {}; }
  std::size_t workspace_size(const Problem&, const Config&) const override { return 0; }
  void forward(const Problem&, const Config&, const ForwardArgs&) override { run_script(); }
  void backward(const Problem&, const Config&, const BackwardArgs&) override { run_script(); }
  std::string environment() const override { return "scripted"; }
  bool supports_counters() const override { return true; }
  void set_counting(bool enabled) override { counting_ = enabled; }

 private:
  // Two knobs like the cpu backend's; tile=128 cannot run.
  const std::vector<std::string> algorithms_{"scripted"};
  const KnobTable table_{
      "scripted",
      {{"step", "images per chunk", Affects::both, {},
        [](const Problem& p) {
          std::vector<int64_t> v;
          for (int64_t s = 1; s < p.N; s *= 2) v.push_back(s);
          return v;
        },
        [](const Problem& p) { return p.N; }, {}},
       {"tile", "pixels per tile", Affects::both, {}, [](const Problem&) { return std::vector<int64_t>{0, 128, 512}; },
        [](const Problem&) -> int64_t { return 0; },
        [](const Problem&, int64_t v) -> std::string { return v == 128 ? "tile=128 is scripted to fail" : ""; }}}};

  static void sleep_ms(double ms) { std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(ms)); }
  void run_script() {
    ++passes_run;
    counted_passes += counting_;
    for (int r = 0; r < reports_per_phase; ++r)
      for (const auto& p : phases) {
        detail::ScopedPhase scope(phase_sink(), p.name.c_str(), p.bytes, p.flops, p.atomics, {},
                                  counting_ ? &totals_ : nullptr);
        sleep_ms(p.sleep_ms);
        if (counting_) {
          totals_.counters.global_load_requests += requests_per_phase;
          ++totals_.launches;
        }
      }
    sleep_ms(unattributed_ms);
  }
  bool counting_ = false;
  detail::CounterTotals totals_;
};

}  // namespace dcnjit::profile::testing
