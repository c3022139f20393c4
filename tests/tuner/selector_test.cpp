// The policies behind Engine::plan: off never touches the database, on_first_use tunes once and then
// serves from the database (this process's memo or another process's file), cache_only never tunes,
// and a tampered row is refused in favour of the default.
#include "tuner/selector.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "runtime/store/connection.h"
#include "tests/tuner/fake_backend.h"
#include "tests/tuner/temp_dir.h"
#include "tuner/autotuner.h"
#include "tuner/tuning_db.h"

namespace dcnjit::tuner {
namespace {

using testing::FakeBackend;
using testing::TempDir;

Problem small_problem() { return Problem::parse("N2 C4 H8 W8 Co4 k3x3 p1x1"); }

EngineOptions options_for(const std::string& path, TuningPolicy policy) {
  EngineOptions o;
  o.cache_path = path;
  o.tuning = policy;
  o.tune_budget_s = 5;
  return o;
}

// Costs that make step=2 tile=256 the clear winner (10x).
void make_step2_tile256_fastest(FakeBackend& backend) {
  backend.cost_us = [](const Config& c) { return c.im2col_step == 2 && c.cpu_pixel_tile == 256 ? 20.0 : 200.0; };
}

TEST(SelectorPolicy, OffReturnsTheDefaultAndNeverCreatesTheDatabase) {
  TempDir dir;
  FakeBackend backend;
  make_step2_tile256_fastest(backend);
  auto selector = make_config_selector(options_for(dir.file("c.sqlite"), TuningPolicy::off));
  EXPECT_EQ(selector->select(backend, small_problem()), backend.default_config(small_problem()));
  EXPECT_EQ(backend.runs, 0);
  EXPECT_FALSE(std::filesystem::exists(dir.file("c.sqlite")));
}

TEST(SelectorPolicy, OnFirstUseTunesOnceThenHitsMemoAndDatabase) {
  TempDir dir;
  const std::string path = dir.file("c.sqlite");
  FakeBackend backend;
  make_step2_tile256_fastest(backend);
  auto selector = make_config_selector(options_for(path, TuningPolicy::on_first_use));
  const Config first = selector->select(backend, small_problem());
  EXPECT_EQ(first.im2col_step, 2);
  EXPECT_EQ(first.cpu_pixel_tile, 256);
  const int runs_after_tuning = backend.runs;
  EXPECT_GT(runs_after_tuning, 0);
  const int64_t trials = TuningDb::open(path).trial_count();
  EXPECT_EQ(trials, 8);  // steps {1, 2} x tiles {0, 256, 1024, 4096}

  EXPECT_EQ(selector->select(backend, small_problem()), first);  // memo
  // A new selector (another Engine, or another process) finds it in the file without tuning.
  auto again = make_config_selector(options_for(path, TuningPolicy::on_first_use));
  EXPECT_EQ(again->select(backend, small_problem()), first);
  auto cached = make_config_selector(options_for(path, TuningPolicy::cache_only));
  EXPECT_EQ(cached->select(backend, small_problem()), first);
  EXPECT_EQ(backend.runs, runs_after_tuning);
  EXPECT_EQ(TuningDb::open(path).trial_count(), trials);
}

TEST(SelectorPolicy, CacheOnlyMissUsesTheDefaultWithoutTuning) {
  TempDir dir;
  const std::string path = dir.file("c.sqlite");
  FakeBackend backend;
  make_step2_tile256_fastest(backend);
  { TuningDb::open(path); }
  auto selector = make_config_selector(options_for(path, TuningPolicy::cache_only));
  EXPECT_EQ(selector->select(backend, small_problem()), backend.default_config(small_problem()));
  EXPECT_EQ(backend.runs, 0);
  EXPECT_EQ(TuningDb::open(path).trial_count(), 0);
}

TEST(SelectorPolicy, CacheOnlyWithoutAFileNeitherCreatesNorFails) {
  TempDir dir;
  FakeBackend backend;
  auto selector = make_config_selector(options_for(dir.file("missing.sqlite"), TuningPolicy::cache_only));
  EXPECT_EQ(selector->select(backend, small_problem()), backend.default_config(small_problem()));
  EXPECT_FALSE(std::filesystem::exists(dir.file("missing.sqlite")));
}

TEST(SelectorPolicy, EnvironmentIsPartOfTheKey) {
  TempDir dir;
  const std::string path = dir.file("c.sqlite");
  FakeBackend tuned_on;
  make_step2_tile256_fastest(tuned_on);
  make_config_selector(options_for(path, TuningPolicy::on_first_use))->select(tuned_on, small_problem());
  FakeBackend other_device;
  other_device.env = "fake:another-device:gen1";
  auto cached = make_config_selector(options_for(path, TuningPolicy::cache_only));
  EXPECT_EQ(cached->select(other_device, small_problem()), other_device.default_config(small_problem()));
}

void tamper(const std::string& path, const std::string& config) {
  auto c = store::Connection::open(path, store::Access::read_write);
  auto update = c.prepare("UPDATE winners SET config=?1");
  update.bind(1, config);
  update.run();
  ASSERT_EQ(c.changes(), 1);
}

TEST(SelectorPolicy, TamperedRowIsRejectedWithAWarningAndTheDefaultUsed) {
  TempDir dir;
  const std::string path = dir.file("c.sqlite");
  FakeBackend backend;
  make_step2_tile256_fastest(backend);
  make_config_selector(options_for(path, TuningPolicy::on_first_use))->select(backend, small_problem());
  const int runs = backend.runs;
  // Parseable but outside the space (tile 999), then not even parseable.
  for (const std::string bad : {"step=2 tile=999", "step=2 tile=256 rm -rf=1"}) {
    tamper(path, bad);
    for (TuningPolicy policy : {TuningPolicy::cache_only, TuningPolicy::on_first_use}) {
      ::testing::internal::CaptureStderr();
      auto selector = make_config_selector(options_for(path, policy));
      const Config chosen = selector->select(backend, small_problem());
      const std::string log = ::testing::internal::GetCapturedStderr();
      EXPECT_EQ(chosen, backend.default_config(small_problem())) << bad;
      EXPECT_NE(log.find("rejected the stored forward config '" + bad + "'"), std::string::npos) << log;
      EXPECT_EQ(backend.runs, runs) << "a rejected row must not trigger tuning";
    }
  }
}

}  // namespace
}  // namespace dcnjit::tuner
