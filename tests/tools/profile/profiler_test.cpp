// The profiler's attribution on a scripted backend: phases summed per name in pass order, the
// unattributed remainder reported as "other" so the phases add up to the total, the median run kept,
// rejected alternatives reported rather than run.
#include "tools/profile/profiler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "tests/tools/profile/scripted_backend.h"
#include "tools/profile/phase_collector.h"

namespace dcnjit::profile {
namespace {

using testing::ScriptedBackend;

Problem tiny_problem() { return Problem::parse("N2 C4 H6 W6 Co4 k3x3 p1x1 mask"); }

struct Fixture {
  std::shared_ptr<ScriptedBackend> backend = std::make_shared<ScriptedBackend>();
  EngineOptions options;  // tuning off: the scripted backend's default config is chosen
  Session session{options, backend};
  io::ProblemArrays arrays = random_inputs(tiny_problem());
  Workload workload = session.workload(arrays);
};

double sum_ms(const ConfigProfile& p) {
  double s = 0;
  for (const auto& phase : p.phases) s += phase.ms;
  return s;
}

detail::PhaseStats phase_stats(const char* name, double ms, double bytes, double flops, double atomics) {
  detail::PhaseStats stats;
  stats.name = name;
  stats.ms = ms;
  stats.bytes = bytes;
  stats.flops = flops;
  stats.atomics = atomics;
  return stats;
}

TEST(PhaseCollector, SumsReportsOfOnePhaseAndKeepsFirstSeenOrder) {
  PhaseCollector c;
  c.record(phase_stats("im2col", 1.0, 10, 100, 0));
  c.record(phase_stats("gemm", 2.0, 20, 200, 0));
  c.record(phase_stats("im2col", 0.5, 5, 50, 3));
  ASSERT_EQ(c.phases().size(), 2u);
  EXPECT_EQ(c.phases()[0].name, "im2col");
  EXPECT_DOUBLE_EQ(c.phases()[0].ms, 1.5);
  EXPECT_DOUBLE_EQ(c.phases()[0].bytes, 15);
  EXPECT_DOUBLE_EQ(c.phases()[0].flops, 150);
  EXPECT_DOUBLE_EQ(c.phases()[0].atomics, 3);
  EXPECT_EQ(c.phases()[1].name, "gemm");
  EXPECT_DOUBLE_EQ(c.total_ms(), 3.5);
}

TEST(ProfileConfig, ScriptedBackwardPhasesPlusOtherEqualTotal) {
  Fixture f;
  f.backend->phases = {{"col2im", 3.0, 1e6, 2e6, 5e4}, {"gemm_weight", 2.0, 4e6, 8e9, 0}};
  f.backend->reports_per_phase = 2;  // reported per chunk: the profiler must merge them
  f.backend->unattributed_ms = 2.0;
  TimingOptions timing{1, 3};
  const ConfigProfile p = profile_config(f.session, tiny_problem(), f.backend->default_config(tiny_problem()),
                                         f.workload, Pass::backward, timing);

  ASSERT_EQ(p.phases.size(), 3u);
  EXPECT_EQ(p.phases[0].name, "col2im");
  EXPECT_EQ(p.phases[1].name, "gemm_weight");
  EXPECT_EQ(p.phases[2].name, kOtherPhase);
  // Two reports per pass, summed: bytes/FLOPs/atomics are exact, times at least the slept time.
  EXPECT_DOUBLE_EQ(p.phases[0].bytes, 2e6);
  EXPECT_DOUBLE_EQ(p.phases[0].atomics, 1e5);
  EXPECT_DOUBLE_EQ(p.phases[1].flops, 16e9);
  EXPECT_GE(p.phases[0].ms, 6.0);
  EXPECT_GE(p.phases[1].ms, 4.0);
  // "other" holds the unattributed sleep (>= 2 ms; sleeps only overshoot).
  EXPECT_GE(p.phases[2].ms, 2.0);
  // By construction the phases and "other" re-add to the total; only rounding may differ.
  EXPECT_NEAR(sum_ms(p), p.total_ms, 1e-9 * p.total_ms);
  EXPECT_EQ(p.samples_ms.size(), 3u);
  EXPECT_EQ(f.backend->passes_run, 4);  // 1 warm-up + 3 timed
  EXPECT_EQ(f.backend->phase_sink(), nullptr) << "the collector must be detached after profiling";
}

TEST(ProfileConfig, KeepsTheRunWithTheMedianTotal) {
  Fixture f;
  f.backend->phases = {{"sample", 1.0, 0, 0, 0}};
  const ConfigProfile p = profile_config(f.session, tiny_problem(), f.backend->default_config(tiny_problem()),
                                         f.workload, Pass::forward, TimingOptions{0, 5});
  std::vector<double> sorted = p.samples_ms;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_DOUBLE_EQ(p.total_ms, sorted[2]);
}

TEST(Profile, CpuAlternativesRunAndRejectedOnesAreReported) {
  Fixture f;
  f.backend->phases = {{"im2col", 0.2, 0, 0, 0}};
  const Problem problem = tiny_problem();
  const Peaks peaks;  // unmeasured: rates are reported without a peak
  const ProfileReport r = profile(f.session, problem, f.backend->default_config(problem), f.workload, Pass::backward,
                                  TimingOptions{0, 1}, peaks, true);
  EXPECT_EQ(r.chosen.label, "chosen");
  std::vector<std::string> labels;
  for (const auto& a : r.alternatives) labels.push_back(a.label);
  EXPECT_NE(std::find(labels.begin(), labels.end(), "step=1"), labels.end());
  EXPECT_NE(std::find(labels.begin(), labels.end(), "tile=512"), labels.end());
  for (const auto& a : r.alternatives) EXPECT_NEAR(saves_ms(r, a), r.chosen.total_ms - a.total_ms, 1e-12);
}

TEST(Profile, AlternativeTheBackendRejectsIsSkippedWithTheReason) {
  auto backend = std::make_shared<ScriptedBackend>();
  Session session(EngineOptions{}, backend);
  const Problem problem = Problem::parse("N1 C2 H16 W16 Co2 k3x3 p1x1");  // 256 pixels: tile=128 is offered
  const auto arrays = random_inputs(problem);
  const Workload workload = session.workload(arrays);
  const ProfileReport r =
      profile(session, problem, backend->default_config(problem), workload, Pass::forward, TimingOptions{0, 1}, {}, true);
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_NE(r.skipped[0].find("tile=128"), std::string::npos);
  EXPECT_NE(r.skipped[0].find("scripted to fail"), std::string::npos);
  for (const auto& a : r.alternatives) EXPECT_NE(a.label, "tile=128");
}

TEST(Profile, CountingRunsAttachCountersToTheChosenConfigOrToEveryConfig) {
  for (Counting counting : {Counting::chosen, Counting::all}) {
    Fixture f;
    f.backend->phases = {{"im2col", 0.1, 0, 0, 0}, {"gemm", 0.1, 0, 0, 0}};
    f.backend->reports_per_phase = 2;
    const Problem problem = tiny_problem();
    const ProfileReport r = profile(f.session, problem, f.backend->default_config(problem), f.workload,
                                    Pass::backward, TimingOptions{1, 2}, {}, true, counting);
    EXPECT_TRUE(r.counted);
    for (const auto& phase : r.chosen.phases) {
      if (phase.name == kOtherPhase) {
        EXPECT_FALSE(phase.has_counters());
        continue;
      }
      // One counting run (after one warm-up counting run), two reports per phase.
      EXPECT_EQ(phase.counted_launches, 2u) << phase.name;
      EXPECT_EQ(phase.counters.global_load_requests, 20u) << phase.name;
    }
    EXPECT_GT(r.chosen.counting_ms, 0);
    ASSERT_FALSE(r.alternatives.empty());
    for (const auto& a : r.alternatives)
      EXPECT_EQ(a.phases.front().has_counters(), counting == Counting::all) << a.label;
    // Warm-up and counted run per counted config; the timed runs never count.
    const int counted_configs = counting == Counting::all ? int(1 + r.alternatives.size()) : 1;
    EXPECT_EQ(f.backend->counted_passes, 2 * counted_configs);
  }
}

}  // namespace
}  // namespace dcnjit::profile
