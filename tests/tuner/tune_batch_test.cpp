// A device lost mid-tuning (a candidate's illegal address) against a FakeBackend that faults like a
// CUDA context: the batch reports it on the item that faulted and on every item after it, runs nothing
// more, stores nothing for the cut-short search, and never throws; tuning on first use (Engine::plan)
// says DeviceLost instead of planning a default that cannot run. The best time per algorithm is
// reported for a tuned item and, from the stored trials, for a cached one.
#include "tuner/tune_batch.h"

#include <gtest/gtest.h>

#include "tests/support/scratch_directory.h"
#include "tests/tuner/fake_backend.h"
#include "tuner/config_space.h"
#include "tuner/selector.h"

namespace dcnjit::tuner {
namespace {

using dcnjit::testing::ScratchDirectory;
using testing::FakeBackend;

const std::vector<Problem> kProblems = {Problem::parse("N2 C4 H8 W8 Co4 k3x3 p1x1"),
                                        Problem::parse("N4 C4 H8 W8 Co4 k3x3 p1x1")};

TEST(TuneBatch, ALostDeviceFailsTheItemAndEveryLaterOneWithoutRunningThem) {
  ScratchDirectory dir;
  TuningDb db = TuningDb::open(dir.file("c.sqlite"));
  FakeBackend backend;
  const Config faulting = candidate_configs(backend, kProblems[0], Pass::forward)[1];
  backend.faults = [&](const Config& c) { return c == faulting; };
  BatchOptions options;
  options.budget_s = 5;
  std::vector<BatchEntry> entries;
  ASSERT_NO_THROW(entries = tune_batch(backend, &db, kProblems, {Pass::forward, Pass::backward}, options));
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].status, BatchEntry::Status::failed);
  EXPECT_NE(entries[0].error.find("lost the GPU context"), std::string::npos) << entries[0].error;
  EXPECT_NE(entries[0].error.find("fake illegal address"), std::string::npos) << entries[0].error;
  for (std::size_t i = 1; i < entries.size(); ++i) {
    EXPECT_EQ(entries[i].status, BatchEntry::Status::failed) << i;
    EXPECT_NE(entries[i].error.find("not tuned: the GPU context was lost by an earlier item"), std::string::npos)
        << entries[i].error;
  }
  EXPECT_EQ(backend.runs_after_loss.load(), 0) << "something ran on the lost device";
  EXPECT_TRUE(db.winners().empty());
  EXPECT_EQ(db.trial_count(), 2);  // the default, then the faulting candidate
}

TEST(TuneBatch, TuningOnFirstUseOnALostDeviceIsDeviceLost) {
  ScratchDirectory dir;
  FakeBackend backend;
  backend.faults = [](const Config&) { return true; };
  EngineOptions options;
  options.cache_path = dir.file("c.sqlite");
  options.tuning = TuningPolicy::on_first_use;
  options.tune_budget_s = 5;
  const auto selector = make_config_selector(options);
  try {
    selector->select(backend, kProblems[0]);
    ADD_FAILURE() << "planned on a lost device";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::DeviceLost);
    EXPECT_NE(std::string(e.what()).find("fake illegal address"), std::string::npos) << e.what();
  }
}

TEST(TuneBatch, ReportsTheBestTimePerAlgorithmForTunedAndCachedItems) {
  ScratchDirectory dir;
  TuningDb db = TuningDb::open(dir.file("c.sqlite"));
  FakeBackend backend;
  // tile=1024 is 100x faster: the winner is the fastest trial, whatever the timing noise.
  backend.cost_us = [](const Config& c) { return testing::has_knob(c, "tile", "1024") ? 30.0 : 3000.0; };
  BatchOptions options;
  options.budget_s = 5;
  const auto tuned = tune_batch(backend, &db, {kProblems[0]}, {Pass::forward}, options);
  ASSERT_EQ(tuned.size(), 1u);
  ASSERT_EQ(tuned[0].status, BatchEntry::Status::tuned) << tuned[0].error;
  ASSERT_EQ(tuned[0].by_algorithm.size(), 1u);
  ASSERT_TRUE(tuned[0].time_ms);
  EXPECT_DOUBLE_EQ(tuned[0].by_algorithm.at("im2col"), *tuned[0].time_ms);

  const auto cached = tune_batch(backend, &db, {kProblems[0]}, {Pass::forward}, options);
  ASSERT_EQ(cached.size(), 1u);
  ASSERT_EQ(cached[0].status, BatchEntry::Status::cached);
  EXPECT_EQ(cached[0].by_algorithm, tuned[0].by_algorithm);
}

}  // namespace
}  // namespace dcnjit::tuner
