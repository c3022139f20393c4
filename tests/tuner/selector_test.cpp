// The policies behind Engine::plan: off never touches the database, on_first_use tunes once per pass
// direction and then serves from the database (this process's memo or another process's file),
// cache_only never tunes, a tampered row is refused in favour of the default; the backward config is
// the winner of the full `backward` pass, which measures the fused/split choice the sub-passes cannot,
// and sub-pass rows never stand in for it (tuner/selector.h).
#include "tuner/selector.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "runtime/store/connection.h"
#include "tests/tuner/fake_backend.h"
#include "tests/support/scratch_directory.h"
#include "tuner/autotuner.h"
#include "tuner/config_space.h"
#include "tuner/tuning_db.h"

namespace dcnjit::tuner {
namespace {

using testing::FakeBackend;
using testing::has_knob;
using dcnjit::testing::ScratchDirectory;

Problem small_problem() { return Problem::parse("N2 C4 H8 W8 Co4 k3x3 p1x1"); }

EngineOptions options_for(const std::string& path, TuningPolicy policy) {
  EngineOptions o;
  o.cache_path = path;
  o.tuning = policy;
  o.tune_budget_s = 5;
  return o;
}

PlanConfigs defaults_of(const FakeBackend& backend) {
  const Config d = backend.default_config(small_problem());
  return PlanConfigs{d, d};
}

// Costs that make step=2 tile=256 the clear forward winner and step=1 tile=1024 the clear backward
// winner (10x: a margin no timing noise can invert).
void make_forward_and_backward_winners_differ(FakeBackend& backend) {
  backend.cost_us = [](const Config& c) { return has_knob(c, "step", "2") && has_knob(c, "tile", "256") ? 20.0 : 200.0; };
  backend.backward_cost_us = [](const Config& c) {
    return has_knob(c, "step", "1") && has_knob(c, "tile", "1024") ? 20.0 : 200.0;
  };
}

// A database row as `dcnjit tune` would leave it (canonical config text).
void store_winner(const std::string& path, const FakeBackend& backend, Pass pass, const std::string& config) {
  TuningDb db = TuningDb::open(path);
  const std::string canonical = backend.resolve(small_problem(), Config::parse(config)).to_string();
  ASSERT_TRUE(db.offer_winner(Winner{tuning_key(backend, small_problem(), pass), canonical, 1.0, "", std::nullopt, 0}));
}

// The canonical text of a config of the fake backend.
std::string canonical(const FakeBackend& backend, const char* text) {
  return backend.resolve(small_problem(), Config::parse(text)).to_string();
}

void tamper(const std::string& path, Pass pass, const std::string& config) {
  auto c = store::Connection::open(path, store::Access::read_write);
  auto update = c.prepare("UPDATE winners SET config=?1 WHERE pass=?2");
  update.bind(1, config);
  update.bind(2, std::string(to_string(pass)));
  update.run();
  ASSERT_EQ(c.changes(), 1);
}

TEST(SelectorPolicy, OffReturnsTheDefaultForBothDirectionsAndNeverCreatesTheDatabase) {
  ScratchDirectory dir;
  FakeBackend backend;
  make_forward_and_backward_winners_differ(backend);
  auto selector = make_config_selector(options_for(dir.file("c.sqlite"), TuningPolicy::off));
  EXPECT_EQ(selector->select(backend, small_problem()), defaults_of(backend));
  EXPECT_EQ(backend.runs, 0);
  EXPECT_FALSE(std::filesystem::exists(dir.file("c.sqlite")));
}

TEST(SelectorPolicy, OnFirstUseTunesEachDirectionOnceThenHitsMemoAndDatabase) {
  ScratchDirectory dir;
  const std::string path = dir.file("c.sqlite");
  FakeBackend backend;
  make_forward_and_backward_winners_differ(backend);
  auto selector = make_config_selector(options_for(path, TuningPolicy::on_first_use));
  const PlanConfigs first = selector->select(backend, small_problem());
  EXPECT_EQ(first.forward.to_string(), canonical(backend, "step=2 tile=256"));
  EXPECT_EQ(first.backward.to_string(), canonical(backend, "step=1 tile=1024"));
  const int runs_after_tuning = backend.runs;
  EXPECT_GT(runs_after_tuning, 0);
  // forward and the full backward, each over steps {1, 2} x tiles {0, 256, 1024, 4096}; the
  // sub-passes are for investigation and never tuned by a Plan.
  const int64_t trials = TuningDb::open(path).trial_count();
  EXPECT_EQ(trials, 2 * 8);
  for (Pass sub_pass : {Pass::backward_data, Pass::backward_offset_mask, Pass::backward_weight})
    EXPECT_FALSE(TuningDb::open(path).find_winner(tuning_key(backend, small_problem(), sub_pass))) << to_string(sub_pass);

  EXPECT_EQ(selector->select(backend, small_problem()), first);  // memo
  // A new selector (another Engine, or another process) finds both in the file without tuning.
  auto again = make_config_selector(options_for(path, TuningPolicy::on_first_use));
  EXPECT_EQ(again->select(backend, small_problem()), first);
  auto cached = make_config_selector(options_for(path, TuningPolicy::cache_only));
  EXPECT_EQ(cached->select(backend, small_problem()), first);
  EXPECT_EQ(backend.runs, runs_after_tuning);
  EXPECT_EQ(TuningDb::open(path).trial_count(), trials);
}

TEST(SelectorPolicy, OnFirstUseTunesOnlyTheDirectionsWithoutARow) {
  ScratchDirectory dir;
  const std::string path = dir.file("c.sqlite");
  FakeBackend backend;
  make_forward_and_backward_winners_differ(backend);
  // Slower than what tuning would find: kept, proving the forward pass was looked up, not re-tuned.
  store_winner(path, backend, Pass::forward, "step=1 tile=4096");
  auto selector = make_config_selector(options_for(path, TuningPolicy::on_first_use));
  const PlanConfigs chosen = selector->select(backend, small_problem());
  EXPECT_EQ(chosen.forward.to_string(), canonical(backend, "step=1 tile=4096"));
  EXPECT_EQ(chosen.backward.to_string(), canonical(backend, "step=1 tile=1024"));
  EXPECT_EQ(TuningDb::open(path).trial_count(), 8);  // the backward pass only
}

TEST(SelectorPolicy, CacheOnlyMissUsesTheDefaultWithoutTuning) {
  ScratchDirectory dir;
  const std::string path = dir.file("c.sqlite");
  FakeBackend backend;
  make_forward_and_backward_winners_differ(backend);
  { TuningDb::open(path); }
  auto selector = make_config_selector(options_for(path, TuningPolicy::cache_only));
  EXPECT_EQ(selector->select(backend, small_problem()), defaults_of(backend));
  EXPECT_EQ(backend.runs, 0);
  EXPECT_EQ(TuningDb::open(path).trial_count(), 0);
}

TEST(SelectorPolicy, CacheOnlyWithOnlyAForwardWinnerGivesTheDefaultBackwardConfig) {
  ScratchDirectory dir;
  const std::string path = dir.file("c.sqlite");
  FakeBackend backend;
  store_winner(path, backend, Pass::forward, "step=2 tile=256");
  auto selector = make_config_selector(options_for(path, TuningPolicy::cache_only));
  const PlanConfigs chosen = selector->select(backend, small_problem());
  EXPECT_EQ(chosen.forward.to_string(), canonical(backend, "step=2 tile=256"));
  EXPECT_EQ(chosen.backward, backend.default_config(small_problem()));
  EXPECT_EQ(backend.runs, 0);
}

TEST(SelectorPolicy, CacheOnlyWithoutAFileNeitherCreatesNorFails) {
  ScratchDirectory dir;
  FakeBackend backend;
  auto selector = make_config_selector(options_for(dir.file("missing.sqlite"), TuningPolicy::cache_only));
  EXPECT_EQ(selector->select(backend, small_problem()), defaults_of(backend));
  EXPECT_FALSE(std::filesystem::exists(dir.file("missing.sqlite")));
}

TEST(SelectorPolicy, EnvironmentIsPartOfTheKey) {
  ScratchDirectory dir;
  const std::string path = dir.file("c.sqlite");
  FakeBackend tuned_on;
  make_forward_and_backward_winners_differ(tuned_on);
  make_config_selector(options_for(path, TuningPolicy::on_first_use))->select(tuned_on, small_problem());
  FakeBackend other_device;
  other_device.env = "fake:another-device:gen1";
  auto cached = make_config_selector(options_for(path, TuningPolicy::cache_only));
  EXPECT_EQ(cached->select(other_device, small_problem()), defaults_of(other_device));
}

TEST(SelectorPolicy, TamperedForwardRowIsRejectedWithAWarningAndTheDefaultUsed) {
  ScratchDirectory dir;
  const std::string path = dir.file("c.sqlite");
  FakeBackend backend;
  make_forward_and_backward_winners_differ(backend);
  const PlanConfigs tuned =
      make_config_selector(options_for(path, TuningPolicy::on_first_use))->select(backend, small_problem());
  const int runs = backend.runs;
  // Parseable but outside the space (tile 999), then not even parseable.
  for (const std::string bad : {"step=2 tile=999", "step=2 tile=256 rm -rf=1"}) {
    tamper(path, Pass::forward, bad);
    for (TuningPolicy policy : {TuningPolicy::cache_only, TuningPolicy::on_first_use}) {
      ::testing::internal::CaptureStderr();
      auto selector = make_config_selector(options_for(path, policy));
      const PlanConfigs chosen = selector->select(backend, small_problem());
      const std::string log = ::testing::internal::GetCapturedStderr();
      EXPECT_EQ(chosen.forward, backend.default_config(small_problem())) << bad;
      EXPECT_EQ(chosen.backward, tuned.backward) << "the backward rows are intact";
      EXPECT_NE(log.find("rejected the stored forward config '" + bad + "'"), std::string::npos) << log;
      EXPECT_EQ(backend.runs, runs) << "a rejected row must not trigger tuning";
    }
  }
}

TEST(SelectorPolicy, TamperedBackwardRowGivesTheDefaultBackwardConfigWithAWarning) {
  ScratchDirectory dir;
  const std::string path = dir.file("c.sqlite");
  FakeBackend backend;
  store_winner(path, backend, Pass::forward, "step=2 tile=256");
  store_winner(path, backend, Pass::backward, "step=2 tile=1024");
  // A valid sub-pass row must not stand in for a refused backward row: refused means the default.
  store_winner(path, backend, Pass::backward_data, "step=1 tile=4096");
  tamper(path, Pass::backward, "step=2 tile=1000");
  for (TuningPolicy policy : {TuningPolicy::cache_only, TuningPolicy::on_first_use}) {
    ::testing::internal::CaptureStderr();
    auto selector = make_config_selector(options_for(path, policy));
    const PlanConfigs chosen = selector->select(backend, small_problem());
    const std::string log = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(chosen.forward.to_string(), canonical(backend, "step=2 tile=256"));
    EXPECT_EQ(chosen.backward, backend.default_config(small_problem())) << to_string(policy);
    EXPECT_NE(log.find("rejected the stored backward config 'step=2 tile=1000'"), std::string::npos) << log;
  }
  EXPECT_EQ(backend.runs, 0) << "a rejected row must not trigger tuning";
  EXPECT_EQ(TuningDb::open(path).trial_count(), 0);
}

// The fused col2im+coord kernel runs only when grad_x and grad_offset/grad_mask are requested
// together, so timing grad_x alone (backward_data) cannot tell fused from split. Here split costs
// half of fused for a complete backward call but 30% more for grad_x alone: margins far above the
// tuner's 2% bar and timing noise. The full backward pass must find split; backward_data, fused.
class SelectorFusedVersusSplit : public ::testing::Test {
 protected:
  void SetUp() override {
    backend.space = Backend::cuda;
    backend.backward_cost_for_outputs_us = [](const Config& c, const PassOutputs& requested) {
      const bool every_gradient = requested.grad_x && requested.grad_offset && requested.grad_weight;
      const bool fused = has_knob(c, "bwd", "fused");
      if (every_gradient) return fused ? 100.0 : 50.0;
      return fused ? 50.0 : 65.0;
    };
  }
  ScratchDirectory dir;
  const std::string path = dir.file("c.sqlite");
  FakeBackend backend;
};

TEST_F(SelectorFusedVersusSplit, TheBackwardPassMeasuresEveryGradientAndPicksSplit) {
  ASSERT_TRUE(has_knob(backend.default_config(small_problem()), "bwd", "fused")) << "the default must be the loser here";
  TuningDb db = TuningDb::open(path);
  TuneOptions options;
  options.budget_s = 5;
  const TuneResult full = tune_pass(backend, small_problem(), Pass::backward, options, &db);
  ASSERT_TRUE(full.ok);
  EXPECT_TRUE(has_knob(full.winner, "bwd", "split")) << full.winner.to_string();
  const TuneResult data_only = tune_pass(backend, small_problem(), Pass::backward_data, options, &db);
  ASSERT_TRUE(data_only.ok);
  EXPECT_TRUE(has_knob(data_only.winner, "bwd", "fused")) << data_only.winner.to_string();

  // The Plan's backward config is the backward winner, not the backward_data one.
  const PlanConfigs chosen =
      make_config_selector(options_for(path, TuningPolicy::cache_only))->select(backend, small_problem());
  EXPECT_EQ(chosen.backward, full.winner);
}

TEST_F(SelectorFusedVersusSplit, OnFirstUseTunesTheFullBackwardAndPicksSplit) {
  const PlanConfigs chosen =
      make_config_selector(options_for(path, TuningPolicy::on_first_use))->select(backend, small_problem());
  EXPECT_TRUE(has_knob(chosen.backward, "bwd", "split")) << chosen.backward.to_string();
  const auto stored = TuningDb::open(path).find_winner(tuning_key(backend, small_problem(), Pass::backward));
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->config, chosen.backward.to_string());
}

// Sub-pass rows (backward_data, backward_weight: what `dcnjit tune --pass backward_data` leaves for an
// investigation) never make a Plan's backward config: only the full `backward` pass measures what a
// backward call runs. cache_only without a backward row gives the default; on_first_use tunes it.
class SelectorSubPassRows : public ::testing::Test {
 protected:
  void SetUp() override {
    backend.space = Backend::cuda;
    store_winner(path, backend, Pass::forward, kForward);
    store_winner(path, backend, Pass::backward_data, kData);
    store_winner(path, backend, Pass::backward_weight, kWeight);
  }

  static constexpr const char* kForward = "step=2 threads=256 items=4 gemm_fwd=1";
  static constexpr const char* kData = "step=2 threads=128 items=2 bwd=split atomic=warp";
  static constexpr const char* kWeight = "step=1 threads=512 gemm_wgrad=3";
  ScratchDirectory dir;
  const std::string path = dir.file("c.sqlite");
  FakeBackend backend;
};

TEST_F(SelectorSubPassRows, CacheOnlyUsesTheDefaultBackwardConfig) {
  const PlanConfigs chosen =
      make_config_selector(options_for(path, TuningPolicy::cache_only))->select(backend, small_problem());
  EXPECT_EQ(chosen.forward.to_string(), canonical(backend, kForward));
  EXPECT_EQ(chosen.backward, backend.default_config(small_problem()));
}

TEST_F(SelectorSubPassRows, ABackwardRowIsUsedWhole) {
  const char* full = "step=1 threads=128 items=1 bwd=fused atomic=plain gemm_dcol=2";
  store_winner(path, backend, Pass::backward, full);
  const PlanConfigs chosen =
      make_config_selector(options_for(path, TuningPolicy::cache_only))->select(backend, small_problem());
  EXPECT_EQ(chosen.backward.to_string(), canonical(backend, full));
}

TEST_F(SelectorSubPassRows, OnFirstUseTunesTheBackwardPass) {
  // Every backward call costs the same except under one config, which only a measurement of the
  // full backward can find (5x margin).
  const Config fastest = backend.resolve(small_problem(), Config::parse("step=2 threads=256 items=1 bwd=split"));
  backend.backward_cost_us = [&](const Config& c) { return c == fastest ? 20.0 : 100.0; };
  const PlanConfigs chosen =
      make_config_selector(options_for(path, TuningPolicy::on_first_use))->select(backend, small_problem());
  EXPECT_EQ(chosen.backward.to_string(), fastest.to_string());
  for (const Trial& t : TuningDb::open(path).trials()) EXPECT_EQ(t.key.pass, Pass::backward);
}

}  // namespace
}  // namespace dcnjit::tuner
